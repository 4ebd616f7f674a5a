//! virt-admin's setters take effect on the running daemon, and invalid
//! requests get libvirt's errors.

mod admin_support;

use std::time::Duration;

use admin_support::{admin, client_id_of_pid, clients_of, fields, VirshSession, SETTLE};
use integration_tests::raw::RawError;
use integration_tests::{wait_until, Daemon, RawClient};
use protocol::programs::{remote_proc, REMOTE_PROGRAM};

#[test]
fn threadpool_set_changes_what_threadpool_info_shows() {
    let daemon = Daemon::start();
    admin(
        &daemon,
        "srv-threadpool-set libvirtd --min-workers 8 --max-workers 30 --priority-workers 2",
    )
    .expect_success("threadpool set");
    let out = admin(&daemon, "srv-threadpool-info libvirtd").expect_success("threadpool info");
    // Raising the minimum starts workers at once.
    assert_eq!(
        out.stdout,
        "minWorkers     : 8\nmaxWorkers     : 30\nnWorkers       : 8\nfreeWorkers    : 8\n\
         prioWorkers    : 2\njobQueueDepth  : 0\n\n"
    );
    admin(
        &daemon,
        "srv-threadpool-set libvirtd --min-workers 1 --max-workers 4",
    )
    .expect_success("shrink");
    let out = admin(&daemon, "srv-threadpool-info libvirtd").expect_success("threadpool info");
    // Idle workers above the new maximum leave.
    assert_eq!(
        fields(&out.stdout)[..3],
        [
            ("minWorkers".to_string(), "1".to_string()),
            ("maxWorkers".to_string(), "4".to_string()),
            ("nWorkers".to_string(), "4".to_string()),
        ]
    );
}

#[test]
fn max_workers_below_min_workers_is_refused() {
    let daemon = Daemon::start();
    let out = admin(&daemon, "srv-threadpool-set libvirtd --max-workers 2");
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr,
        "error: Unable to change server workerpool parameters\n\
         error: invalid argument: minWorkers cannot be larger than maxWorkers\n"
    );
    let info = admin(&daemon, "srv-threadpool-info libvirtd").expect_success("unchanged");
    assert!(info
        .stdout
        .starts_with("minWorkers     : 5\nmaxWorkers     : 20\n"));
}

#[test]
fn max_clients_makes_further_clients_wait() {
    let daemon = Daemon::start();
    assert!(
        wait_until(SETTLE, || clients_of(&daemon, "libvirtd").is_empty()),
        "readiness probes still connected"
    );
    admin(
        &daemon,
        "srv-clients-set libvirtd --max-clients 2 --max-unauth-clients 2",
    )
    .expect_success("clients set");
    let mut first = RawClient::unix(&daemon.rw_socket());
    first
        .remote(remote_proc::AUTH_LIST, &[])
        .expect_ok("first client");
    let mut second = RawClient::unix(&daemon.rw_socket());
    second
        .remote(remote_proc::AUTH_LIST, &[])
        .expect_ok("second client");

    // The third connection is queued by the kernel, not accepted.
    let mut third = RawClient::unix(&daemon.rw_socket());
    let serial = third
        .send_call(REMOTE_PROGRAM, remote_proc::AUTH_LIST, &[])
        .expect("send");
    match third.next_message(Duration::from_millis(1500)) {
        Err(RawError::Timeout(_)) => {}
        other => panic!("third client was served while the server is full: {other:?}"),
    }
    let info = admin(&daemon, "srv-clients-info libvirtd").expect_success("clients info");
    assert_eq!(
        fields(&info.stdout),
        [
            ("nclients_max".to_string(), "2".to_string()),
            ("nclients".to_string(), "2".to_string()),
            ("nclients_unauth_max".to_string(), "2".to_string()),
            ("nclients_unauth".to_string(), "0".to_string()),
        ]
    );

    drop(first);
    third
        .wait_reply(serial)
        .expect("third client served once a slot is free");
}

