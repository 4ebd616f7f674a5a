//! The daemon's life controlled through the admin server: the idle timeout
//! set live, shutdown (the procedure of libvirt 11.2's `virt-admin
//! daemon-shutdown`, sent by hand because virt-admin 9.0 lacks it), and the
//! TLS reload refused when there is no TLS service.

mod admin_support;

use std::time::{Duration, Instant};

use admin_support::{admin, admin_call, raw_admin, SETTLE};
use integration_tests::raw::encode;
use integration_tests::{virsh, wait_until, Daemon};
use protocol::admin::ConnectSetDaemonTimeoutArgs;
use protocol::programs::admin_proc;

/// Procedure number and flag of `virAdmConnectDaemonShutdown` (libvirt 11.2).
const CONNECT_DAEMON_SHUTDOWN: i32 = 20;
const DAEMON_SHUTDOWN_PRESERVE: u32 = 1;

#[test]
fn daemon_timeout_makes_an_idle_daemon_exit() {
    let mut daemon = Daemon::start();
    admin(&daemon, "daemon-timeout --timeout 2").expect_success("daemon-timeout");
    let set_at = Instant::now();
    let status = daemon.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit status {status}\n{}", daemon.log());
    assert!(
        set_at.elapsed() >= Duration::from_millis(1500),
        "exited {:?} after the timeout was set",
        set_at.elapsed()
    );
    assert!(daemon.log().contains("IdleTimeout"), "{}", daemon.log());
}

#[test]
fn daemon_timeout_zero_keeps_the_daemon_running() {
    let mut daemon = Daemon::builder().arg("--timeout").arg("2").start();
    // Disable the command line timeout from inside, while connected.
    let mut client = raw_admin(&daemon);
    let args = encode(&ConnectSetDaemonTimeoutArgs {
        timeout: 0,
        flags: 0,
    });
    admin_call(&mut client, admin_proc::CONNECT_SET_DAEMON_TIMEOUT, &args).expect_ok("timeout 0");
    drop(client);
    // Well past the original timeout, the daemon still runs and answers.
    let exited = wait_until(Duration::from_secs(4), || !daemon.is_running());
    assert!(!exited, "daemon exited despite timeout 0\n{}", daemon.log());
    admin(&daemon, "srv-list").expect_success("still served");
}

#[test]
fn daemon_shutdown_preserve_replies_then_exits_cleanly() {
    let mut daemon = Daemon::start();
    // The test driver's default guest "test" is running when the daemon
    // goes away; guests of real drivers are processes that outlive it.
    let listed = virsh(&daemon.rw_uri(), "domstate test").expect_success("virsh");
    assert_eq!(listed.stdout, "running\n\n");
    let mut client = raw_admin(&daemon);
    let body = encode(&DAEMON_SHUTDOWN_PRESERVE);
    admin_call(&mut client, CONNECT_DAEMON_SHUTDOWN, &body).expect_ok("daemon shutdown");
    let status = daemon.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit status {status}");
    assert!(
        daemon
            .log()
            .contains("shutdown requested by the administrator preserve=true"),
        "{}",
        daemon.log()
    );
    assert!(
        !daemon.admin_socket().exists(),
        "the admin socket was left behind"
    );
}

#[test]
fn daemon_shutdown_refuses_unknown_flags() {
    let mut daemon = Daemon::start();
    let mut client = raw_admin(&daemon);
    let err = admin_call(&mut client, CONNECT_DAEMON_SHUTDOWN, &encode(&2u32))
        .expect_err("flag 2 is not defined");
    assert_eq!((err.code, err.domain), (8, 62));
    assert_eq!(
        err.message.as_deref(),
        Some("invalid argument: unsupported flags (0x2) in function adminConnectDaemonShutdown")
    );
    assert!(daemon.is_running());
    // Without flags it shuts down as well.
    admin_call(&mut client, CONNECT_DAEMON_SHUTDOWN, &encode(&0u32)).expect_ok("shutdown");
    assert!(wait_until(SETTLE, || !daemon.is_running()));
}

#[test]
fn server_update_tls_without_a_tls_service_is_refused() {
    let daemon = Daemon::start();
    let out = admin(&daemon, "server-update-tls libvirtd");
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr,
        "error: Unable to update server's tls related files.\n\
         error: internal error: no tls service found, unable to update tls files\n"
    );
    let out = admin(&daemon, "server-update-tls admin");
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr.contains("no tls service found"), "{out}");
}
