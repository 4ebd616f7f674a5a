//! `virsh domcontrol` (virDomainGetControlInfo): the test driver answers as
//! libvirt's own, read-only connections may ask, and a real QEMU guest is
//! reported under control while it runs and refused once it is off.

mod qemu_support;

use integration_tests::compare::assert_virsh_matches_reference;
use integration_tests::{virsh, Daemon};
use qemu_support::QemuHost;

#[test]
fn test_driver_answers_as_libvirt_running_and_stopped() {
    let daemon = Daemon::start();
    let running = assert_virsh_matches_reference(&daemon.rw_uri(), "domcontrol test");
    assert_eq!(running.stdout.trim(), "ok", "{running}");
    let stopped = assert_virsh_matches_reference(&daemon.rw_uri(), "destroy test; domcontrol test");
    assert!(
        stopped.stderr.contains("domain is not running"),
        "{stopped}"
    );
}

#[test]
fn read_only_connections_may_ask() {
    let daemon = Daemon::start();
    let out = virsh(&daemon.ro_uri(), "domcontrol test").expect_success("read-only domcontrol");
    assert_eq!(out.stdout.trim(), "ok");
}

#[test]
fn a_running_qemu_guest_is_under_control() {
    let host = QemuHost::start();
    host.define_guest("ctl");
    host.virsh_ok("start ctl");
    host.wait_booted("ctl", 1);
    assert_eq!(host.virsh_ok("domcontrol ctl").trim(), "ok");
    host.virsh_ok("destroy ctl");
    let off = host.virsh("domcontrol ctl");
    assert!(
        off.stderr.contains("domain is not running"),
        "domcontrol of a stopped guest: {off}"
    );
}