#[test]
fn client_limits_are_validated_like_libvirt() {
    let daemon = Daemon::start();
    // nclients_unauth_max is 20: an overall maximum of 10 is below it.
    let out = admin(&daemon, "srv-clients-set libvirtd --max-clients 10");
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr,
        "error: Unable to change server's client-related configuration limits\n\
         error: invalid argument: The overall maximum number of clients must not be less than \
         the number of clients waiting for authentication\n"
    );
    // Negative numbers never reach the daemon: virt-admin refuses them.
    let out = admin(&daemon, "srv-clients-set libvirtd --max-clients -1");
    assert_eq!(out.code(), Some(1));
    assert!(out
        .stderr
        .contains("Unable to parse integer parameter 'max-clients'"));
}

#[test]
fn client_disconnect_closes_the_virsh_session() {
    let daemon = Daemon::start();
    let mut session = VirshSession::start(&daemon.rw_uri(), daemon.root());
    let id = client_id_of_pid(&daemon, session.pid());
    let out = admin(&daemon, &format!("client-disconnect libvirtd {id}"))
        .expect_success("client-disconnect");
    assert_eq!(out.stdout, format!("Client '{id}' disconnected\n"));
    assert!(
        wait_until(SETTLE, || session.stderr().contains("due to end of file")),
        "virsh did not notice the disconnection: {}",
        session.stderr()
    );
    assert!(session.stderr().contains(&format!(
        "error: Disconnected from {} due to end of file",
        daemon.rw_uri()
    )));
    assert!(clients_of(&daemon, "libvirtd")
        .iter()
        .all(|row| row.id != id));
    session.send("quit");
}

#[test]
fn unknown_server_and_client_get_libvirts_errors() {
    let daemon = Daemon::start();
    let out = admin(&daemon, "srv-threadpool-info nosuchserver");
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr,
        "error: Server not found: No server named 'nosuchserver'\n"
    );
    let out = admin(&daemon, "client-info libvirtd 4242");
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr,
        "error: Client not found: No client with matching ID '4242'\n"
    );
    let out = admin(&daemon, "client-disconnect admin 4242");
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr,
        "error: Client not found: No client with matching ID '4242'\n"
    );
}

#[test]
fn a_new_log_filter_changes_what_the_log_file_gets() {
    let daemon = Daemon::start();
    let connect_line = "client connected";
    // The harness logs at debug level: every connection is logged.
    admin(&daemon, "srv-list").expect_success("srv-list");
    assert!(wait_until(SETTLE, || daemon.log().contains(connect_line)));

    // Only warnings and errors of the rpc category (sessions) from now on.
    admin(&daemon, "daemon-log-filters --filters '4:rpc'").expect_success("set filters");
    let out = admin(&daemon, "daemon-log-filters").expect_success("get filters");
    assert_eq!(out.stdout, " Logging filters: 4:*rpc* \n\n");
    let marked = daemon.log().len();
    for _ in 0..3 {
        admin(&daemon, "srv-list").expect_success("srv-list");
    }
    // A later, unfiltered message proves the log is still being written.
    admin(&daemon, "daemon-log-filters --filters ''").expect_success("clear filters");
    assert!(wait_until(SETTLE, || daemon.log()[marked..]
        .contains("log filters changed")));
    let filtered = daemon.log()[marked..].to_string();
    let cleared_at = filtered
        .find("log filters changed")
        .unwrap_or(filtered.len());
    assert!(
        !filtered[..cleared_at].contains(connect_line),
        "filtered debug messages reached the log:\n{filtered}"
    );
    let out = admin(&daemon, "daemon-log-filters").expect_success("get filters");
    assert_eq!(out.stdout, " Logging filters: \n\n");
}

#[test]
fn log_outputs_can_be_redirected_and_bad_ones_are_refused() {
    let daemon = Daemon::start();
    let other = daemon.root().join("other.log");
    admin(
        &daemon,
        &format!("daemon-log-outputs --outputs '1:file:{}'", other.display()),
    )
    .expect_success("set outputs");
    admin(&daemon, "srv-list").expect_success("srv-list");
    assert!(wait_until(SETTLE, || {
        std::fs::read_to_string(&other)
            .unwrap_or_default()
            .contains("client connected")
    }));
    let out = admin(&daemon, "daemon-log-outputs").expect_success("get outputs");
    assert_eq!(
        out.stdout,
        format!(" Logging outputs: 1:file:{}\n\n", other.display())
    );
    let out = admin(&daemon, "daemon-log-outputs --outputs bogus");
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr,
        "error: Unable to change daemon logging settings\n\
         error: invalid argument: Malformed format for log output 'bogus'\n"
    );
}
