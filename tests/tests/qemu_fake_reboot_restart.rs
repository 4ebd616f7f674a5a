//! A fake reboot survives a daemon restart: `virsh reboot` is recorded in the status
//! file, the daemon is killed before the guest powers off, and the next daemon finds
//! QEMU powered off and finishes the reboot (reset and resume) instead of leaving the
//! guest paused or reporting a shutdown.

mod qemu_support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use integration_tests::wait_until;
use qemu_support::{expect_event, listen_events, QemuHost, BOOT_TIMEOUT, STATE_TIMEOUT};

/// QEMU's own answer to `query-status`, asked over its QMP socket while no daemon
/// holds it.
fn qmp_status(socket: &Path) -> Option<String> {
    let stream = UnixStream::connect(socket).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut writer = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if !line.contains("\"QMP\"") {
        return None;
    }
    let mut answer = |command: &str| -> Option<serde_json::Value> {
        writer
            .write_all(format!("{{\"execute\": \"{command}\"}}\n").as_bytes())
            .ok()?;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let value: serde_json::Value = serde_json::from_str(&line).ok()?;
            if let Some(ret) = value.get("return") {
                return Some(ret.clone());
            }
            if value.get("error").is_some() {
                return None;
            }
        }
    };
    answer("qmp_capabilities")?;
    let status = answer("query-status")?;
    status
        .get("status")
        .and_then(|s| s.as_str())
        .map(str::to_string)
}

/// How many times the guest printed its power-off marker.
fn poweroff_count(host: &QemuHost, name: &str) -> usize {
    fs::read_to_string(host.serial_log(name))
        .map(|t| t.matches("TINY-GUEST-POWEROFF").count())
        .unwrap_or(0)
}

/// The lifecycle events about `name` a listener printed.
fn lifecycle_lines(seen: &str, name: &str) -> Vec<String> {
    let needle = format!("event 'lifecycle' for domain '{name}'");
    seen.lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_string)
        .collect()
}

/// Attempts at catching QEMU powered off with no daemon: the daemon is killed right
/// after `virsh reboot` returns, which usually precedes the guest's reaction.
const ATTEMPTS: usize = 8;

#[test]
fn reboot_requested_before_a_daemon_restart_is_finished_by_the_next_daemon() {
    let mut host = QemuHost::start();
    host.define_guest("fr1");
    host.virsh_ok("start fr1");
    host.wait_booted("fr1", 1);
    let pids = host.guest_pids();
    assert_eq!(pids.len(), 1);
    let monitor = host.root().join("run/libvirt/qemu/fr1.monitor");

    let mut finished_by_next_daemon = 0;
    for attempt in 1..=ATTEMPTS {
        let boots = host.boot_count("fr1");
        host.virsh_ok("reboot fr1");
        host.kill_daemon();

        // The guest powers off while no daemon runs; QEMU (-no-shutdown) stays.
        let powered_off = wait_until(BOOT_TIMEOUT, || poweroff_count(&host, "fr1") >= attempt);
        assert!(
            powered_off,
            "the guest did not power off; serial:\n{}",
            fs::read_to_string(host.serial_log("fr1")).unwrap_or_default()
        );
        // Usually QEMU now waits, powered off ("shutdown"). Should the dying daemon
        // have seen the power-off and reset the guest, QEMU waits for the resume
        // ("prelaunch"); should it even have resumed it, the guest boots by itself.
        let mut last = None;
        let settled = wait_until(STATE_TIMEOUT, || {
            last = qmp_status(&monitor);
            matches!(last.as_deref(), Some("shutdown" | "prelaunch"))
                || host.boot_count("fr1") > boots
        });
        assert!(
            settled,
            "QEMU never reported the power-off (last: {last:?})"
        );
        let waiting = host.boot_count("fr1") == boots;
        assert_eq!(host.guest_pids(), pids, "QEMU exited with the guest");

        host.start_daemon();
        let mut events = listen_events(&host);
        assert_eq!(host.domstate("fr1"), "running (booted)");
        host.wait_booted("fr1", boots + 1);
        assert_eq!(host.domstate("fr1"), "running (booted)");
        assert_eq!(
            host.guest_pids(),
            pids,
            "the guest was restarted, not reset"
        );
        let status = host.virsh_ok("qemu-monitor-command --hmp fr1 'info status'");
        assert!(status.contains("running"), "{status}");
        let seen = events.finish();
        assert!(lifecycle_lines(&seen, "fr1").is_empty(), "{seen}");
        if waiting {
            finished_by_next_daemon += 1;
            break;
        }
    }
    assert_eq!(
        finished_by_next_daemon, 1,
        "in {ATTEMPTS} attempts the guest never powered off after the daemon was gone"
    );

    // The rebooted guest is an ordinary running guest again: its next power-off is a
    // shutdown, reported once, and only that.
    let mut events = listen_events(&host);
    host.virsh_ok("shutdown fr1");
    expect_event(&mut events, "fr1", "Stopped Shutdown");
    assert_eq!(host.domstate("fr1"), "shut off (shutdown)");
    let seen = events.finish();
    assert_eq!(
        lifecycle_lines(&seen, "fr1"),
        [
            "event 'lifecycle' for domain 'fr1': Shutdown Finished after guest request",
            "event 'lifecycle' for domain 'fr1': Stopped Shutdown",
        ],
        "{seen}"
    );
}

/// Without a pending reboot, a power-off that happened while no daemon ran is a
/// shutdown the next daemon finishes: QEMU is stopped, not left paused.
#[test]
fn shutdown_while_no_daemon_ran_is_finished_by_the_next_daemon() {
    let mut host = QemuHost::start();
    host.define_guest("fs1");
    let monitor = host.root().join("run/libvirt/qemu/fs1.monitor");
    let mut finished_by_next_daemon = false;
    for attempt in 1..=ATTEMPTS {
        host.virsh_ok("start fs1");
        host.wait_booted("fs1", attempt);
        host.virsh_ok("shutdown fs1");
        host.kill_daemon();
        let powered_off = wait_until(BOOT_TIMEOUT, || poweroff_count(&host, "fs1") >= attempt);
        assert!(powered_off, "the guest did not power off");
        // Usually QEMU waits, powered off; should the dying daemon have seen the
        // power-off, it already asked QEMU to quit.
        let mut last = None;
        let settled = wait_until(STATE_TIMEOUT, || {
            last = qmp_status(&monitor);
            last.as_deref() == Some("shutdown") || host.guest_pids().is_empty()
        });
        assert!(
            settled,
            "QEMU never reported the power-off (last: {last:?})"
        );
        let waiting = !host.guest_pids().is_empty();

        host.start_daemon();
        let stopped = wait_until(STATE_TIMEOUT, || {
            host.domstate("fs1").starts_with("shut off")
        });
        assert!(stopped, "left as '{}'", host.domstate("fs1"));
        let gone = wait_until(STATE_TIMEOUT, || host.guest_pids().is_empty());
        assert!(gone, "QEMU still runs");
        if waiting {
            assert_eq!(host.domstate("fs1"), "shut off (shutdown)");
            finished_by_next_daemon = true;
            break;
        }
    }
    assert!(
        finished_by_next_daemon,
        "in {ATTEMPTS} attempts the guest never powered off after the daemon was gone"
    );
}
