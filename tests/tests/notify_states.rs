//! What the daemon tells a service manager over `NOTIFY_SOCKET` besides
//! `READY=1` at start: watchdog pings when `WATCHDOG_USEC` asks for them,
//! `RELOADING=1` with `MONOTONIC_USEC` then `READY=1` around a SIGHUP
//! reload (what `Type=notify-reload` needs), and `STOPPING=1` at SIGTERM.

mod activation_support;

use std::time::{Duration, Instant};

use activation_support::process::Launch;
use activation_support::{NotifyListener, Root, START_TIMEOUT};
use integration_tests::libvirtd_bin;

const STEP: Duration = Duration::from_secs(10);

/// Microseconds since boot from /proc/uptime, which counts like
/// CLOCK_MONOTONIC (apart from suspend, which does not happen here).
fn uptime_usec() -> u64 {
    let text = std::fs::read_to_string("/proc/uptime").expect("/proc/uptime");
    let seconds: f64 = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("uptime");
    (seconds * 1_000_000.0) as u64
}

#[test]
fn watchdog_reload_and_stop_are_announced() {
    let root = Root::new();
    let conf = root.write_conf("libvirtd", &[], true);
    let mut notify = NotifyListener::bind(&root);
    let mut env = root.env();
    env.push(("NOTIFY_SOCKET".into(), notify.path.display().to_string()));
    env.push(("WATCHDOG_USEC".into(), "400000".into()));
    let program = libvirtd_bin();
    let launch = Launch {
        program: &program,
        arg0: "libvirtd",
        args: vec!["-f".into(), conf.display().to_string()],
        fds: Vec::new(),
        fdnames: None,
        env,
        stdout: &root.stdout_file(),
        stderr: &root.stderr_file(),
    };
    let mut daemon = launch.spawn();
    assert!(
        notify.wait_for("READY=1", START_TIMEOUT),
        "no READY=1 (got {:?})\n{}",
        notify.received,
        root.diagnostics()
    );
    assert!(
        notify
            .received
            .iter()
            .any(|m| m.contains("STATUS=Accepting clients")),
        "no STATUS line with READY=1: {:?}",
        notify.received
    );
    assert!(
        notify.wait_for("WATCHDOG=1", STEP),
        "no watchdog ping with WATCHDOG_USEC set (got {:?})",
        notify.received
    );

    let seen = notify.received.len();
    let lower = uptime_usec();
    daemon.signal(libc::SIGHUP);
    assert!(
        notify.wait_for("RELOADING=1", STEP),
        "no RELOADING=1 at SIGHUP (got {:?})\n{}",
        notify.received,
        root.diagnostics()
    );
    let reloading = notify.received[seen..]
        .iter()
        .find(|m| m.lines().any(|l| l == "RELOADING=1"))
        .expect("the RELOADING message")
        .clone();
    let usec: u64 = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no MONOTONIC_USEC with RELOADING=1: {reloading:?}"));
    // CLOCK_MONOTONIC and /proc/uptime count from boot; allow for rounding.
    assert!(
        usec + 1_000_000 >= lower && usec <= uptime_usec() + 1_000_000,
        "MONOTONIC_USEC={usec} is not the monotonic clock (uptime {lower})"
    );
    assert!(
        wait_ready_again(&mut notify, seen),
        "no READY=1 after the reload (got {:?})",
        notify.received
    );

    daemon.signal(libc::SIGTERM);
    assert!(
        notify.wait_for("STOPPING=1", STEP),
        "no STOPPING=1 at SIGTERM (got {:?})",
        notify.received
    );
    let status = daemon
        .wait_timeout(START_TIMEOUT)
        .expect("the daemon exits");
    assert_eq!(status.code(), Some(0), "{}", root.diagnostics());
}

/// Waits until a `READY=1` arrives after the `RELOADING=1` that follows
/// message number `from`.
fn wait_ready_again(notify: &mut NotifyListener, from: usize) -> bool {
    let deadline = Instant::now() + STEP;
    loop {
        let messages = &notify.received[from..];
        if let Some(reload) = messages
            .iter()
            .position(|m| m.lines().any(|l| l == "RELOADING=1"))
        {
            if messages[reload + 1..]
                .iter()
                .any(|m| m.lines().any(|l| l == "READY=1"))
            {
                return true;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        // Polls the socket for up to 20 ms, then looks again.
        notify.drain();
        std::thread::sleep(Duration::from_millis(20));
    }
}
