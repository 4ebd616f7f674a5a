//! Live migration with the real libvirtd 9.0 as the peer: its guest comes to
//! our daemon and goes back to it, without a reboot, driven by virsh (the
//! client-driven version 3 protocol with parameters on both daemons), then
//! again peer to peer, each daemon driving the other.

mod qemu_reference;
mod qemu_support;

use std::fs;

use integration_tests::virsh;
use qemu_support::QemuHost;

/// Kills the guest's QEMU processes (they outlive both daemons) at the end.
struct Reaper(&'static str);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in qemu_reference::guest_pids(self.0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
fn guest_goes_from_libvirtd_to_ours_and_back() {
    let _reaper = Reaper("mref1");
    let theirs = qemu_reference::ReferenceDaemon::start("");
    let ours = QemuHost::start();
    let file = ours.root().join("mref1.xml");
    fs::write(&file, ours.guest_xml("mref1")).expect("write guest xml");
    theirs.virsh_ok(&format!("define {}", file.display()));
    theirs.virsh_ok("start mref1");
    ours.wait_booted("mref1", 1);

    theirs.virsh_ok(&format!("migrate --live mref1 '{}'", ours.uri()));
    assert_eq!(ours.domstate("mref1"), "running (migrated)");
    // Our QEMU appends to the serial file: still the one boot.
    assert_eq!(
        ours.boot_count("mref1"),
        1,
        "the guest rebooted on our side"
    );
    assert_eq!(
        theirs.virsh_ok("domstate --reason mref1"),
        "shut off (migrated)"
    );

    ours.virsh_ok(&format!("migrate --live mref1 '{}'", theirs.uri()));
    assert_eq!(
        theirs.virsh_ok("domstate --reason mref1"),
        "running (migrated)"
    );
    assert!(
        ours.virsh("domstate mref1")
            .stderr
            .contains("failed to get domain 'mref1'"),
        "our daemon kept the guest"
    );

    // Peer to peer: each daemon drives the other.
    theirs.virsh_ok(&format!("migrate --live --p2p mref1 '{}'", ours.uri()));
    assert_eq!(ours.domstate("mref1"), "running (migrated)");
    ours.virsh_ok(&format!("migrate --live --p2p mref1 '{}'", theirs.uri()));
    assert_eq!(
        theirs.virsh_ok("domstate --reason mref1"),
        "running (migrated)"
    );

    // Still the guest that booted once: it answers the power button.
    theirs.virsh_ok("shutdown mref1");
    let off = integration_tests::wait_until(qemu_support::STATE_TIMEOUT, || {
        virsh(&theirs.uri(), "domstate --reason mref1")
            .stdout
            .trim()
            == "shut off (shutdown)"
    });
    assert!(off, "the guest did not power off\n{}", theirs.diagnostics());
    // libvirt's QEMU truncates the serial file when it opens it: a reboot
    // there would print the boot marker again before the power-off.
    let serial = fs::read_to_string(ours.serial_log("mref1")).unwrap_or_default();
    assert!(serial.contains("TINY-GUEST-POWEROFF"), "{serial}");
    assert!(ours.boot_count("mref1") <= 1, "the guest rebooted");
}
