//! Display clients connected by the daemon over passed file descriptors:
//! `virDomainOpenGraphicsFD` returns a socket QEMU's VNC server already took
//! as a client (REPLY_WITH_FDS), `virDomainOpenGraphics` hands QEMU the
//! caller's socket (CALL_WITH_FDS). Both are checked by the RFB greeting the
//! VNC server sends on them, and the daemon keeps none of the descriptors.
//! Guests are not started with passed files, as in libvirt's qemu driver.

mod qemu_support;

use std::fs;
use std::time::{Duration, Instant};

use integration_tests::python;
use qemu_support::QemuHost;

fn open_fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits until the daemon holds at most `baseline` descriptors.
fn wait_fds_at_most(pid: u32, baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = open_fds(pid);
        if now <= baseline || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn vnc_clients_over_passed_descriptors() {
    let host = QemuHost::start();
    let xml = host.guest_xml("g1").replace(
        "</devices>",
        "<graphics type='vnc' port='-1'/><video><model type='vga'/></video></devices>",
    );
    let file = host.root().join("g1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start g1");
    host.wait_booted("g1", 1);
    let pid = host.daemon_pid().expect("daemon runs");
    // One call first, so that lazily opened descriptors are in the baseline.
    let warm = python("graphics_fd.py", &[&host.uri(), "g1", "0"]);
    assert!(warm.success(), "{warm}");
    let baseline = open_fds(pid);

    let out = python("graphics_fd.py", &[&host.uri(), "g1", "40"]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("fd: RFB 003.008"), "{out}");
    assert!(out.stdout.contains("handed: RFB 003.008"), "{out}");
    assert!(
        out.stdout
            .contains("index 1: internal error: No graphics backend with index 1"),
        "{out}"
    );
    assert!(out.stdout.contains("repeated: 40"), "{out}");
    let after = wait_fds_at_most(pid, baseline);
    assert!(
        after <= baseline,
        "the daemon kept descriptors: {baseline} before, {after} after"
    );

    // libvirt's qemu driver starts no guest with passed files.
    let xml2 = host.guest_xml("g2");
    let file2 = host.root().join("g2.xml");
    fs::write(&file2, xml2).expect("write xml");
    let out = host.virsh(&format!("create {} --pass-fds 0", file2.display()));
    assert!(
        !out.success()
            && out.stderr.contains(
                "this function is not supported by the connection driver: virDomainCreateXMLWithFiles"
            ),
        "{out}"
    );
}
