//! The client against a scripted peer on the other end of a socket pair.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use protocol::programs::{keepalive, remote_proc, KEEPALIVE_PROGRAM, REMOTE_PROGRAM};
use protocol::remote::{ConnectGetLibVersionRet, ConnectOpenArgs};
use protocol::{encode_message, encode_message_with, FrameDecoder, Header, Message, MessageType};
use protocol::{RemoteError, Xdr};

use crate::{Client, ClientError, Reply, Stream};

/// The daemon's side of a connection, one message at a time.
struct Peer {
    stream: UnixStream,
    decoder: FrameDecoder,
}

impl Peer {
    fn read(&mut self) -> Message {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(m) = self.decoder.next_message().unwrap() {
                return m;
            }
            let n = self.stream.read(&mut buf).unwrap();
            assert!(n > 0, "client closed the connection");
            self.decoder.push(&buf[..n]);
        }
    }

    fn send(&mut self, header: &Header, body: &impl Xdr) {
        self.stream
            .write_all(&encode_message_with(header, body))
            .unwrap();
    }

    fn event(&mut self, proc_: i32, value: u32) {
        let h = Header::new(REMOTE_PROGRAM, proc_, MessageType::Message, 0);
        self.send(&h, &value);
    }

    fn ping(&mut self) {
        let h = Header::new(KEEPALIVE_PROGRAM, keepalive::PING, MessageType::Message, 0);
        self.stream.write_all(&encode_message(&h, &[])).unwrap();
    }
}

/// A client and a thread running `script` as the daemon.
fn with_peer<T: Send + 'static>(
    script: impl FnOnce(&mut Peer) -> T + Send + 'static,
) -> (Client, thread::JoinHandle<T>) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let handle = thread::spawn(move || {
        let mut peer = Peer {
            stream: theirs,
            decoder: FrameDecoder::new(),
        };
        script(&mut peer)
    });
    (Client::new(Stream::Unix(ours)), handle)
}

#[test]
fn typed_call_gets_typed_reply_with_increasing_serials() {
    let (mut client, peer) = with_peer(|peer| {
        let mut seen = Vec::new();
        for version in [9_000_000u64, 9_000_001] {
            let call = peer.read();
            seen.push((call.header, call.body.len()));
            peer.send(
                &call.header.reply_to(),
                &ConnectGetLibVersionRet { lib_ver: version },
            );
        }
        seen
    });
    let first: ConnectGetLibVersionRet = client
        .call(REMOTE_PROGRAM, remote_proc::CONNECT_GET_LIB_VERSION, &())
        .unwrap();
    let second: ConnectGetLibVersionRet = client
        .call(REMOTE_PROGRAM, remote_proc::CONNECT_GET_LIB_VERSION, &())
        .unwrap();
    assert_eq!((first.lib_ver, second.lib_ver), (9_000_000, 9_000_001));
    let seen = peer.join().unwrap();
    assert_eq!(seen[0].0.serial, 0);
    assert_eq!(seen[1].0.serial, 1);
    assert_eq!(seen[0].0.prog, REMOTE_PROGRAM);
    assert_eq!(seen[0].0.proc_, remote_proc::CONNECT_GET_LIB_VERSION);
    assert_eq!(seen[0].0.message_type(), Some(MessageType::Call));
    assert_eq!(seen[0].1, 0);
}

#[test]
fn error_reply_becomes_the_libvirt_error() {
    let (mut client, peer) = with_peer(|peer| {
        let call = peer.read();
        let args = protocol::xdr::from_bytes_exact::<ConnectOpenArgs>(&call.body).unwrap();
        let error = RemoteError::new(38, 7, format!("no driver for {:?}", args.name));
        peer.send(&call.header.error_reply_to(), &error);
    });
    let open = ConnectOpenArgs {
        name: Some("nope:///".into()),
        flags: 0,
    };
    let err = client
        .call::<_, ()>(REMOTE_PROGRAM, remote_proc::CONNECT_OPEN, &open)
        .unwrap_err();
    let remote = err.remote().expect("a libvirt error");
    assert_eq!((remote.code, remote.domain), (38, 7));
    assert_eq!(err.to_string(), "no driver for Some(\"nope:///\")");
    peer.join().unwrap();
}

#[test]
fn keepalive_pings_are_answered_while_waiting_for_a_reply() {
    let (mut client, peer) = with_peer(|peer| {
        let call = peer.read();
        peer.ping();
        // The reply only comes once the PONG did.
        let pong = peer.read();
        peer.send(&call.header.reply_to(), &());
        pong.header
    });
    client
        .call::<_, ()>(REMOTE_PROGRAM, remote_proc::CONNECT_CLOSE, &())
        .unwrap();
    let pong = peer.join().unwrap();
    assert_eq!(pong.prog, KEEPALIVE_PROGRAM);
    assert_eq!(pong.proc_, keepalive::PONG);
    assert_eq!(pong.message_type(), Some(MessageType::Message));
    assert_eq!(client.pings_received(), 1);
}

