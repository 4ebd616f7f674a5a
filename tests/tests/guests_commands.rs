//! libvirt-guests commands and variables against the test driver: `restart`,
//! `try-restart` and `condrestart` (which act only while the lock file exists),
//! `force-reload`, the BYPASS_CACHE and SYNC_TIME switches (on unless exactly `0`),
//! the ignored `/etc/sysconfig/libvirt-guests`, and the pause START_DELAY makes
//! between two starts (seen as the program sleeping before the second one).

mod guests_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use guests_support::{
    configure, domstate, guests_bin, list_file, lock_file, run, start_persistent,
};
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

/// The number of the system call the main thread of `pid` is blocked in.
fn blocked_in(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// `nanosleep` and `clock_nanosleep`.
#[cfg(target_arch = "x86_64")]
const SLEEP_CALLS: [u64; 2] = [35, 230];
#[cfg(target_arch = "aarch64")]
const SLEEP_CALLS: [u64; 2] = [101, 115];

#[test]
fn start_delay_pauses_between_two_starts() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    start_persistent(&daemon, "second", "");
    // Long enough never to run out while the test looks.
    configure(
        &daemon,
        &suspend_and_start_config(&uri, "START_DELAY=3600\n"),
    );
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");

    let out = tempfile::NamedTempFile::new().expect("output file");
    let mut start = Command::new(guests_bin())
        .arg("start")
        .env("LIBVIRTD_ROOT", daemon.root())
        .env("LC_ALL", "C")
        .env_remove("LIBVIRT_DEFAULT_URI")
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("reopen"))
        .spawn()
        .expect("spawn libvirt-guests start");
    let printed = || std::fs::read_to_string(out.path()).unwrap_or_default();
    // The first guest is started at once; before the second the program sleeps.
    let pausing = wait_until(Duration::from_secs(30), || {
        printed().ends_with("Resuming guest test: done\nResuming guest second: ")
            && blocked_in(start.id()).is_some_and(|call| SLEEP_CALLS.contains(&call))
    });
    let seen = printed();
    let _ = start.kill();
    let _ = start.wait();
    assert!(
        pausing,
        "no pause before the second start: {seen:?}, in system call {:?}",
        blocked_in(start.id())
    );
    assert_eq!(domstate(&daemon, "test"), "running (booted)");
    assert_eq!(domstate(&daemon, "second"), "shut off (saved)");
}
