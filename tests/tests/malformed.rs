//! Malformed and hostile input: the daemon answers what libvirtd answers,
//! hangs up where libvirtd hangs up, and keeps serving everybody else.

use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

use integration_tests::compare::assert_virsh_matches_reference;
use integration_tests::daemon::raise_own_nofile_limit;
use integration_tests::raw::encode;
use integration_tests::{Daemon, RawClient, Reply};
use protocol::frame::{encode_message, MAX_MESSAGE_LEN};
use protocol::header::{Header, MessageType};
use protocol::programs::{remote_proc, REMOTE_PROGRAM};
use protocol::xdr::{put_u32, STRING_MAX};

const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
const HALF_OPEN_CONNECTIONS: usize = 1000;

/// The daemon still runs and a fresh virsh gets the reference answer.
fn assert_still_serving(daemon: &mut Daemon) {
    assert!(daemon.is_running(), "libvirtd died");
    assert_virsh_matches_reference(&daemon.rw_uri(), "list --all");
}

/// Sends `bytes` on a fresh connection and expects the server to hang up
/// without sending anything.
fn expect_silent_close(daemon: &Daemon, bytes: &[u8], what: &str) {
    let mut client = RawClient::unix(&daemon.rw_socket());
    client
        .send_bytes(bytes)
        .unwrap_or_else(|e| panic!("{what}: send: {e}"));
    match client.wait_for_close(CLOSE_TIMEOUT) {
        Ok(received) => assert!(received.is_empty(), "{what}: got a reply: {received:?}"),
        Err(e) => panic!("{what}: connection not closed: {e}"),
    }
}

fn bad_length_words(daemon: &Daemon) {
    for len in [0u32, 3, 27] {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend([0u8; 24]);
        expect_silent_close(daemon, &bytes, &format!("length word {len}"));
    }
    for len in [
        MAX_MESSAGE_LEN as u32 + 1,
        MAX_MESSAGE_LEN as u32 + 4,
        u32::MAX,
    ] {
        expect_silent_close(daemon, &len.to_be_bytes(), &format!("length word {len}"));
    }
}

fn truncated_header_then_close(daemon: &Daemon) {
    let mut client = RawClient::unix(&daemon.rw_socket());
    let whole = encode_message(
        &Header::new(REMOTE_PROGRAM, remote_proc::AUTH_LIST, MessageType::Call, 0),
        &[],
    );
    client
        .send_bytes(&whole[..14])
        .expect("send a truncated header");
    client.shutdown_write().expect("close our side");
    let received = client
        .wait_for_close(CLOSE_TIMEOUT)
        .expect("server closes after our EOF");
    assert!(
        received.is_empty(),
        "reply to a truncated message: {received:?}"
    );
}

fn unknown_program_then_normal_use(daemon: &Daemon) {
    let mut client = RawClient::unix(&daemon.rw_socket());
    let error = client
        .call(0x1234_5678, 1, &[])
        .expect_err("unknown program");
    assert_eq!((error.code, error.domain), (39, 7), "{error:?}");
    assert_eq!(
        error.message.as_deref(),
        Some("Cannot find program 305419896 version 1")
    );

    let mut header = Header::new(
        REMOTE_PROGRAM,
        remote_proc::AUTH_LIST,
        MessageType::Call,
        77,
    );
    header.vers = 2;
    client
        .send_bytes(&encode_message(&header, &[]))
        .expect("send wrong version");
    let error = client
        .wait_reply(77)
        .expect("reply to wrong version")
        .expect_err("wrong version");
    assert_eq!((error.code, error.domain), (39, 7), "{error:?}");
    assert_eq!(
        error.message.as_deref(),
        Some("Cannot find program 536903814 version 2")
    );

    client.open("test:///default", 0);
    let error = client.remote(444, &[]).expect_err("procedure 444");
    assert_eq!(error.message.as_deref(), Some("unknown procedure: 444"));
    client
        .remote(remote_proc::CONNECT_GET_HOSTNAME, &[])
        .expect_ok("GET_HOSTNAME on the same connection");
}

/// Either an error reply or a hang-up is acceptable; a success or silence is not.
fn expect_error_or_close(client: &mut RawClient, serial: u32, what: &str) {
    match client.wait_reply(serial) {
        Ok(Reply::Err(e)) => assert_eq!(e.code, 39, "{what}: {e:?}"),
        Ok(Reply::Ok(body)) => panic!("{what}: accepted ({} bytes)", body.len()),
        Err(integration_tests::raw::RawError::Closed) => {}
        Err(e) => panic!("{what}: neither an error nor a clean close: {e}"),
    }
}

