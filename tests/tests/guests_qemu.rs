//! libvirt-guests with real qemu guests (the tiny guest of the qemu tests): managed
//! save and restore without a second boot, ACPI shutdown several at a time, and a
//! guest that ignores the power button.

mod guests_support;
mod qemu_support;

use guests_support::{configure_in, list_file_in, run_in};
use qemu_support::QemuHost;

/// Defines and starts `name`; `cmdline_extra` is added to the kernel command line.
fn boot_guest(host: &QemuHost, name: &str, cmdline_extra: &str) {
    let xml = host
        .guest_xml(name)
        .replace("</cmdline>", &format!("{cmdline_extra}</cmdline>"));
    let file = host.root().join(format!("{name}.xml"));
    std::fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
}

#[test]
fn suspend_and_restore_two_guests() {
    let host = QemuHost::start();
    boot_guest(&host, "g1", "");
    boot_guest(&host, "g2", "");
    let uri = host.uri();
    configure_in(
        host.root(),
        &format!("URIS='{uri}'\nON_SHUTDOWN=suspend\nON_BOOT=start\n"),
    );

    let stop = run_in(host.root(), &["stop"]);
    assert_eq!(stop.code(), Some(0), "{stop}\n{}", host.diagnostics());
    assert!(stop.stdout.contains("Suspending g1: done\n"), "{stop}");
    assert!(stop.stdout.contains("Suspending g2: done\n"), "{stop}");
    let list = std::fs::read_to_string(list_file_in(host.root())).expect("list file");
    let uuids = [host.virsh_ok("domuuid g1"), host.virsh_ok("domuuid g2")];
    assert_eq!(list, format!("{uri} {} {}\n", uuids[0], uuids[1]));
    for name in ["g1", "g2"] {
        assert_eq!(host.domstate(name), "shut off (saved)");
    }
    assert!(
        host.guest_pids().is_empty(),
        "a guest process survived the save"
    );

    let start = run_in(host.root(), &["start"]);
    assert_eq!(start.code(), Some(0), "{start}\n{}", host.diagnostics());
    assert!(
        start.stdout.contains("Resuming guest g1: done\n"),
        "{start}"
    );
    assert!(
        start.stdout.contains("Resuming guest g2: done\n"),
        "{start}"
    );
    assert!(!list_file_in(host.root()).exists());
    for name in ["g1", "g2"] {
        assert_eq!(host.domstate(name), "running (restored)");
        // A restored guest still answers the power button, without a second boot.
        host.virsh_ok(&format!("shutdown {name}"));
        host.wait_state(name, "shut off (shutdown)");
        assert_eq!(host.boot_count(name), 1, "{name} booted again");
    }
}

#[test]
fn parallel_shutdown_and_a_guest_ignoring_the_power_button() {
    let host = QemuHost::start();
    boot_guest(&host, "p1", "");
    boot_guest(&host, "p2", "");
    let uri = host.uri();
    configure_in(
        host.root(),
        &format!("URIS='{uri}'\nPARALLEL_SHUTDOWN=2\nSHUTDOWN_TIMEOUT=60\n"),
    );
    let stop = run_in(host.root(), &["stop"]);
    assert_eq!(stop.code(), Some(0), "{stop}\n{}", host.diagnostics());
    for name in ["p1", "p2"] {
        assert!(
            stop.stdout
                .contains(&format!("Shutdown of guest {name} complete.\n")),
            "{stop}"
        );
        assert_eq!(host.domstate(name), "shut off (shutdown)");
    }

    // Without ACPI in the guest kernel the power button goes unanswered.
    std::fs::remove_file(list_file_in(host.root())).expect("forget the last stop");
    host.virsh_ok("start p1");
    host.wait_booted("p1", 2);
    boot_guest(&host, "deaf", " acpi=off");
    configure_in(
        host.root(),
        &format!("URIS='{uri}'\nPARALLEL_SHUTDOWN=2\nSHUTDOWN_TIMEOUT=8\n"),
    );
    let stop = run_in(host.root(), &["stop"]);
    assert_eq!(stop.code(), Some(1), "{stop}\n{}", host.diagnostics());
    assert!(
        stop.stdout.contains("Shutdown of guest p1 complete.\n"),
        "{stop}"
    );
    assert!(
        stop.stdout
            .contains("Timeout expired while shutting down domains\n"),
        "{stop}"
    );
    assert_eq!(host.domstate("deaf"), "running (booted)");
}
