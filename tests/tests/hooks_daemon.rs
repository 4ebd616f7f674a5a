//! The `daemon` hook script, end to end: the real daemon calls it with
//! libvirt's arguments at start, on SIGHUP and at shutdown, and a failing or
//! hanging start script keeps the daemon from starting.

use std::path::Path;
use std::time::Duration;

use integration_tests::{virsh, wait_until, Daemon, DaemonBuilder};

const EXIT_TIMEOUT: Duration = Duration::from_secs(40);
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// A script that appends its arguments and the size of its stdin to
/// `<root>/hook-calls` (the root is found from the script's own path).
const RECORDER: &str = r#"#!/bin/sh
root="${0%/etc/libvirt/hooks/*}"
echo "$(basename "$0") $* stdin=$(wc -c)" >> "$root/hook-calls"
"#;

fn with_script(builder: DaemonBuilder, relative: &str, body: &str, mode: u32) -> DaemonBuilder {
    builder.file(
        Path::new("etc/libvirt/hooks").join(relative),
        body.as_bytes().to_vec(),
        mode,
    )
}

/// Starts the daemon and waits until it serves a call, which also means its
/// signal handlers are in place (the sockets accept connections earlier).
fn start_serving(builder: DaemonBuilder) -> Daemon {
    let daemon = builder.start();
    virsh(&daemon.rw_uri(), "uri").expect_success("first call");
    daemon
}

fn calls(daemon: &Daemon) -> Vec<String> {
    std::fs::read_to_string(daemon.root().join("hook-calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn wait_for_calls(daemon: &Daemon, count: usize) {
    let reached = wait_until(CALL_TIMEOUT, || calls(daemon).len() >= count);
    assert!(
        reached,
        "expected {count} hook calls, got {:?}\n{}",
        calls(daemon),
        daemon.diagnostics()
    );
}

#[test]
fn start_reload_and_shutdown_each_call_the_script_once() {
    let builder = with_script(Daemon::builder(), "daemon", RECORDER, 0o755);
    let mut daemon = start_serving(builder);
    // The start call happens before the sockets exist, so it is done now.
    assert_eq!(calls(&daemon), ["daemon - start - start stdin=0"]);

    daemon.signal(libc::SIGHUP);
    wait_for_calls(&daemon, 2);
    assert!(daemon.is_running(), "SIGHUP stopped the daemon");

    daemon.signal(libc::SIGTERM);
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", daemon.diagnostics());
    assert_eq!(
        calls(&daemon),
        [
            "daemon - start - start stdin=0",
            "daemon - reload begin SIGHUP stdin=0",
            "daemon - shutdown - shutdown stdin=0",
        ]
    );
}

#[test]
fn directory_scripts_run_after_the_main_script_in_order() {
    let mut builder = with_script(Daemon::builder(), "daemon", RECORDER, 0o755);
    builder = with_script(builder, "daemon.d/20-second", RECORDER, 0o755);
    builder = with_script(builder, "daemon.d/10-first", RECORDER, 0o755);
    builder = with_script(builder, "daemon.d/15-not-executable", RECORDER, 0o644);
    let mut daemon = start_serving(builder);
    assert_eq!(
        calls(&daemon),
        [
            "daemon - start - start stdin=0",
            "10-first - start - start stdin=0",
            "20-second - start - start stdin=0",
        ]
    );
    let warned = daemon.log().contains("Non-executable hook script");
    assert!(
        warned,
        "no warning about the non-executable script\n{}",
        daemon.diagnostics()
    );
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(EXIT_TIMEOUT).code(), Some(0));
}

#[test]
fn a_script_added_while_running_is_used_from_the_next_sighup() {
    let mut daemon = start_serving(Daemon::builder());
    assert!(calls(&daemon).is_empty());
    let hooks_dir = daemon.root().join("etc/libvirt/hooks");
    std::fs::create_dir_all(&hooks_dir).expect("create hooks directory");
    let script = hooks_dir.join("daemon");
    std::fs::write(&script, RECORDER).expect("write script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod script");
    daemon.signal(libc::SIGHUP);
    wait_for_calls(&daemon, 1);
    assert_eq!(calls(&daemon), ["daemon - reload begin SIGHUP stdin=0"]);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(EXIT_TIMEOUT).code(), Some(0));
    assert_eq!(calls(&daemon).len(), 2, "{:?}", calls(&daemon));
}

#[test]
fn a_failing_start_script_stops_the_daemon_with_status_8() {
    let script = "#!/bin/sh\necho 'bridge br7 is missing' >&2\nexit 3\n";
    let builder = with_script(Daemon::builder(), "daemon", script, 0o755);
    let mut daemon = builder.spawn();
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(8), "{}", daemon.diagnostics());
    let log = daemon.log();
    assert!(
        log.contains("Hook script execution failed: internal error: Child process (LC_ALL=C"),
        "{}",
        daemon.diagnostics()
    );
    assert!(
        log.contains("/etc/libvirt/hooks/daemon - start - start) unexpected exit status 3: bridge br7 is missing"),
        "{}",
        daemon.diagnostics()
    );
    assert!(
        !daemon.rw_socket().exists(),
        "sockets created despite the failure"
    );
    assert!(!daemon.pid_file().exists(), "pid file left behind");
}

#[test]
fn a_hanging_start_script_is_killed_after_hook_timeout() {
    let script = "#!/bin/sh\nsleep 1000 &\nwait\n";
    let builder = with_script(
        Daemon::builder().conf("hook_timeout = 1"),
        "daemon",
        script,
        0o755,
    );
    let mut daemon = builder.spawn();
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(8), "{}", daemon.diagnostics());
    assert!(
        daemon
            .log()
            .contains("timed out after 1 second and was killed with its process group"),
        "{}",
        daemon.diagnostics()
    );
}

#[test]
fn a_failing_reload_or_shutdown_script_changes_nothing() {
    let script = r#"#!/bin/sh
root="${0%/etc/libvirt/hooks/*}"
echo "$*" >> "$root/hook-calls"
[ "$2" = start ] || { echo "refusing $2" >&2; exit 1; }
"#;
    let builder = with_script(Daemon::builder(), "daemon", script, 0o755);
    let mut daemon = start_serving(builder);
    daemon.signal(libc::SIGHUP);
    wait_for_calls(&daemon, 2);
    let logged = wait_until(CALL_TIMEOUT, || daemon.log().contains("refusing reload"));
    assert!(
        logged,
        "reload failure not logged\n{}",
        daemon.diagnostics()
    );
    assert!(
        daemon.is_running(),
        "a failing reload script stopped the daemon"
    );
    daemon.signal(libc::SIGTERM);
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", daemon.diagnostics());
    assert_eq!(
        calls(&daemon),
        [
            "- start - start",
            "- reload begin SIGHUP",
            "- shutdown - shutdown"
        ]
    );
}
