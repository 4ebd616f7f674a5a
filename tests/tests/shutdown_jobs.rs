//! SIGTERM during a save (and, below, during a start): the daemon exits
//! within its bound (libvirtd(8): jobs get a grace period, then saves are
//! cancelled and rolled back), and
//! what is left says which way it went: either a complete image and no guest,
//! or no image at all and a guest that runs on, found running (not paused)
//! by the next daemon.
//!
//! The save is made slow and deterministic by limiting QEMU's migration
//! bandwidth (QMP `migrate-set-parameters` through `qemu-monitor-command`), so
//! it is still running when the daemon is told to stop and after its grace
//! period. Without the rollback the daemon would exit with the guest paused
//! and a partial image beside the target.

mod qemu_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use integration_tests::tools::{virsh_command, wait_with_deadline, CLIENT_TIMEOUT};
use integration_tests::wait_until;
use qemu_support::{QemuHost, STATE_TIMEOUT};

/// Bytes per second QEMU may write while saving: tens of MiB of guest RAM
/// then take minutes, far longer than the daemon's grace period.
const SLOW_BANDWIDTH: u64 = 128 * 1024;

fn files_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn qmp_status(host: &QemuHost, name: &str) -> String {
    host.virsh_ok(&format!(
        r#"qemu-monitor-command {name} '{{"execute":"query-status"}}'"#
    ))
}

#[test]
fn sigterm_during_a_save_completes_or_rolls_back() {
    let mut host = QemuHost::start();
    host.define_guest("sj");
    host.virsh_ok("start sj");
    host.wait_booted("sj", 1);
    host.virsh_ok(&format!(
        r#"qemu-monitor-command sj '{{"execute":"migrate-set-parameters","arguments":{{"max-bandwidth":{SLOW_BANDWIDTH}}}}}'"#
    ));

    let saves = host.root().join("saves");
    fs::create_dir_all(&saves).expect("saves dir");
    let image = saves.join("sj.img");
    let save = virsh_command()
        .args(["-c", &host.uri(), "save", "sj"])
        .arg(&image)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virsh save");

    // The save is under way once QEMU writes into the directory.
    let writing = wait_until(STATE_TIMEOUT, || {
        files_in(&saves).iter().any(|name| {
            fs::metadata(saves.join(name))
                .map(|m| m.len() > 4096)
                .unwrap_or(false)
        })
    });
    assert!(
        writing,
        "the save never started writing\n{}",
        host.diagnostics()
    );
    assert_eq!(host.domstate("sj"), "paused (saving)");

    host.signal_daemon(libc::SIGTERM);
    // wait_daemon_exit fails the test if the daemon does not exit.
    assert!(
        host.wait_daemon_exit(),
        "libvirtd did not exit cleanly\n{}",
        host.diagnostics()
    );
    // The client lost its daemon; what it says does not matter here.
    let _ = wait_with_deadline(save, CLIENT_TIMEOUT, "virsh save");

    let left = files_in(&saves);
    let guests = host.guest_pids();
    if image.is_file() {
        // Completed: the whole image, and the guest is gone.
        assert_eq!(left, vec!["sj.img".to_string()], "files left: {left:?}");
        let stopped = wait_until(STATE_TIMEOUT, || host.guest_pids().is_empty());
        assert!(stopped, "the guest still runs after a completed save");
        host.start_daemon();
        host.virsh_ok(&format!("restore {}", image.display()));
        assert_eq!(host.domstate("sj"), "running (restored)");
    } else {
        // Rolled back: no image, no partial image, and the guest runs on.
        assert!(left.is_empty(), "partial save left behind: {left:?}");
        assert_eq!(guests.len(), 1, "the guest is gone: {guests:?}");
        host.start_daemon();
        let state = host.domstate("sj");
        assert!(state.starts_with("running"), "after restart: {state}");
        let status = qmp_status(&host, "sj");
        assert!(
            status.contains(r#""status":"running""#),
            "QEMU is not running the guest: {status}"
        );
        // The guest answers: the power button shuts it down.
        host.virsh_ok("shutdown sj");
        host.wait_state("sj", "shut off (shutdown)");
    }
}

/// SIGTERM while a start waits in its prepare hook: the daemon waits for the
/// start instead of exiting under it, so the guest ends up recorded (status
/// file) and running, and the next daemon finds it. The hook is released only
/// once the daemon reports, after its grace period, that jobs still run, so a
/// daemon that did not wait would be gone by then and leave no guest.
#[test]
fn sigterm_during_a_start_lets_it_finish() {
    let mut host = QemuHost::start();
    let entered = host.root().join("prepare-entered");
    let release = host.root().join("prepare-release");
    let script = host.root().join("etc/libvirt/hooks/qemu");
    fs::create_dir_all(script.parent().expect("hooks dir")).expect("mkdir hooks");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat >/dev/null\nif [ \"$2\" = prepare ]; then touch {}; \
             while [ ! -e {} ]; do sleep 0.1; done; fi\nexit 0\n",
            entered.display(),
            release.display()
        ),
    )
    .expect("write hook");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod hook");
    host.kill_daemon();
    host.start_daemon();
    host.define_guest("st");

    let start = virsh_command()
        .args(["-c", &host.uri(), "start", "st"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virsh start");
    assert!(
        wait_until(STATE_TIMEOUT, || entered.exists()),
        "the prepare hook never ran\n{}",
        host.diagnostics()
    );
    host.signal_daemon(libc::SIGTERM);
    let log = host.root().join("log");
    let pid_file = host.root().join("run/libvirtd.pid");
    let waiting = wait_until(Duration::from_secs(60), || {
        fs::read_to_string(&log).is_ok_and(|t| t.contains("jobs still running at shutdown"))
            || !pid_file.exists()
    });
    assert!(waiting, "the daemon neither waited nor exited");
    fs::write(&release, b"").expect("release the hook");
    assert!(
        host.wait_daemon_exit(),
        "libvirtd did not exit cleanly\n{}",
        host.diagnostics()
    );
    let _ = wait_with_deadline(start, CLIENT_TIMEOUT, "virsh start");

    let status = host.root().join("run/libvirt/qemu/st.xml");
    assert!(status.is_file(), "no status file for the started guest");
    assert_eq!(host.guest_pids().len(), 1, "the started guest does not run");
    host.start_daemon();
    host.wait_state("st", "running (booted)");
    host.wait_booted("st", 1);
}
