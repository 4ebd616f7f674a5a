//! SIGTERM during a save: the daemon exits within its bound (libvirtd(8):
//! jobs get a grace period, then saves are cancelled and rolled back), and
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
use std::path::Path;
use std::process::Stdio;

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
