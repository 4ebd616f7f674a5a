//! `<interface type='bridge'>`: the driver makes a tap device, adds it to the existing
//! bridge, names it in the live XML and removes it when the guest stops; a missing
//! bridge refuses the start.

mod qemu_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use integration_tests::tools::require_tool;
use qemu_support::QemuHost;

/// A bridge of the host made for one test and deleted afterwards.
struct Bridge(String);

impl Bridge {
    fn create() -> Bridge {
        let ip = require_tool("ip", "iproute2");
        let name = format!("lvqbr{}", std::process::id() % 100_000);
        let status = Command::new(&ip)
            .args(["link", "add", &name, "type", "bridge"])
            .status()
            .expect("run ip");
        assert!(status.success(), "cannot create bridge {name}");
        Bridge(name)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

fn define_with_bridge(host: &QemuHost, name: &str, bridge: &str) {
    let xml = host.guest_xml(name).replace(
        "<devices>",
        &format!(
            "<devices>\n    <interface type='bridge'><mac address='52:54:00:aa:cc:01'/>\
             <source bridge='{bridge}'/><model type='virtio'/></interface>"
        ),
    );
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
}

#[test]
fn bridge_interface_gets_a_tap_on_the_bridge() {
    let bridge = Bridge::create();
    let host = QemuHost::start();
    define_with_bridge(&host, "b1", &bridge.0);
    host.virsh_ok("start b1");
    let live = host.virsh_ok("dumpxml b1");
    let tap = live
        .split("<target dev='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("tap name in the live XML")
        .to_string();
    assert!(tap.starts_with("vnet"), "{live}");
    let master = fs::read_link(format!("/sys/class/net/{tap}/master")).expect("tap has a master");
    assert_eq!(
        master.file_name().and_then(|n| n.to_str()),
        Some(bridge.0.as_str())
    );
    let ifl = host.virsh_ok("domiflist b1");
    assert!(
        ifl.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == [
                tap.as_str(),
                "bridge",
                bridge.0.as_str(),
                "virtio",
                "52:54:00:aa:cc:01"
            ]),
        "{ifl}"
    );
    assert!(!host
        .virsh_ok("dumpxml --inactive b1")
        .contains("<target dev="));

    host.virsh_ok("destroy b1");
    assert!(
        !Path::new("/sys/class/net").join(&tap).exists(),
        "tap {tap} left behind"
    );
}

#[test]
fn missing_bridge_refuses_the_start() {
    let host = QemuHost::start();
    define_with_bridge(&host, "b2", "lvq-no-such-br");
    let out = host.virsh("start b2");
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("bridge 'lvq-no-such-br' does not exist"),
        "{}",
        out.stderr
    );
    assert_eq!(host.domstate("b2"), "shut off (failed)");
    assert!(host.guest_pids().is_empty());
}
