//! Limits under pressure (part of the remote access work, next to TLS):
//! `max_clients` makes new connections wait in the listen queue,
//! `auth_timeout` keeps idle unauthenticated connections from locking
//! everyone out, and keepalive is answered while a client's request slots
//! are full.

use std::time::{Duration, Instant};

use integration_tests::raw::RawError;
use integration_tests::{virsh, wait_until, DaemonBuilder, RawClient};
use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::{keepalive, remote_proc, KEEPALIVE_PROGRAM, REMOTE_PROGRAM};

fn lib_version(client: &mut RawClient) {
    client
        .remote(remote_proc::CONNECT_GET_LIB_VERSION, &[])
        .expect_ok("CONNECT_GET_LIB_VERSION");
}

#[test]
fn a_sixth_client_waits_for_a_free_slot_under_max_clients_5() {
    let daemon = DaemonBuilder::new().conf("max_clients = 5").start();
    let mut first: Vec<RawClient> = (0..5)
        .map(|_| {
            let mut c = RawClient::unix(&daemon.rw_socket());
            c.open("test:///default", 0);
            c
        })
        .collect();
    // The sixth connects (listen queue) but is not served while five are in.
    let mut sixth = RawClient::unix(&daemon.rw_socket());
    let serial = sixth
        .send_call(REMOTE_PROGRAM, remote_proc::AUTH_LIST, &[])
        .expect("send AUTH_LIST");
    match sixth.next_message(Duration::from_secs(1)) {
        Err(RawError::Timeout(_)) => {}
        other => panic!("the sixth client must wait, got {other:?}"),
    }
    for client in &mut first {
        lib_version(client);
    }
    // One leaves: the sixth is served at once, the other four go on.
    drop(first.remove(0));
    sixth
        .wait_reply(serial)
        .expect("AUTH_LIST reply")
        .expect_ok("AUTH_LIST");
    for client in &mut first {
        lib_version(client);
    }
}

#[test]
fn idle_connections_that_never_authenticate_do_not_lock_out_virsh() {
    const AUTH_TIMEOUT: u64 = 2;
    // Root on the rw socket (polkit) is unauthenticated until AUTH_LIST, so
    // these count against max_anonymous_clients (20).
    let daemon = DaemonBuilder::new()
        .conf(format!("auth_timeout = {AUTH_TIMEOUT}"))
        .start();
    let idle: Vec<RawClient> = (0..30)
        .map(|_| RawClient::unix(&daemon.rw_socket()))
        .collect();
    let started = Instant::now();
    let out = virsh(&daemon.rw_uri(), "list --all");
    let took = started.elapsed();
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains(" test "), "{out}");
    assert!(
        took < Duration::from_secs(AUTH_TIMEOUT + 1),
        "virsh took {took:?} with 30 idle connections"
    );
    // Each idle client leaves either at auth_timeout or earlier, closed to
    // make room for a newer client under max_anonymous_clients.
    let all_dropped = wait_until(Duration::from_secs(AUTH_TIMEOUT + 20), || {
        let log = daemon.log();
        log.matches("not authenticated within auth_timeout").count()
            + log
                .matches("closing the longest silent unauthenticated client")
                .count()
            >= idle.len()
    });
    assert!(
        all_dropped,
        "idle clients should have been dropped:\n{}",
        daemon.log()
    );
    drop(idle);
}

#[test]
fn keepalive_is_answered_while_request_slots_are_full() {
    // The test driver has no slow call, so the slots are filled with many
    // pipelined calls instead: 60 calls with max_client_requests = 1 and a
    // single worker, followed by a PING.
    let daemon = DaemonBuilder::new()
        .conf("max_client_requests = 1")
        .conf("max_workers = 1")
        .conf("min_workers = 1")
        .start();
    let mut client = RawClient::unix(&daemon.rw_socket());
    client.open("test:///default", 0);
    let mut serials = Vec::new();
    for _ in 0..60 {
        serials.push(
            client
                .send_call(REMOTE_PROGRAM, remote_proc::CONNECT_GET_LIB_VERSION, &[])
                .expect("send call"),
        );
    }
    let ping = encode_message(
        &Header::new(KEEPALIVE_PROGRAM, keepalive::PING, MessageType::Message, 0),
        &[],
    );
    client.send_bytes(&ping).expect("send PING");
    let mut pong = false;
    let mut replies = 0;
    while !(pong && replies == serials.len()) {
        let message = client
            .next_message(Duration::from_secs(15))
            .expect("message")
            .expect("connection stays open");
        let h = message.header;
        if h.prog == KEEPALIVE_PROGRAM && h.proc_ == keepalive::PONG {
            pong = true;
        } else if h.mtype == MessageType::Reply as u32 {
            assert_eq!(h.serial, serials[replies], "replies come in call order");
            replies += 1;
        }
    }
    lib_version(&mut client);
}
