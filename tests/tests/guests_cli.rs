//! The `libvirt-guests` command line, configuration errors, status codes, URIs that
//! cannot be reached, TCP and the default connection, and `gueststatus`.

mod guests_support;

use std::process::Command;
use std::time::Duration;

use guests_support::{configure, domstate, guests_bin, lock_file, run, run_args};
use integration_tests::{run_with_deadline, virsh, Daemon};

const COMMANDS: &str =
    "{start|stop|status|restart|condrestart|try-restart|reload|force-reload|gueststatus|shutdown}";

#[test]
fn usage_and_help() {
    let daemon = Daemon::start();
    let usage = format!("Usage: {} {COMMANDS}\n", guests_bin().display());
    for (args, code) in [
        (vec![], 2),
        (vec!["bogus"], 2),
        (vec!["start", "stop"], 2),
        (vec!["--help"], 0),
    ] {
        let out = run_args(&daemon, &args);
        assert_eq!(out.code(), Some(code), "{args:?}: {out}");
        assert_eq!(out.stdout, usage, "{args:?}");
    }
    let reload = run(&daemon, "reload");
    assert_eq!((reload.code(), reload.stdout.as_str()), (Some(0), ""));
}

#[test]
fn status_codes_follow_the_state_files() {
    let daemon = Daemon::start();
    let status = run(&daemon, "status");
    assert_eq!(
        (status.code(), status.stdout.as_str()),
        (Some(3), "stopped, with no saved guests\n")
    );
    // condrestart does nothing until the service was started.
    let cond = run(&daemon, "condrestart");
    assert_eq!((cond.code(), cond.stdout.as_str()), (Some(0), ""));
    assert!(!lock_file(&daemon).exists());
}

#[test]
fn bad_values_name_the_variable() {
    let daemon = Daemon::start();
    for (line, message) in [
        (
            "ON_BOOT=yes",
            "ON_BOOT must be start or ignore, not 'yes'\n",
        ),
        (
            "ON_SHUTDOWN=hibernate",
            "ON_SHUTDOWN must be suspend or shutdown, not 'hibernate'\n",
        ),
        (
            "PARALLEL_SHUTDOWN=many",
            "PARALLEL_SHUTDOWN must be a whole number (0 or more), not 'many'\n",
        ),
        (
            "SHUTDOWN_TIMEOUT=5m",
            "SHUTDOWN_TIMEOUT must be a whole number of seconds, not '5m'\n",
        ),
    ] {
        configure(&daemon, &format!("URIS={}\n{line}\n", daemon.rw_uri()));
        let out = run(&daemon, "stop");
        assert_eq!(out.code(), Some(6), "{line}: {out}");
        assert_eq!(out.stdout, message, "{line}");
    }
    assert_eq!(domstate(&daemon, "test"), "running (unknown)");
}

#[test]
fn unreachable_uri_is_skipped_and_the_rest_proceed() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    let missing = format!(
        "test+unix:///default?socket={}",
        daemon.root().join("no-such-sock").display()
    );
    configure(
        &daemon,
        &format!("URIS=\"{missing} {uri}\"\nON_SHUTDOWN=suspend\n"),
    );
    let out = run(&daemon, "stop");
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(
        out.stdout
            .starts_with(&format!("Can't connect to {missing}. Skipping.\n")),
        "{out}"
    );
    assert!(out.stderr.contains("no-such-sock"), "{out}");
    assert!(out.stdout.contains("Suspending test: done\n"), "{out}");
    assert_eq!(domstate(&daemon, "test"), "shut off (saved)");
}

#[test]
fn gueststatus_over_tcp_matches_virsh_list() {
    let daemon = Daemon::builder().tcp().start();
    let uri = daemon.tcp_uri();
    configure(&daemon, &format!("URIS={uri}\n"));
    let out = run(&daemon, "gueststatus");
    assert_eq!(out.code(), Some(0), "{out}");
    let list = virsh(&uri, "list");
    assert!(list.success(), "{list}");
    assert_eq!(out.stdout, format!("* {uri} URI:\n{}", list.stdout));
}

#[test]
fn default_uri_comes_from_the_environment() {
    let daemon = Daemon::start();
    configure(&daemon, "ON_SHUTDOWN=suspend\n");
    let mut command = Command::new(guests_bin());
    command
        .arg("stop")
        .env("LIBVIRTD_ROOT", daemon.root())
        .env("LIBVIRT_DEFAULT_URI", daemon.rw_uri());
    let out = run_with_deadline(&mut command, Duration::from_secs(60));
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(
        out.stdout
            .starts_with("Running guests on default URI: test\n"),
        "{out}"
    );
    assert_eq!(
        guests_support::list_lines(&daemon),
        vec!["default 6695eb01-f6a4-8304-79aa-97f2502e193f".to_string()]
    );
    assert_eq!(domstate(&daemon, "test"), "shut off (saved)");
}
