//! Guests handled by the daemon itself when the host goes down (qemu.conf's
//! `auto_shutdown_*`): saved and restored at the next start, shut down through ACPI,
//! or powered off; a plain daemon stop leaves them running.

mod qemu_support;

use std::fs;
use std::time::Duration;

use integration_tests::raw::encode;
use integration_tests::{wait_until, RawClient};
use protocol::admin::ConnectOpenArgs;
use protocol::programs::{admin_proc, ADMIN_PROGRAM};
use qemu_support::QemuHost;

/// `virAdmConnectDaemonShutdown` and its PRESERVE flag (libvirt 11.2; virt-admin
/// 9.0 lacks the command, so it is sent by hand).
const CONNECT_DAEMON_SHUTDOWN: i32 = 20;
const DAEMON_SHUTDOWN_PRESERVE: u32 = 1;

/// A host whose daemon runs with `qemu_conf` and the running guests `names`.
fn host_with(qemu_conf: &str, names: &[&str]) -> QemuHost {
    let mut host = QemuHost::start();
    host.kill_daemon();
    fs::write(host.root().join("etc/libvirt/qemu.conf"), qemu_conf).expect("write qemu.conf");
    host.start_daemon();
    for name in names {
        host.define_guest(name);
        host.virsh_ok(&format!("start {name}"));
    }
    for name in names {
        host.wait_booted(name, 1);
    }
    host
}

fn admin_shutdown(host: &QemuHost, flags: u32) {
    let mut client = RawClient::unix(&host.root().join("run/libvirt/libvirt-admin-sock"));
    client
        .call(
            ADMIN_PROGRAM,
            admin_proc::CONNECT_OPEN,
            &encode(&ConnectOpenArgs { flags: 0 }),
        )
        .expect_ok("admin open");
    client
        .call(ADMIN_PROGRAM, CONNECT_DAEMON_SHUTDOWN, &encode(&flags))
        .expect_ok("daemon shutdown");
}

fn saved_record(host: &QemuHost) -> std::path::PathBuf {
    host.root().join("var/lib/libvirt/qemu/auto-shutdown-saved")
}

#[test]
fn host_shutdown_saves_guests_and_next_start_restores_them() {
    let mut host = host_with(
        "auto_shutdown_try_save = \"all\"\nauto_shutdown_restore = 1\n",
        &["as1", "as2"],
    );
    let uuids: Vec<String> = ["as1", "as2"]
        .iter()
        .map(|name| host.virsh_ok(&format!("domuuid {name}")))
        .collect();
    admin_shutdown(&host, DAEMON_SHUTDOWN_PRESERVE);
    assert!(host.wait_daemon_exit(), "{}", host.diagnostics());
    assert!(host.guest_pids().is_empty(), "guests still run");
    for name in ["as1", "as2"] {
        let image = host
            .root()
            .join(format!("var/lib/libvirt/qemu/save/{name}.save"));
        assert!(image.is_file(), "no managed save image for {name}");
    }
    // The daemon's log is complete once it exited: it names what it did.
    let log = fs::read_to_string(host.root().join("log")).unwrap_or_default();
    assert!(log.contains("saved guest 'as1'"), "{log}");
    let record = fs::read_to_string(saved_record(&host)).expect("record of saved guests");
    assert_eq!(record.lines().collect::<Vec<_>>(), uuids);

    host.start_daemon();
    for name in ["as1", "as2"] {
        host.wait_state(name, "running (restored)");
        assert_eq!(host.boot_count(name), 1, "{name} booted again");
    }
    assert!(!saved_record(&host).exists(), "record kept after restore");
    for name in ["as1", "as2"] {
        assert!(!host
            .root()
            .join(format!("var/lib/libvirt/qemu/save/{name}.save"))
            .exists());
        host.virsh_ok(&format!("destroy {name}"));
    }
}

#[test]
fn plain_shutdown_leaves_guests_running() {
    let mut host = host_with("auto_shutdown_try_save = \"all\"\n", &["keep"]);
    admin_shutdown(&host, 0);
    assert!(host.wait_daemon_exit(), "{}", host.diagnostics());
    assert_eq!(host.guest_pids().len(), 1, "the guest did not survive");
    assert!(!saved_record(&host).exists());
    host.start_daemon();
    assert_eq!(host.domstate("keep"), "running (booted)");
    host.virsh_ok("destroy keep");
}

#[test]
fn sigusr2_shuts_down_a_transient_guest_through_acpi() {
    // A transient guest cannot be saved: it goes on to the ACPI shutdown, which the
    // tiny guest answers within the wait, so the power-off stage finds nothing left.
    let mut host = host_with(
        "auto_shutdown_try_save = \"all\"\nauto_shutdown_try_shutdown = \"all\"\n\
         auto_shutdown_poweroff = \"all\"\nauto_shutdown_wait = 60\n",
        &["acpi"],
    );
    host.virsh_ok("undefine acpi");
    let info = host.virsh_ok("dominfo acpi");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Persistent:") && l.ends_with("no")),
        "{info}"
    );
    host.signal_daemon(libc::SIGUSR2);
    assert!(host.wait_daemon_exit(), "{}", host.diagnostics());
    assert!(host.guest_pids().is_empty(), "the guest still runs");
    let log = fs::read_to_string(host.root().join("log")).unwrap_or_default();
    assert!(
        !log.contains("powered off guest 'acpi'") && !log.contains("cannot shut down guest"),
        "the guest did not shut down through ACPI:\n{log}"
    );
    assert!(!saved_record(&host).exists());
    assert!(!host
        .root()
        .join("var/lib/libvirt/qemu/save/acpi.save")
        .exists());
}

#[test]
fn start_up_warns_when_libvirt_guests_is_enabled_too() {
    let mut host = QemuHost::start();
    host.kill_daemon();
    fs::write(
        host.root().join("etc/libvirt/qemu.conf"),
        "auto_shutdown_try_save = \"persistent\"\n",
    )
    .expect("write qemu.conf");
    let lock = host.root().join("var/lock/libvirt-guests");
    fs::create_dir_all(lock.parent().expect("lock dir")).expect("create lock dir");
    fs::write(&lock, b"").expect("write lock file");
    host.start_daemon();
    let warning = "both by this daemon (auto_shutdown_* in qemu.conf) and by libvirt-guests";
    let read_log = || fs::read_to_string(host.root().join("log")).unwrap_or_default();
    // The log is written in the background: wait for the line, with a deadline.
    let warned = wait_until(Duration::from_secs(20), || read_log().contains(warning));
    assert!(warned, "no warning:\n{}", read_log());
}

#[test]
fn a_guest_that_ignores_the_power_button_is_powered_off_after_the_wait() {
    let mut host = host_with(
        "auto_shutdown_try_shutdown = \"all\"\nauto_shutdown_poweroff = \"all\"\n\
         auto_shutdown_wait = 2\n",
        &[],
    );
    // Without ACPI, QEMU has no power button to press.
    let xml = host
        .guest_xml("deaf")
        .replace("<features><acpi/></features>", "");
    let file = host.root().join("deaf.xml");
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start deaf");
    host.wait_booted("deaf", 1);
    host.signal_daemon(libc::SIGUSR2);
    assert!(host.wait_daemon_exit(), "{}", host.diagnostics());
    assert!(host.guest_pids().is_empty(), "the guest still runs");
    let log = fs::read_to_string(host.root().join("log")).unwrap_or_default();
    assert!(log.contains("powered off guest 'deaf'"), "{log}");
    assert!(!log.contains("cannot shut down guest 'deaf'"), "{log}");
}
