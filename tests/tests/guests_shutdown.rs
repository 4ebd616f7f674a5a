//! `libvirt-guests stop` with ON_SHUTDOWN=shutdown against the test driver: one guest
//! after the other, several at a time, and guests that ignore the request.

mod guests_support;

use guests_support::{configure, domstate, list_lines, lock_file, run, start_persistent};
use integration_tests::Daemon;

/// A guest whose "power off" restarts it: it never finishes shutting down.
const IGNORES_SHUTDOWN: &str = "<on_poweroff>restart</on_poweroff>";

#[test]
fn sequential_shutdown_records_and_stops_every_guest() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    start_persistent(&daemon, "second", "");
    configure(&daemon, &format!("URIS='{uri}'\nSHUTDOWN_TIMEOUT=30\n"));
    let started = run(&daemon, "start");
    assert_eq!(started.code(), Some(0), "{started}");

    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");
    assert_eq!(
        stop.stdout,
        format!(
            "Running guests on {uri} URI: test, second\n\
             Shutting down guests on {uri} URI...\n\
             Starting shutdown on guest: test\n\
             Shutdown of guest test complete.\n\
             Starting shutdown on guest: second\n\
             Shutdown of guest second complete.\n"
        )
    );
    assert_eq!(domstate(&daemon, "test"), "shut off (shutdown)");
    assert_eq!(domstate(&daemon, "second"), "shut off (shutdown)");
    assert_eq!(list_lines(&daemon).len(), 1);
    assert!(!lock_file(&daemon).exists());
}

#[test]
fn parallel_shutdown_stops_every_guest() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    start_persistent(&daemon, "second", "");
    start_persistent(&daemon, "third", "");
    configure(
        &daemon,
        &format!("URIS='{uri}'\nPARALLEL_SHUTDOWN=2\nSHUTDOWN_TIMEOUT=30\n"),
    );
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");
    for name in ["test", "second", "third"] {
        assert!(
            stop.stdout
                .contains(&format!("Starting shutdown on guest: {name}\n")),
            "{stop}"
        );
        assert!(
            stop.stdout
                .contains(&format!("Shutdown of guest {name} complete.\n")),
            "{stop}"
        );
        assert_eq!(domstate(&daemon, name), "shut off (shutdown)");
    }
}

#[test]
fn sequential_timeout_is_reported_per_guest() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    start_persistent(&daemon, "stubborn", IGNORES_SHUTDOWN);
    configure(&daemon, &format!("URIS='{uri}'\nSHUTDOWN_TIMEOUT=2\n"));
    let stop = run(&daemon, "stop");
    // libvirt's script reports the guest but still exits 0 in sequential mode.
    assert_eq!(stop.code(), Some(0), "{stop}");
    assert!(
        stop.stdout
            .contains("Shutdown of guest stubborn failed to complete in time.\n"),
        "{stop}"
    );
    assert!(
        stop.stdout.contains("Shutdown of guest test complete.\n"),
        "{stop}"
    );
    assert_eq!(domstate(&daemon, "stubborn"), "running (booted)");
}

#[test]
fn parallel_timeout_fails_the_command() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    start_persistent(&daemon, "stubborn", IGNORES_SHUTDOWN);
    configure(
        &daemon,
        &format!("URIS='{uri}'\nPARALLEL_SHUTDOWN=2\nSHUTDOWN_TIMEOUT=2\n"),
    );
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(1), "{stop}");
    assert!(
        stop.stdout
            .contains("Timeout expired while shutting down domains\n"),
        "{stop}"
    );
    assert!(
        stop.stdout.contains("Shutdown of guest test complete.\n"),
        "{stop}"
    );
    assert_eq!(domstate(&daemon, "stubborn"), "running (booted)");
}

#[test]
fn shutdown_command_overrides_suspend() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    configure(&daemon, &format!("URIS='{uri}'\nON_SHUTDOWN=suspend\n"));
    let out = run(&daemon, "shutdown");
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("Shutting down guests on"), "{out}");
    assert_eq!(domstate(&daemon, "test"), "shut off (shutdown)");
}

#[test]
fn negative_timeout_is_refused_before_touching_guests() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    configure(&daemon, &format!("URIS='{uri}'\nSHUTDOWN_TIMEOUT=-1\n"));
    let out = run(&daemon, "stop");
    assert_eq!(out.code(), Some(6), "{out}");
    assert_eq!(
        out.stdout,
        "SHUTDOWN_TIMEOUT must be equal or greater than 0\n"
    );
    assert_eq!(domstate(&daemon, "test"), "running (unknown)");
    assert!(!guests_support::list_file(&daemon).exists());
}
