//! libvirt-guests under a real systemd as PID 1: a Debian 12 root with this
//! tree's daemon and units installed boots in systemd-nspawn, starts a tiny
//! QEMU guest, and `systemctl poweroff` runs libvirt-guests stop while the
//! daemon still answers, so the guest is saved (ON_SHUTDOWN=suspend); the
//! next boot restores it without booting it again. Both ways of running the
//! daemon of libvirtd(8): socket activation with the shipped units, and
//! traditional mode with the sockets masked and the documented copy of
//! libvirt-guests.service ordered after libvirtd.service. A secret value set in
//! the first boot is stored encrypted with the key virt-secret-init-encryption
//! made and systemd passed as a credential, and read back in the second.

mod qemu_support;
mod systemd_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration_tests::libvirtd_bin;
use integration_tests::tools::run_with_deadline;
use systemd_support::{boot, data, install_scenario, journal, unpack_root};

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file.trim_start_matches('/'))).unwrap_or_default()
}

/// Position of `needle` in `haystack`, failing with the whole text.
fn position(haystack: &str, needle: &str, what: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{what}: {needle:?} not found in:\n{haystack}"))
}

fn poweroff_saves_and_boot_restores(mode: &str) {
    let (kernel, _) = qemu_support::tiny_guest();
    let guest_dir = kernel.parent().expect("tiny guest directory");
    let scratch = tempfile::Builder::new()
        .prefix("sdboot-")
        .tempdir()
        .expect("scratch directory");
    let root = unpack_root(
        scratch.path(),
        &format!("libvirt-{mode}-{}", std::process::id()),
    );
    let bin_dir = libvirtd_bin()
        .parent()
        .expect("binary directory")
        .to_path_buf();
    run_with_deadline(
        Command::new("bash")
            .arg(data("prepare-boot.sh"))
            .arg(&root)
            .arg(mode)
            .arg(&bin_dir)
            .arg(guest_dir),
        Duration::from_secs(120),
    )
    .expect_success("prepare-boot.sh");
    install_scenario(&root, "guests-scenario");

    // Boot 1: the guest runs, then the system powers off.
    let first_boot = boot(&root);
    let first = read(&root, "/var/lib/boot-scenario/first");
    assert!(
        first.contains("guest booted") && first.contains("state before poweroff: running"),
        "{mode}: the guest did not run in the first boot:\n{first}\n{first_boot}"
    );
    // The daemon ran the way the mode says: started with systemd's sockets
    // (LISTEN_FDS set) or with its own, the socket units masked.
    let (sockets, daemon) = match mode {
        "socket" => ("sockets: enabled active", "daemon: active 1"),
        _ => ("sockets: masked inactive", "daemon: active 0"),
    };
    // The secrets encryption key: made by virt-secret-init-encryption.service,
    // loaded as a credential, used for the value.
    for line in [sockets, daemon, "secret encrypted at rest"] {
        assert!(
            first.lines().any(|l| l == line),
            "{mode}: {line:?} not seen:\n{first}"
        );
    }
    let log = journal(&root);
    // libvirt-guests stop reached the daemon and saved the guest, and only
    // then was the daemon stopped.
    let saved = position(&log, "Suspending g1: done", mode);
    let daemon_stopping = position(&log, "Stopping libvirtd.service", mode);
    assert!(
        saved < daemon_stopping,
        "{mode}: the daemon was stopped before libvirt-guests finished:\n{log}"
    );
    assert!(
        root.join("var/lib/libvirt/qemu/save/g1.save").is_file(),
        "{mode}: no managed save image after poweroff:\n{log}"
    );
    let list = read(&root, "/var/lib/libvirt/libvirt-guests");
    assert!(
        list.starts_with("default ") && list.trim().split(' ').count() == 2,
        "{mode}: libvirt-guests did not record the saved guest: {list:?}"
    );

    // Boot 2: libvirt-guests start restores it from the image.
    let second_boot = boot(&root);
    let second = read(&root, "/var/lib/boot-scenario/second");
    assert!(
        second.contains("state after boot: running"),
        "{mode}: the guest was not restored:\n{second}\n{second_boot}\n{}",
        journal(&root)
    );
    // Restored, not booted afresh: its console shows a single boot.
    assert!(
        second.contains("boot markers: 1"),
        "{mode}: the guest booted again instead of resuming:\n{second}"
    );
    assert!(second.contains("save image gone"), "{mode}:\n{second}");
    assert!(
        second.contains("secret value after boot: aGVsbG8="),
        "{mode}: the encrypted secret value was not read after a reboot:\n{second}"
    );
    assert!(
        journal(&root).contains("Resuming guest g1: done"),
        "{mode}: libvirt-guests start did not resume the guest"
    );
}

#[test]
fn socket_activation_with_the_shipped_units() {
    poweroff_saves_and_boot_restores("socket");
}

#[test]
fn traditional_mode_with_masked_sockets_and_the_documented_override() {
    poweroff_saves_and_boot_restores("traditional");
}
