//! Node device events from the kernel's uevents: `virtnodedevd`, run in a network
//! namespace of the test's own (with that namespace's sysfs), reports a veth pair
//! created there as two `created` lifecycle events, a `change` uevent of one end
//! as an `update` event and the pair's removal as two `deleted` events, seen by
//! python3-libvirt's `nodeDeviceEventRegisterAny`.

mod network_support;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use integration_tests::tools::require_python_libvirt;
use network_support::NetHost;

const LISTENER: &str = r#"
import sys, threading, libvirt
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
def lifecycle(conn, dev, event, detail, opaque):
    print("LIFECYCLE", dev.name(), event, detail, flush=True)
def update(conn, dev, opaque):
    print("UPDATE", dev.name(), flush=True)
conn.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, lifecycle, None)
conn.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_UPDATE, update, None)
print("READY", flush=True)
while True:
    libvirt.virEventRunDefaultImpl()
"#;

struct Listener {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Listener {
    fn start(uri: &str) -> Listener {
        let python = require_python_libvirt();
        let mut child = Command::new(python)
            .args(["-c", LISTENER, uri])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the python listener");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut listener = Listener {
            child,
            lines,
            seen: Vec::new(),
        };
        listener.wait_for("READY");
        listener
    }

    /// Waits for a line equal to `wanted`; everything read is kept for messages.
    fn wait_for(&mut self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line == wanted;
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no '{wanted}' from the listener; it printed {:?}",
            self.seen
        );
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn veth_pair_in_the_daemons_namespace_is_reported_created_updated_deleted() {
    let mut host = NetHost::new();
    host.start_modular("virtnodedevd");
    let mut events = Listener::start(&host.modular_uri("nodedev", "virtnodedevd"));

    host.ns_ok(&[
        "ip",
        "link",
        "add",
        "lvev0",
        "address",
        "52:54:00:aa:bb:01",
        "type",
        "veth",
        "peer",
        "name",
        "lvev1",
        "address",
        "52:54:00:aa:bb:02",
    ]);
    let first = "net_lvev0_52_54_00_aa_bb_01";
    let second = "net_lvev1_52_54_00_aa_bb_02";
    events.wait_for(&format!("LIFECYCLE {first} 0 0"));
    events.wait_for(&format!("LIFECYCLE {second} 0 0"));
    let listed = integration_tests::virsh(
        &host.modular_uri("nodedev", "virtnodedevd"),
        "nodedev-list --cap net",
    );
    assert!(listed.stdout.contains(first), "{listed}");

    host.ns_ok(&["sh", "-c", "echo change > /sys/class/net/lvev0/uevent"]);
    events.wait_for(&format!("UPDATE {first}"));

    host.ns_ok(&["ip", "link", "del", "lvev0"]);
    events.wait_for(&format!("LIFECYCLE {first} 1 0"));
    events.wait_for(&format!("LIFECYCLE {second} 1 0"));
    assert!(
        !events
            .seen
            .iter()
            .any(|l| l.starts_with("UPDATE ") && l.contains(second)),
        "only the device that changed is updated: {:?}",
        events.seen
    );
}
