//! The whole dispatcher in-process: a sequence of messages, as one client
//! sends them on one socket, fed to [`daemon::dispatch::handle_message`]
//! with a real daemon context serving the test driver. Calls that would go
//! to a worker thread run inline. Every reply must be one well-formed
//! message answering the call it belongs to.
//!
//! Input: one byte choosing the socket (read-write, read-only, admin), then
//! the client's byte stream.

use daemon::dispatch::{handle_message, Action};
use daemon::in_process::{session, test_daemon, Socket};
use protocol::error::RemoteError;
use protocol::frame::{split_message, FrameDecoder, MAX_MESSAGE_LEN};
use protocol::header::{Header, Status};
use protocol::programs::KEEPALIVE_PROGRAM;

use super::{header_fact, Features, Target};
use crate::rng::Rng;

pub const TARGET: Target = Target {
    name: "dispatch",
    run,
    mutate,
    ci_iterations: 6_000,
};

const MAX_INPUT: usize = 64 * 1024;
/// Messages handled per input: enough for a whole virsh conversation.
const MAX_MESSAGES: usize = 128;

fn mutate(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
    let (socket, stream) = base.split_first().unwrap_or((&0, &[]));
    let other = other.get(1..).unwrap_or(&[]);
    let socket = if rng.chance(32) {
        rng.next_u64() as u8
    } else {
        *socket
    };
    let mut out = vec![socket];
    out.extend(crate::mutate::frames(rng, stream, other, MAX_INPUT));
    out
}

thread_local! {
    /// Handlers that start stream relays need a runtime to spawn on.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
}

fn run(input: &[u8]) -> Features {
    RUNTIME.with(|rt| {
        let _entered = rt.enter();
        run_in_runtime(input)
    })
}

fn run_in_runtime(input: &[u8]) -> Features {
    let (selector, stream) = input.split_first().unwrap_or((&0, &[]));
    let socket = [Socket::ReadWrite, Socket::ReadOnly, Socket::Admin][usize::from(*selector % 3)];
    let daemon = test_daemon();
    let mut session = session(1, socket);
    let mut sig = Features::default();
    let socket_number = *selector % 3;
    let mut decoder = FrameDecoder::new();
    decoder.push(stream);
    for _ in 0..MAX_MESSAGES {
        let message = match decoder.next_message() {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => {
                sig.add_kind("frame", &e);
                break;
            }
        };
        let h = message.header;
        if h.prog == KEEPALIVE_PROGRAM {
            // Answered by the session loop, never by the dispatcher.
            continue;
        }
        let outcome = match handle_message(&daemon, &mut session, &h, &message.body) {
            Action::Nothing => (0, 0, 0),
            Action::Reply(reply) => check_reply(&h, &reply),
            Action::Job(job) => {
                let reply = (job.run)();
                check_reply(&job.header, &reply)
            }
        };
        let (prog, proc_, mtype, status) = header_fact(&h);
        sig.add((mtype, status));
        let is_call = outcome != (0, 0, 0);
        sig.add((socket_number, prog, proc_, is_call, outcome));
        if session.closing {
            break;
        }
    }
    session.finish(&daemon);
    sig
}

/// A reply is one complete message for the call's program, procedure and
/// serial; an error reply carries a decodable error. Returns the reply's
/// status and error code and domain.
fn check_reply(call: &Header, reply: &[u8]) -> (u32, i32, i32) {
    assert!(reply.len() <= MAX_MESSAGE_LEN, "reply over the size limit");
    let (h, body) = split_message(reply)
        .unwrap_or_else(|e| panic!("reply to {call:?} is not one message: {e}"));
    if h.prog == call.prog && h.serial == call.serial && h.proc_ == call.proc_ {
        if h.status == Status::Error as u32 {
            let err: RemoteError = protocol::xdr::from_bytes_exact(body)
                .unwrap_or_else(|e| panic!("error reply to {call:?} does not decode: {e}"));
            (h.status, err.code, err.domain)
        } else {
            (h.status, 0, 0)
        }
    } else {
        // Stream data answering an earlier stream call.
        (h.mtype.min(6), -1, 0)
    }
}
