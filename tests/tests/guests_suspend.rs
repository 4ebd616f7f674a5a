//! `libvirt-guests stop` with ON_SHUTDOWN=suspend and `start` with ON_BOOT=start
//! against the test driver: managed save, the list file, transient guests, restore.

mod guests_support;

use guests_support::{
    configure, domstate, domuuid, list_file, list_lines, lock_file, run, start_persistent,
    start_transient,
};
use integration_tests::Daemon;

#[test]
fn suspend_then_resume_round_trip() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    start_persistent(&daemon, "second", "");
    start_transient(&daemon, "fleeting");
    configure(
        &daemon,
        &format!("# saved at shutdown\nURIS=\"{uri}\"\nON_SHUTDOWN=suspend\nON_BOOT=start\n"),
    );

    let started = run(&daemon, "start");
    assert_eq!(started.code(), Some(0), "{started}");
    assert!(lock_file(&daemon).is_file());
    let status = run(&daemon, "status");
    assert_eq!(
        (status.code(), status.stdout.as_str()),
        (Some(0), "started\n")
    );

    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");
    let out = &stop.stdout;
    assert!(
        out.contains(&format!(
            "Running guests on {uri} URI: test, second, fleeting\n"
        )),
        "{stop}"
    );
    assert!(
        out.contains(&format!(
            "Not suspending transient guests on URI: {uri}: fleeting\n"
        )),
        "{stop}"
    );
    assert!(
        out.contains(&format!("Suspending guests on {uri} URI...\n")),
        "{stop}"
    );
    for name in ["test", "second"] {
        assert!(out.contains(&format!("Suspending {name}: ...\n")), "{stop}");
        assert!(
            out.contains(&format!("Suspending {name}: done\n")),
            "{stop}"
        );
        assert_eq!(domstate(&daemon, name), "shut off (saved)");
    }
    assert_eq!(domstate(&daemon, "fleeting"), "running (booted)");
    assert_eq!(
        list_lines(&daemon),
        vec![format!(
            "{uri} {} {}",
            domuuid(&daemon, "test"),
            domuuid(&daemon, "second")
        )]
    );
    assert!(!lock_file(&daemon).exists(), "stop removes the lock file");
    let status = run(&daemon, "status");
    assert_eq!(
        (status.code(), status.stdout.as_str()),
        (Some(3), "stopped, with saved guests\n")
    );

    // A second stop before any start leaves the recorded guests alone.
    let again = run(&daemon, "stop");
    assert_eq!((again.code(), again.stdout.as_str()), (Some(0), ""));

    let start = run(&daemon, "start");
    assert_eq!(start.code(), Some(0), "{start}");
    assert_eq!(
        start.stdout,
        format!(
            "Resuming guests on {uri} URI...\nResuming guest test: done\nResuming guest second: done\n"
        )
    );
    for name in ["test", "second"] {
        assert_eq!(domstate(&daemon, name), "running (booted)");
    }
    assert!(!list_file(&daemon).exists(), "start removes the list file");
    assert!(lock_file(&daemon).is_file());
}

#[test]
fn start_reports_guests_already_running_and_ignores_unlisted_uris() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    configure(
        &daemon,
        &format!("URIS={uri}\nON_SHUTDOWN=suspend\nON_BOOT=start\n"),
    );
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");
    // Someone started the guest by hand, and an old URI is still in the list.
    let list = list_file(&daemon);
    let mut text = std::fs::read_to_string(&list).expect("list file");
    text.push_str("qemu:///gone 6695eb01-f6a4-8304-79aa-97f2502e193f\n");
    std::fs::write(&list, text).expect("rewrite list");
    let manual = integration_tests::virsh(&uri, "start test");
    assert!(manual.success(), "{manual}");

    let start = run(&daemon, "start");
    assert_eq!(start.code(), Some(0), "{start}");
    assert_eq!(
        start.stdout,
        format!(
            "Resuming guests on {uri} URI...\nResuming guest test: already active\n\
             Ignoring guests on qemu:///gone URI\n"
        )
    );
    assert!(!list.exists());
}

#[test]
fn on_boot_ignore_forgets_the_list() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    configure(&daemon, &format!("URIS={uri}\nON_SHUTDOWN=suspend\n"));
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");
    assert!(list_file(&daemon).is_file());

    let start = run(&daemon, "start");
    assert_eq!(start.code(), Some(0), "{start}");
    assert_eq!(
        start.stdout,
        "libvirt-guests is configured not to start any guests on boot\n"
    );
    assert!(!list_file(&daemon).exists());
    assert!(lock_file(&daemon).is_file());
    assert_eq!(domstate(&daemon, "test"), "shut off (saved)");
}

#[test]
fn start_delay_sync_time_and_reported_config_lines() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    start_persistent(&daemon, "second", "");
    configure(
        &daemon,
        &format!(
            "URIS={uri}\nON_SHUTDOWN=suspend\nON_BOOT=start\nSTART_DELAY=1\nSYNC_TIME=1\n\
             echo this is not an assignment\n"
        ),
    );
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");
    assert!(
        stop.stderr.contains(
            ":6: ignoring line that is not an assignment: echo this is not an assignment"
        ),
        "{stop}"
    );
    let start = run(&daemon, "start");
    // A clock that cannot be set does not make the start fail.
    assert_eq!(start.code(), Some(0), "{start}");
    assert_eq!(
        start.stdout,
        format!(
            "Resuming guests on {uri} URI...\nResuming guest test: done\nResuming guest second: done\n"
        )
    );
    assert!(
        start
            .stderr
            .contains("cannot synchronize the clock of test"),
        "{start}"
    );
    assert_eq!(domstate(&daemon, "second"), "running (booted)");
}
