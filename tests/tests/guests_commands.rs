//! libvirt-guests commands and variables against the test driver: `restart`,
//! `try-restart` and `condrestart` (which act only while the lock file exists),
//! `force-reload`, the BYPASS_CACHE and SYNC_TIME switches (on unless exactly `0`),
//! the ignored `/etc/sysconfig/libvirt-guests`, and START_DELAY between two starts.

mod guests_support;

use std::process::{Child, Stdio};
use std::time::Duration;

use guests_support::{configure, domstate, list_file, lock_file, run, start_persistent};
use integration_tests::tools::virsh_command;
use integration_tests::{wait_until, Daemon};

fn suspend_and_start_config(uri: &str, extra: &str) -> String {
    format!("URIS={uri}\nON_SHUTDOWN=suspend\nON_BOOT=start\n{extra}")
}

#[test]
fn restart_saves_then_resumes_the_guests() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    start_persistent(&daemon, "second", "");
    configure(&daemon, &suspend_and_start_config(&uri, ""));

    let restart = run(&daemon, "restart");
    assert_eq!(restart.code(), Some(0), "{restart}");
    assert_eq!(
        restart.stdout,
        format!(
            "Running guests on {uri} URI: test, second\n\
             Suspending guests on {uri} URI...\n\
             Suspending test: ...\nSuspending test: done\n\
             Suspending second: ...\nSuspending second: done\n\
             Resuming guests on {uri} URI...\n\
             Resuming guest test: done\nResuming guest second: done\n"
        ),
        "{restart}"
    );
    for name in ["test", "second"] {
        assert_eq!(domstate(&daemon, name), "running (booted)");
    }
    assert!(!list_file(&daemon).exists(), "start consumed the list file");
    assert!(lock_file(&daemon).is_file(), "start left the lock file");
}

#[test]
fn try_restart_and_condrestart_act_only_with_the_lock_file() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    configure(&daemon, &suspend_and_start_config(&uri, ""));
    for command in ["try-restart", "condrestart"] {
        let _ = std::fs::remove_file(lock_file(&daemon));
        let idle = run(&daemon, command);
        assert_eq!(
            (idle.code(), idle.stdout.as_str(), idle.stderr.as_str()),
            (Some(0), "", ""),
            "{command} without the lock file"
        );
        assert!(!list_file(&daemon).exists(), "{command} saved guests");
        assert!(!lock_file(&daemon).exists(), "{command} created the lock");

        let started = run(&daemon, "start");
        assert_eq!(started.code(), Some(0), "{started}");
        assert!(lock_file(&daemon).is_file());
        let restarted = run(&daemon, command);
        assert_eq!(restarted.code(), Some(0), "{restarted}");
        assert!(
            restarted.stdout.contains("Suspending test: done\n")
                && restarted.stdout.contains("Resuming guest test: done\n"),
            "{command}: {restarted}"
        );
        assert_eq!(domstate(&daemon, "test"), "running (booted)");
        assert!(lock_file(&daemon).is_file(), "{command} removed the lock");
        assert!(!list_file(&daemon).exists());
    }
}

#[test]
fn force_reload_changes_nothing_even_with_a_broken_file() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    configure(&daemon, &format!("URIS={uri}\nON_BOOT=sometimes\n"));
    let before = domstate(&daemon, "test");
    let out = run(&daemon, "force-reload");
    assert_eq!(
        (out.code(), out.stdout.as_str(), out.stderr.as_str()),
        (Some(0), "", "")
    );
    assert_eq!(domstate(&daemon, "test"), before);
    assert!(!lock_file(&daemon).exists() && !list_file(&daemon).exists());
    // The same file stops the commands that use it.
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(6), "{stop}");
}

#[test]
fn sync_time_is_on_for_any_value_but_zero() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    // The test driver has no guest agent: an attempted sync is reported on stderr.
    for (value, attempted) in [("yes", true), ("", true), ("1", true), ("0", false)] {
        configure(
            &daemon,
            &suspend_and_start_config(&uri, &format!("SYNC_TIME={value}\n")),
        );
        let stop = run(&daemon, "stop");
        assert_eq!(stop.code(), Some(0), "{stop}");
        let start = run(&daemon, "start");
        assert_eq!(start.code(), Some(0), "{start}");
        assert!(
            start.stdout.contains("Resuming guest test: done\n"),
            "{start}"
        );
        assert_eq!(
            start
                .stderr
                .contains("cannot synchronize the clock of test"),
            attempted,
            "SYNC_TIME={value:?}: {start}"
        );
    }
}

