//! `virsh reset` and the `on_reboot` action through real guests: a reset reboots the
//! guest in place (Reboot event, still running); with `on_reboot` destroy, both a
//! reset and `virsh reboot` shut the guest off instead, as in libvirt.

mod qemu_support;

use std::fs;

use qemu_support::{expect_event, listen_events, QemuHost, STATE_TIMEOUT};

#[test]
fn reset_reboots_the_guest_in_place() {
    let host = QemuHost::start();
    host.define_guest("r1");
    host.virsh_ok("start r1");
    host.wait_booted("r1", 1);
    let mut events = listen_events(&host);

    host.virsh_ok("reset r1");
    host.wait_booted("r1", 2);
    assert_eq!(host.domstate("r1"), "running (booted)");
    let reboot = events.wait_for_line(STATE_TIMEOUT, |l| {
        l.contains("event 'reboot' for domain 'r1'")
    });
    assert!(reboot.is_some(), "no reboot event\n{}", events.finish());
    host.virsh_ok("destroy r1");
}

#[test]
fn on_reboot_destroy_turns_reboot_and_reset_into_shutdown() {
    let host = QemuHost::start();
    let xml = host
        .guest_xml("r2")
        .replace("</devices>", "</devices>\n  <on_reboot>destroy</on_reboot>");
    let file = host.root().join("r2.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    let dumped = host.virsh_ok("dumpxml r2");
    assert!(
        dumped.contains("<on_reboot>destroy</on_reboot>"),
        "{dumped}"
    );

    host.virsh_ok("start r2");
    host.wait_booted("r2", 1);
    let mut events = listen_events(&host);
    host.virsh_ok("reboot r2");
    host.wait_state("r2", "shut off (shutdown)");
    expect_event(&mut events, "r2", "Stopped Shutdown");
    assert_eq!(host.boot_count("r2"), 1, "the guest booted again");
    assert!(host.guest_pids().is_empty());

    host.virsh_ok("start r2");
    host.wait_booted("r2", 2);
    host.virsh_ok("reset r2");
    host.wait_state("r2", "shut off (shutdown)");
    expect_event(&mut events, "r2", "Stopped Shutdown");
    assert_eq!(host.boot_count("r2"), 2, "the reset rebooted the guest");
}
