//! `-d` end to end: this test binary re-runs itself as a process that calls
//! `daemonize`, and checks what the waiting parent prints and returns and
//! how the detached daemon is set up.
//!
//! `forked_daemon_entry` is that re-run's entry point. Run normally (without
//! the environment variable) it does nothing; it is a test function only so
//! the binary can select it by name.

use std::fs;
use std::process::{Command, Output};

use daemon::daemonize::{daemonize, StartupFailure};

const MARKER_VARIABLE: &str = "CLI_DAEMONIZE_MARKER";
const OUTCOME_VARIABLE: &str = "CLI_DAEMONIZE_OUTCOME";

#[test]
fn forked_daemon_entry() {
    let Ok(marker) = std::env::var(MARKER_VARIABLE) else {
        return;
    };
    let outcome = std::env::var(OUTCOME_VARIABLE).unwrap_or_default();
    let reporter = match daemonize("cli-test") {
        Ok(reporter) => reporter,
        Err(err) => {
            eprintln!("daemonize failed: {err}");
            std::process::exit(99);
        }
    };
    // Only the detached daemon gets here.
    let describe_fd = |fd: u32| {
        fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|target| target.display().to_string())
            .unwrap_or_default()
    };
    let facts = format!(
        "pid={}\nsid={}\ncwd={}\nstdin={}\nstdout={}\nstderr={}\n",
        std::process::id(),
        nix::unistd::getsid(None).expect("getsid").as_raw(),
        std::env::current_dir()
            .map(|dir| dir.display().to_string())
            .unwrap_or_default(),
        describe_fd(0),
        describe_fd(1),
        describe_fd(2),
    );
    let _ = fs::write(&marker, facts);
    match outcome.as_str() {
        "ok" => reporter.report_ok(),
        "pidfile" => reporter.report_error(StartupFailure::PidFile),
        _ => drop(reporter),
    }
    std::process::exit(0);
}

/// Runs the entry above in a fresh process; returns its output and the
/// facts the daemon wrote about itself.
fn run_daemonizing_child(outcome: &str) -> (Output, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("facts");
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "forked_daemon_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MARKER_VARIABLE, &marker)
        .env(OUTCOME_VARIABLE, outcome)
        .output()
        .expect("run child");
    // The daemon writes its facts before reporting, and the parent exits
    // only after the report, so the file is complete now.
    let facts = fs::read_to_string(&marker).unwrap_or_default();
    (output, facts)
}

fn fact<'a>(facts: &'a str, key: &str) -> &'a str {
    facts
        .lines()
        .find_map(|line| {
            line.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
        })
        .unwrap_or_else(|| panic!("no {key} in {facts:?}"))
}

#[test]
fn successful_start_detaches_and_parent_exits_zero() {
    let (output, facts) = run_daemonizing_child("ok");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("error:"), "{stderr}");
    let daemon_pid: i32 = fact(&facts, "pid").parse().expect("pid");
    let daemon_sid: i32 = fact(&facts, "sid").parse().expect("sid");
    let our_sid = nix::unistd::getsid(None).expect("getsid").as_raw();
    assert_ne!(daemon_sid, our_sid, "daemon must be in a new session");
    // The session leader was the intermediate process, so the daemon can
    // never reacquire a controlling terminal.
    assert_ne!(daemon_sid, daemon_pid);
    assert_eq!(fact(&facts, "cwd"), "/");
    for stream in ["stdin", "stdout", "stderr"] {
        assert_eq!(fact(&facts, stream), "/dev/null", "{stream}");
    }
}

#[test]
fn reported_failure_is_printed_by_the_parent() {
    let (output, facts) = run_daemonizing_child("pidfile");
    assert!(!facts.is_empty(), "the daemon ran");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.ends_with(
            "cli-test: error: Unable to obtain pidfile. Check /var/log/messages or run without --daemon for more info.\n"
        ),
        "{stderr}"
    );
}

#[test]
fn daemon_vanishing_without_report_fails_the_parent() {
    let (output, facts) = run_daemonizing_child("silent");
    assert!(!facts.is_empty(), "the daemon ran");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cli-test: error: unable to determine if daemon is running: "),
        "{stderr}"
    );
}