#[test]
fn bypass_cache_is_on_for_any_value_but_zero() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    // libvirt's test driver accepts the flag when saving but refuses it when
    // starting, as libvirt 9.0's does: the refusal shows the flag was passed.
    for (value, bypass) in [("yes", true), ("", true), ("on", true), ("0", false)] {
        configure(
            &daemon,
            &suspend_and_start_config(&uri, &format!("BYPASS_CACHE='{value}'\n")),
        );
        let stop = run(&daemon, "stop");
        assert_eq!(stop.code(), Some(0), "BYPASS_CACHE={value:?}: {stop}");
        assert!(stop.stdout.contains("Suspending test: done\n"), "{stop}");
        let start = run(&daemon, "start");
        let refused = start
            .stderr
            .contains("unsupported flags (0x4) in function testDomainCreateWithFlags");
        assert_eq!(refused, bypass, "BYPASS_CACHE={value:?}: {start}");
        assert_eq!(start.code(), Some(if bypass { 1 } else { 0 }), "{start}");
        if bypass {
            integration_tests::virsh(&uri, "start test").expect_success("start by hand");
        }
        assert_eq!(domstate(&daemon, "test"), "running (booted)");
    }
}

#[test]
fn etc_sysconfig_is_ignored_with_a_warning() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    let sysconfig = daemon.root().join("etc/sysconfig/libvirt-guests");
    std::fs::create_dir_all(sysconfig.parent().expect("parent")).expect("mkdir");
    std::fs::write(&sysconfig, "ON_SHUTDOWN=suspend\nSHUTDOWN_TIMEOUT=-1\n").expect("write");
    configure(&daemon, &format!("URIS={uri}\n"));

    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");
    assert!(
        stop.stdout
            .contains(&format!("Shutting down guests on {uri} URI...\n")),
        "the sysconfig ON_SHUTDOWN was used: {stop}"
    );
    assert_eq!(
        stop.stderr,
        format!(
            "warning: ignoring {}: only /etc/default/libvirt-guests is read\n",
            sysconfig.display()
        )
    );
    assert_eq!(domstate(&daemon, "test"), "shut off (shutdown)");
}

/// `virsh event --all --loop --timestamp` writing into a file.
struct TimedEvents {
    child: Child,
    file: tempfile::NamedTempFile,
}

impl TimedEvents {
    fn spawn(uri: &str) -> TimedEvents {
        let file = tempfile::NamedTempFile::new().expect("events file");
        let child = virsh_command()
            .args(["-c", uri, "event", "--all", "--loop", "--timestamp"])
            .stdin(Stdio::null())
            .stdout(file.reopen().expect("reopen"))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn virsh event");
        TimedEvents { child, file }
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.file.path())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Seconds since midnight of the first event line containing `needle`.
    fn time_of(&self, needle: &str) -> Option<f64> {
        let line = self.lines().into_iter().find(|l| l.contains(needle))?;
        // "YYYY-MM-DD HH:MM:SS.mmm+0000: event ..."
        let clock = line.split(' ').nth(1)?.get(..12)?;
        let mut parts = clock.split(':');
        let h: f64 = parts.next()?.parse().ok()?;
        let m: f64 = parts.next()?.parse().ok()?;
        let s: f64 = parts.next()?.parse().ok()?;
        Some(h * 3600.0 + m * 60.0 + s)
    }
}

impl Drop for TimedEvents {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn start_delay_separates_the_starts() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    start_persistent(&daemon, "second", "");
    configure(
        &daemon,
        &suspend_and_start_config(&uri, "START_DELAY=1.5\n"),
    );
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");

    let events = TimedEvents::spawn(&uri);
    // The listener is registered once it reports a change made after it started.
    let sentinel = integration_tests::data_file("sentinel.xml");
    let registered = wait_until(Duration::from_secs(30), || {
        integration_tests::virsh(&uri, &format!("define {}", sentinel.display()));
        events
            .lines()
            .iter()
            .any(|l| l.contains("domain 'sentinel'"))
    });
    assert!(registered, "virsh event saw nothing: {:?}", events.lines());

    let start = run(&daemon, "start");
    assert_eq!(start.code(), Some(0), "{start}");
    assert_eq!(
        start.stdout,
        format!(
            "Resuming guests on {uri} URI...\nResuming guest test: done\nResuming guest second: done\n"
        )
    );
    let seen = wait_until(Duration::from_secs(30), || {
        events.time_of("domain 'second': Started").is_some()
    });
    assert!(seen, "{:?}", events.lines());
    let first = events
        .time_of("domain 'test': Started")
        .expect("test started");
    let second = events
        .time_of("domain 'second': Started")
        .expect("second started");
    // One start after the other, in list order, the delay in between: the sleep is a
    // lower bound (one millisecond of rounding in the printed times).
    assert!(
        second - first >= 1.499,
        "starts {first} and {second} are less than START_DELAY apart: {:?}",
        events.lines()
    );
}