fn oversized_strings_in_connect_open(daemon: &Daemon) {
    let mut client = RawClient::unix(&daemon.rw_socket());
    client
        .remote(remote_proc::AUTH_LIST, &[])
        .expect_ok("AUTH_LIST");
    let mut args = encode(&Some("a".repeat(STRING_MAX + 1)));
    put_u32(&mut args, 0);
    // The server may hang up before it has read everything: a failed
    // write is then the clean close we accept.
    match client.send_call(REMOTE_PROGRAM, remote_proc::CONNECT_OPEN, &args) {
        Ok(serial) => {
            expect_error_or_close(&mut client, serial, "CONNECT_OPEN with a 4 MiB + 1 name")
        }
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "sending the oversized call failed: {e}"
        ),
    }

    // A length word promising far more than the message holds.
    let mut client = RawClient::unix(&daemon.rw_socket());
    client
        .remote(remote_proc::AUTH_LIST, &[])
        .expect_ok("AUTH_LIST");
    let mut args = Vec::new();
    put_u32(&mut args, 1);
    put_u32(&mut args, 0xffff_fff0);
    args.extend(b"test");
    let serial = client
        .send_call(REMOTE_PROGRAM, remote_proc::CONNECT_OPEN, &args)
        .expect("send");
    expect_error_or_close(
        &mut client,
        serial,
        "CONNECT_OPEN with a lying string length",
    );
}

fn garbage_after_auth_list(daemon: &Daemon) {
    let mut client = RawClient::unix(&daemon.rw_socket());
    let mut bytes = encode_message(
        &Header::new(REMOTE_PROGRAM, remote_proc::AUTH_LIST, MessageType::Call, 0),
        &[],
    );
    bytes.extend([0xffu8; 100]);
    client
        .send_bytes(&bytes)
        .expect("send AUTH_LIST and garbage");
    let received = client
        .wait_for_close(CLOSE_TIMEOUT)
        .expect("garbage length word closes the connection");
    assert!(
        received.len() <= 1,
        "more than the AUTH_LIST reply: {received:?}"
    );
}

fn many_half_open_connections(daemon: &mut Daemon) {
    raise_own_nofile_limit(4096);
    let socket = daemon.rw_socket();
    let (sender, receiver) = mpsc::channel();
    // Connecting blocks while the listen backlog is full, so it runs in a
    // thread and the test fails instead of hanging if the daemon stalls.
    std::thread::spawn(move || {
        let connections: Result<Vec<UnixStream>, _> = (0..HALF_OPEN_CONNECTIONS)
            .map(|_| UnixStream::connect(&socket))
            .collect();
        let _ = sender.send(connections);
    });
    let connections = receiver
        .recv_timeout(Duration::from_secs(120))
        .expect("1000 connections not accepted within 120 s")
        .expect("connect");
    assert_eq!(connections.len(), HALF_OPEN_CONNECTIONS);
    assert_virsh_matches_reference(&daemon.rw_uri(), "list --all");
    drop(connections);
    assert_still_serving(daemon);
}

fn roomy_daemon() -> Daemon {
    Daemon::builder()
        .conf("max_anonymous_clients = 2000")
        .conf("max_clients = 5000")
        .nofile(4096)
        .start()
}

#[test]
fn bad_length_words_close_the_connection_without_reply() {
    let mut daemon = Daemon::start();
    bad_length_words(&daemon);
    assert_still_serving(&mut daemon);
}

#[test]
fn truncated_header_then_close_is_harmless() {
    let mut daemon = Daemon::start();
    truncated_header_then_close(&daemon);
    assert_still_serving(&mut daemon);
}

#[test]
fn unknown_program_gets_error_39_and_connection_stays_usable() {
    let mut daemon = Daemon::start();
    unknown_program_then_normal_use(&daemon);
    assert_still_serving(&mut daemon);
}

#[test]
fn oversized_string_gets_error_or_clean_close() {
    let mut daemon = Daemon::start();
    oversized_strings_in_connect_open(&daemon);
    assert_still_serving(&mut daemon);
}

#[test]
fn garbage_after_auth_list_closes_only_that_connection() {
    let mut daemon = Daemon::start();
    garbage_after_auth_list(&daemon);
    assert_still_serving(&mut daemon);
}

#[test]
fn thousand_half_open_connections_do_not_block_others() {
    let mut daemon = roomy_daemon();
    many_half_open_connections(&mut daemon);
}

#[test]
fn daemon_survives_all_of_it_in_a_row() {
    let mut daemon = roomy_daemon();
    bad_length_words(&daemon);
    truncated_header_then_close(&daemon);
    unknown_program_then_normal_use(&daemon);
    oversized_strings_in_connect_open(&daemon);
    garbage_after_auth_list(&daemon);
    many_half_open_connections(&mut daemon);
    assert_still_serving(&mut daemon);
}
