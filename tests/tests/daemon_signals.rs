//! The running daemon: orderly shutdown on SIGTERM, reload on SIGHUP
//! without dropping clients, idle timeout, and detaching with `-d`.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use integration_tests::compare::assert_virsh_matches_reference;
use integration_tests::{data_file, virsh, wait_until, Daemon, EventListener};

const EXIT_TIMEOUT: Duration = Duration::from_secs(40);
const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn sigterm_exits_0_and_removes_sockets_and_pid_file() {
    let mut daemon = Daemon::start();
    let paths = [
        daemon.rw_socket(),
        daemon.ro_socket(),
        daemon.admin_socket(),
        daemon.pid_file(),
    ];
    for path in &paths {
        assert!(path.exists(), "{} missing while running", path.display());
    }
    daemon.signal(libc::SIGTERM);
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", daemon.diagnostics());
    for path in &paths {
        assert!(
            !path.exists(),
            "{} left behind after SIGTERM",
            path.display()
        );
    }
}

#[test]
fn sigterm_with_a_connected_client_still_exits_0() {
    let mut daemon = Daemon::start();
    let mut listener = EventListener::spawn(&daemon.rw_uri());
    listener.wait_registered(&daemon.rw_uri(), EVENT_TIMEOUT);
    daemon.signal(libc::SIGTERM);
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", daemon.diagnostics());
}

/// Waits until the daemon has logged that it handled a SIGHUP (its log
/// says "reload" either way); there is no other outside sign of it.
fn wait_for_reload_logged(daemon: &Daemon, log_before: usize) {
    let handled = wait_until(Duration::from_secs(15), || {
        let log = daemon.log();
        log.get(log_before..)
            .is_some_and(|new| new.to_lowercase().contains("reload"))
    });
    assert!(
        handled,
        "no reload logged after SIGHUP\n{}",
        daemon.diagnostics()
    );
}

/// Defines, starts and destroys 'itest' and checks that the listener
/// still receives the events.
fn assert_events_still_flow(daemon: &Daemon, listener: &mut EventListener) {
    let define = format!("define {}", data_file("domain.xml").display());
    virsh(
        &daemon.rw_uri(),
        &format!("{define}; start itest; destroy itest"),
    )
    .expect_success("lifecycle");
    let seen = listener.wait_for_line(EVENT_TIMEOUT, |l| {
        l == "event 'lifecycle' for domain 'itest': Stopped Destroyed"
    });
    assert!(
        seen.is_some(),
        "events stopped after SIGHUP\n{}",
        listener.finish()
    );
    assert!(
        listener.is_alive(),
        "virsh event exited\n{}",
        listener.finish()
    );
}

#[test]
fn sighup_with_a_changed_valid_config_keeps_clients() {
    let mut daemon = Daemon::builder().conf("max_clients = 4000").start();
    let mut listener = EventListener::spawn(&daemon.rw_uri());
    listener.wait_registered(&daemon.rw_uri(), EVENT_TIMEOUT);
    let conf = std::fs::read_to_string(daemon.conf_file()).expect("read config");
    daemon.rewrite_conf(&conf.replace("max_clients = 4000", "max_clients = 3000"));
    let log_before = daemon.log().len();
    daemon.signal(libc::SIGHUP);
    wait_for_reload_logged(&daemon, log_before);
    assert!(daemon.is_running(), "daemon exited on SIGHUP");
    assert_events_still_flow(&daemon, &mut listener);
    // New clients are served too (the domain list changed above, so only
    // commands about the untouched default domain are compared).
    assert_virsh_matches_reference(&daemon.rw_uri(), "dominfo test; hostname");
}

#[test]
fn sighup_with_a_broken_config_keeps_running() {
    let mut daemon = Daemon::start();
    let mut listener = EventListener::spawn(&daemon.rw_uri());
    listener.wait_registered(&daemon.rw_uri(), EVENT_TIMEOUT);
    let conf = std::fs::read_to_string(daemon.conf_file()).expect("read config");
    daemon.rewrite_conf(&format!("listen_tls = \"yes\"\n{conf}"));
    let log_before = daemon.log().len();
    daemon.signal(libc::SIGHUP);
    wait_for_reload_logged(&daemon, log_before);
    assert!(
        daemon.is_running(),
        "daemon exited on SIGHUP with a broken config"
    );
    assert_events_still_flow(&daemon, &mut listener);
}

#[test]
fn sighup_applies_new_log_outputs() {
    // Beyond libvirtd 9.0 (which only reloads drivers): log settings are
    // reloaded too.
    let daemon = Daemon::start();
    let second_log = daemon.root().join("log-after-reload");
    let conf = std::fs::read_to_string(daemon.conf_file()).expect("read config");
    let new_output = format!("log_outputs = \"1:file:{}\"\n", second_log.display());
    daemon.rewrite_conf(&format!("{new_output}{conf}"));
    daemon.signal(libc::SIGHUP);
    let written = wait_until(Duration::from_secs(15), || {
        virsh(&daemon.rw_uri(), "hostname");
        std::fs::metadata(&second_log).is_ok_and(|m| m.len() > 0)
    });
    assert!(
        written,
        "{} not written after SIGHUP\n{}",
        second_log.display(),
        daemon.diagnostics()
    );
}

#[test]
fn idle_timeout_exits_0_without_clients() {
    let mut daemon = Daemon::builder().arg("-t").arg("2").start();
    let status = daemon.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", daemon.diagnostics());
}

#[test]
fn idle_timeout_waits_for_connected_clients() {
    let mut daemon = Daemon::builder().arg("-t").arg("2").start();
    let mut listener = EventListener::spawn(&daemon.rw_uri());
    listener.wait_registered(&daemon.rw_uri(), EVENT_TIMEOUT);
    // More than twice the timeout with a client connected: it must stay.
    let exited = wait_until(Duration::from_secs(5), || daemon.poll_exit().is_some());
    assert!(
        !exited,
        "exited with a client connected\n{}",
        daemon.diagnostics()
    );
    drop(listener);
    let status = daemon.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", daemon.diagnostics());
}

#[test]
fn daemon_option_detaches_and_keeps_serving() {
    let mut daemon = Daemon::builder().arg("-d").spawn();
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert_eq!(
        status.code(),
        Some(0),
        "parent of -d:\n{}",
        daemon.diagnostics()
    );
    let pid = daemon.pid_from_file().unwrap_or_else(|| {
        panic!(
            "no pid in {}\n{}",
            daemon.pid_file().display(),
            daemon.diagnostics()
        )
    });
    assert_ne!(pid, daemon.pid(), "the pid file names the parent");
    assert!(
        daemon.owns_process(pid),
        "pid {pid} from the pid file is not running"
    );
    // The parent only exits once the daemon is ready, so no waiting here.
    assert!(
        UnixStream::connect(daemon.rw_socket()).is_ok(),
        "socket not accepting"
    );
    assert_virsh_matches_reference(&daemon.rw_uri(), "list --all");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    );
    let gone = wait_until(EXIT_TIMEOUT, || !daemon.owns_process(pid));
    assert!(gone, "detached daemon ignored SIGTERM");
    assert!(!daemon.pid_file().exists(), "pid file left behind");
}

/// A client going away mid-write must not kill the daemon: SIGPIPE is ignored
/// (by the Rust runtime, before main), so writes fail with EPIPE instead.
#[test]
fn sigpipe_is_ignored() {
    let daemon = Daemon::start();
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid()))
        .expect("the daemon's status");
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .expect("a SigIgn line");
    assert_ne!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SigIgn {ignored:x}"
    );
}
