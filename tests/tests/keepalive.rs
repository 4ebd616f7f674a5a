//! Keepalive: an idle virsh (which answers PINGs) stays connected; a peer
//! that asked for keepalive and then stays silent is dropped after
//! keepalive_interval * (keepalive_count + 1) seconds; a peer that never
//! asked is never pinged.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use integration_tests::compare::{assert_same_output, first_difference};
use integration_tests::raw::{encode, RawError};
use integration_tests::tools::{run_with_stdin, wait_with_deadline, CLIENT_TIMEOUT};
use integration_tests::{reference_uri, virsh_command, Daemon, RawClient};
use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::{keepalive, remote_proc, KEEPALIVE_PROGRAM};

/// The feature number of PROGRAM_KEEPALIVE in CONNECT_SUPPORTS_FEATURE.
const FEATURE_PROGRAM_KEEPALIVE: i32 = 10;

fn fast_keepalive_daemon() -> Daemon {
    Daemon::builder()
        .conf("keepalive_interval = 1")
        .conf("keepalive_count = 2")
        .start()
}

#[test]
fn idle_interactive_virsh_stays_connected_for_30_seconds() {
    let daemon = fast_keepalive_daemon();
    let session = b"list --all\nlist --all\n";
    let reference = run_with_stdin(
        virsh_command().args(["-c", reference_uri()]),
        session,
        CLIENT_TIMEOUT,
    );

    // virsh itself gives up after 2 unanswered PINGs 2 s apart, so a daemon
    // that does not answer would show up as a disconnection on stderr.
    let mut child = virsh_command()
        .args(["-k", "2", "-K", "2", "-c", &daemon.rw_uri()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virsh");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(b"list --all\n")
        .expect("write the first command");
    let idle_until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < idle_until {
        assert!(
            matches!(child.try_wait(), Ok(None)),
            "virsh exited while idle: {:?}",
            child.try_wait()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    stdin
        .write_all(b"list --all\n")
        .expect("write the second command");
    drop(stdin);
    let ours = wait_with_deadline(child, CLIENT_TIMEOUT, "interactive virsh");
    assert_same_output("virsh session with 30 s pause", &reference, &ours);
}

#[test]
fn silent_peer_that_asked_for_keepalive_is_dropped_after_about_3_seconds() {
    let daemon = fast_keepalive_daemon();
    let mut client = RawClient::unix(&daemon.rw_socket());
    client
        .remote(remote_proc::AUTH_LIST, &[])
        .expect_ok("AUTH_LIST");
    let reply = client
        .remote(
            remote_proc::CONNECT_SUPPORTS_FEATURE,
            &encode(&FEATURE_PROGRAM_KEEPALIVE),
        )
        .expect_ok("SUPPORTS_FEATURE(PROGRAM_KEEPALIVE)");
    assert_eq!(
        reply,
        encode(&1i32),
        "keepalive must be supported before CONNECT_OPEN"
    );

    let asked = Instant::now();
    let received = client
        .wait_for_close(Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("the silent peer was not dropped: {e}"));
    let elapsed = asked.elapsed();
    assert!(
        elapsed >= Duration::from_millis(2500) && elapsed <= Duration::from_secs(8),
        "dropped after {elapsed:?}, expected about 3 s (interval 1 s x (count 2 + 1))"
    );
    assert!(
        client.pings_received >= 1,
        "no PING before the drop: {received:?}"
    );
    for message in &received {
        let h = message.header;
        assert_eq!(
            (h.prog, h.proc_, h.mtype, h.serial),
            (
                KEEPALIVE_PROGRAM,
                keepalive::PING,
                MessageType::Message as u32,
                0
            ),
            "unexpected message while idle: {message:?}"
        );
    }
}

#[test]
fn peer_that_never_asked_for_keepalive_is_not_pinged() {
    let daemon = fast_keepalive_daemon();
    let mut client = RawClient::unix(&daemon.rw_socket());
    client.open("test:///default", 0);
    // Five times the drop delay of a keepalive peer: nothing may arrive.
    match client.next_message(Duration::from_secs(5)) {
        Err(RawError::Timeout(_)) => {}
        other => panic!("expected silence, got {other:?}"),
    }
    client
        .remote(remote_proc::CONNECT_GET_HOSTNAME, &[])
        .expect_ok("call after idling");
}

fn ping() -> Vec<u8> {
    encode_message(
        &Header::new(KEEPALIVE_PROGRAM, keepalive::PING, MessageType::Message, 0),
        &[],
    )
}

fn assert_pong(client: &mut RawClient, socket: &str) {
    client.send_bytes(&ping()).expect("send PING");
    let message = client
        .next_message(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{socket}: no PONG: {e}"))
        .unwrap_or_else(|| panic!("{socket}: closed instead of PONG"));
    let expected = encode_message(
        &Header::new(KEEPALIVE_PROGRAM, keepalive::PONG, MessageType::Message, 0),
        &[],
    );
    let got = message.to_wire();
    assert!(
        got == expected,
        "{socket}: {}",
        first_difference("PONG", &format!("{expected:02x?}"), &format!("{got:02x?}"))
    );
}

#[test]
fn ping_as_first_message_is_answered_on_every_socket() {
    let daemon = Daemon::start();
    assert_pong(&mut RawClient::unix(&daemon.rw_socket()), "rw socket");
    assert_pong(&mut RawClient::unix(&daemon.ro_socket()), "ro socket");
    assert_pong(&mut RawClient::unix(&daemon.admin_socket()), "admin socket");
}