#[test]
fn a_silent_client_counts_pings_without_answering() {
    let (mut client, peer) = with_peer(|peer| {
        let call = peer.read();
        peer.ping();
        peer.ping();
        peer.send(&call.header.reply_to(), &());
        // Nothing but the next call may arrive: no PONG was sent.
        peer.read().header
    });
    client.set_answer_keepalive(false);
    client.call_raw(REMOTE_PROGRAM, 1, &[]).unwrap();
    client.send_call(REMOTE_PROGRAM, 2, &[]).unwrap();
    let next = peer.join().unwrap();
    assert_eq!((next.prog, next.proc_), (REMOTE_PROGRAM, 2));
    assert_eq!(client.pings_received(), 2);
}

#[test]
fn events_before_the_reply_wait_in_a_bounded_queue() {
    let (mut client, peer) = with_peer(|peer| {
        let call = peer.read();
        for value in 1..=3 {
            peer.event(remote_proc::DOMAIN_EVENT_CALLBACK_LIFECYCLE, value);
        }
        // A stale reply to another serial is dropped, not taken for ours.
        peer.send(
            &Header {
                serial: 99,
                ..call.header.reply_to()
            },
            &7u32,
        );
        peer.send(&call.header.reply_to(), &5u32);
        peer.event(remote_proc::DOMAIN_EVENT_CALLBACK_LIFECYCLE, 4);
    });
    client.set_event_capacity(2);
    let value: u32 = client.call(REMOTE_PROGRAM, 1, &()).unwrap();
    assert_eq!(value, 5);
    assert_eq!(client.events_dropped(), 1);
    let mut values = Vec::new();
    while let Some(event) = client.next_event().unwrap() {
        assert_eq!(event.header.message_type(), Some(MessageType::Message));
        values.push(protocol::xdr::from_bytes_exact::<u32>(&event.body).unwrap());
    }
    assert_eq!(values, vec![2, 3, 4]);
    peer.join().unwrap();
}

#[test]
fn read_timeout_ends_the_wait() {
    let (mut client, peer) = with_peer(|peer| {
        let call = peer.read();
        // Wait for the client to give up (it closes its side), then leave.
        let mut rest = Vec::new();
        let _ = peer.stream.read_to_end(&mut rest);
        call.header.serial
    });
    client.set_read_timeout(Some(Duration::from_millis(50)));
    let err = client.call_raw(REMOTE_PROGRAM, 1, &[]).unwrap_err();
    assert!(matches!(err, ClientError::Timeout(_)), "{err}");
    drop(client);
    assert_eq!(peer.join().unwrap(), 0);
}

#[test]
fn hang_ups_and_bad_frames_are_errors() {
    let (mut client, peer) = with_peer(|peer| {
        peer.read();
    });
    let err = client.call_raw(REMOTE_PROGRAM, 1, &[]).unwrap_err();
    assert!(matches!(err, ClientError::Closed), "{err}");
    assert!(err.is_disconnect());
    peer.join().unwrap();

    let (mut client, peer) = with_peer(|peer| {
        let call = peer.read();
        let whole = encode_message(&call.header.reply_to(), &[0, 0, 0, 1]);
        peer.stream.write_all(&whole[..whole.len() - 2]).unwrap();
    });
    let err = client.call_raw(REMOTE_PROGRAM, 1, &[]).unwrap_err();
    assert!(matches!(err, ClientError::Truncated), "{err}");
    peer.join().unwrap();

    let (mut client, peer) = with_peer(|peer| {
        peer.read();
        peer.stream.write_all(&[0, 0, 0, 3]).unwrap();
    });
    let err = client.call_raw(REMOTE_PROGRAM, 1, &[]).unwrap_err();
    assert!(matches!(err, ClientError::Frame(_)), "{err}");
    peer.join().unwrap();
}

#[test]
fn trailing_bytes_in_a_typed_reply_are_refused() {
    let (mut client, peer) = with_peer(|peer| {
        let call = peer.read();
        peer.send(&call.header.reply_to(), &(1u32, 2u32));
    });
    let err = client.call::<_, u32>(REMOTE_PROGRAM, 1, &()).unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err}");
    peer.join().unwrap();
}

#[test]
fn raw_replies_keep_both_outcomes() {
    let (mut client, peer) = with_peer(|peer| {
        let call = peer.read();
        peer.send(&call.header.error_reply_to(), &RemoteError::new(1, 2, "x"));
    });
    match client.call_reply(REMOTE_PROGRAM, 1, &[]).unwrap() {
        Reply::Err(e) => assert_eq!(e.message.as_deref(), Some("x")),
        Reply::Ok(_) => panic!("error reply taken for success"),
    }
    peer.join().unwrap();
}

#[test]
fn open_authenticates_then_opens_the_named_driver() {
    let (mut client, peer) = with_peer(|peer| {
        let auth = peer.read();
        peer.send(
            &auth.header.reply_to(),
            &protocol::remote::AuthListRet { types: vec![0] },
        );
        let open = peer.read();
        peer.send(&open.header.reply_to(), &());
        (
            auth.header.proc_,
            protocol::xdr::from_bytes_exact::<ConnectOpenArgs>(&open.body),
        )
    });
    client.open(Some("test:///default"), 0).unwrap();
    let (auth_proc, args) = peer.join().unwrap();
    assert_eq!(auth_proc, remote_proc::AUTH_LIST);
    assert_eq!(args.unwrap().name.as_deref(), Some("test:///default"));
}
