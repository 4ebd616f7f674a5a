//! One client's session: reads framed messages, answers keepalive at once,
//! runs calls, writes replies and events, and probes an idle peer.
//!
//! A single task owns the stream: replies to inline calls are written from the
//! loop itself, while replies of calls that ran on a worker thread and event
//! messages arrive through a channel. Keepalive is answered here, never queued
//! behind calls, so a client with busy workers is not mistaken for a dead one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::frame::{self, LEN_WORD};
use protocol::header::{Header, HEADER_LEN};
use protocol::programs::{keepalive, KEEPALIVE_PROGRAM, PROTOCOL_VERSION};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time;
use tracing::{debug, info, warn};

use super::keepalive::{Keepalive, KeepaliveAction};
use super::registry::{ClientDetails, ClientInfo};
use super::{Server, ServiceKind};
use crate::context::Daemon;
use crate::dispatch::{self, Action, Session};

/// Buffers above this are returned to the allocator once drained, so that one
/// large message does not pin memory for an otherwise idle connection.
const KEEP_BUFFER: usize = 64 * 1024;

/// Calls held back while `max_client_requests` calls of this client run. We
/// keep reading (so keepalive is still answered) until this many wait.
const MAX_DEFERRED_CALLS: usize = 64;

/// Messages produced outside the session loop for this client.
pub enum Outgoing {
    /// Reply of a call that ran on a worker thread.
    CallDone(Vec<u8>),
    /// An event message (or anything else unsolicited).
    Message(Vec<u8>),
    /// A call running on a worker established the client's identity (polkit
    /// granted the action); sent before that call's reply.
    Authenticated,
}

pub type OutgoingSender = mpsc::UnboundedSender<Outgoing>;
pub type OutgoingReceiver = mpsc::UnboundedReceiver<Outgoing>;

/// `auth_timeout` in milliseconds; 0 disables it. Daemon-wide, like the
/// setting, and changed on SIGHUP.
static AUTH_TIMEOUT_MS: AtomicU64 = AtomicU64::new(10_000);

/// Sets how long a client may take from accept to the end of authentication
/// (TLS handshake and checks included); `None` waits forever, as libvirtd.
pub fn set_auth_timeout(timeout: Option<Duration>) {
    let ms = timeout.map_or(0, |t| t.as_millis().clamp(1, u64::MAX as u128) as u64);
    AUTH_TIMEOUT_MS.store(ms, Ordering::Relaxed);
}

/// The current `auth_timeout`; `None` when disabled.
pub fn auth_timeout() -> Option<Duration> {
    match AUTH_TIMEOUT_MS.load(Ordering::Relaxed) {
        0 => None,
        ms => Some(Duration::from_millis(ms)),
    }
}

/// Runs a session until the peer leaves, breaks the protocol, asks to close, or
/// the daemon shuts down.
pub async fn serve<S>(
    stream: S,
    daemon: Arc<Daemon>,
    server: Arc<Server>,
    kind: ServiceKind,
    info: ClientInfo,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    serve_with_details(stream, daemon, server, kind, info, ClientDetails::default()).await
}

/// [`serve`] for a client whose identity is partly known before its first
/// message (the DN of its TLS certificate).
pub async fn serve_with_details<S>(
    mut stream: S,
    daemon: Arc<Daemon>,
    server: Arc<Server>,
    kind: ServiceKind,
    info: ClientInfo,
    details: ClientDetails,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let client_id = info.id;
    let authenticated = kind.auth == super::AuthScheme::None;
    let close = server.admit(info.clone(), authenticated).await;
    if details != ClientDetails::default() {
        if let Some(dname) = &details.x509_dname {
            info!(client = client_id, dname = %dname, "TLS client admitted");
        }
        server.clients.update_details(client_id, |d| *d = details);
    }
    // A client that has not authenticated by then is dropped, so that idle
    // connections cannot use up max_anonymous_clients for everyone else.
    // (A TLS client's handshake had its own auth_timeout before this.)
    let auth_deadline = auth_timeout().map(|t| tokio::time::Instant::now() + t);
    let mut rx: Option<OutgoingReceiver> = None;
    let mut session = Session::new(info, kind, authenticated);
    let limits = server.limits();
    let mut keepalive = Keepalive::new(
        limits.keepalive_interval,
        limits.keepalive_count,
        Instant::now(),
    );
    let mut buf: Vec<u8> = Vec::new();
    let mut in_flight = 0usize;
    let mut deferred: VecDeque<Vec<u8>> = VecDeque::new();
    debug!(client = client_id, server = server.name, "client connected");

    let reason = loop {
        if rx.is_none() {
            rx = session.take_new_receiver();
        }
        let limits = server.limits();
        keepalive.reconfigure(limits.keepalive_interval, limits.keepalive_count);
        let can_read = deferred.len() < MAX_DEFERRED_CALLS;
        let deadline = keepalive.deadline().map(tokio::time::Instant::from_std);
        tokio::select! {
            biased;
            _ = close.notified() => break "closed by the daemon",
            _ = sleep_until_opt(auth_deadline), if !session.authenticated && in_flight == 0 && auth_deadline.is_some() => {
                break "authentication timeout"
            }
            Some(out) = recv_opt(&mut rx) => {
                let mut bytes = match out {
                    Outgoing::CallDone(bytes) => { in_flight -= 1; bytes }
                    Outgoing::Message(bytes) => bytes,
                    Outgoing::Authenticated => {
                        session.mark_authenticated(&server);
                        Vec::new()
                    }
                };
                while in_flight < limits.max_client_requests.max(1) {
                    let Some(message) = deferred.pop_front() else { break };
                    let mut calls = Calls { daemon: &daemon, session: &mut session, in_flight: &mut in_flight, server: &server };
                    calls.run(&message, &mut bytes);
                }
                if !bytes.is_empty() && stream.write_all(&bytes).await.is_err() {
                    break "write failed";
                }
                if session.closing {
                    break "client closed the connection";
                }
            }
            read = stream.read_buf(&mut buf), if can_read => {
                match read {
                    Ok(0) => break "end of file",
                    Err(_) => break "read failed",
                    Ok(_) => {}
                }
                keepalive.received(Instant::now());
                let mut calls = Calls { daemon: &daemon, session: &mut session, in_flight: &mut in_flight, server: &server };
                let max_requests = limits.max_client_requests.max(1);
                match drain_messages(&mut buf, &mut calls, &mut deferred, max_requests) {
                    Ok(out) => {
                        if !out.is_empty() && stream.write_all(&out).await.is_err() {
                            break "write failed";
                        }
                        if session.closing {
                            break "client closed the connection";
                        }
                    }
                    Err(why) => break why,
                }
                if session.keepalive_requested && !session.keepalive_armed {
                    session.keepalive_armed = true;
                    keepalive.arm(Instant::now());
                }
                if buf.is_empty() && buf.capacity() > KEEP_BUFFER {
                    buf = Vec::new();
                }
            }
            _ = sleep_until_opt(deadline), if deadline.is_some() => {
                match keepalive.on_deadline(Instant::now()) {
                    Some(KeepaliveAction::SendPing) => {
                        let ping = keepalive_message(keepalive::PING);
                        if stream.write_all(&ping).await.is_err() {
                            break "write failed";
                        }
                    }
                    Some(KeepaliveAction::Disconnect) => {
                        warn!(client = client_id, "no keepalive response from client, closing");
                        break "keepalive timeout";
                    }
                    None => {}
                }
            }
        }
    };
    let _ = stream.flush().await;
    debug!(client = client_id, reason, "client disconnected");
    if reason == "keepalive timeout" {
        info!(client = client_id, "client dropped after keepalive timeout");
    }
    if reason == "authentication timeout" {
        info!(
            client = client_id,
            "client dropped: not authenticated within auth_timeout"
        );
    }
    session.finish(&daemon);
    server.clients.remove(client_id, session.authenticated);
    server.capacity_freed.notify_waiters();
}

/// Waits on the session's channel once it exists.
async fn recv_opt(rx: &mut Option<OutgoingReceiver>) -> Option<Outgoing> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn keepalive_message(proc_: i32) -> Vec<u8> {
    let header = Header {
        prog: KEEPALIVE_PROGRAM,
        vers: PROTOCOL_VERSION,
        proc_,
        mtype: protocol::header::MessageType::Message as u32,
        serial: 0,
        status: 0,
    };
    frame::encode_message(&header, &[])
}

/// What running a call needs from the session loop.
struct Calls<'a> {
    daemon: &'a Arc<Daemon>,
    session: &'a mut Session,
    in_flight: &'a mut usize,
    server: &'a Arc<Server>,
}

impl Calls<'_> {
    /// Runs one whole non-keepalive message; inline replies are appended to `out`.
    fn run(&mut self, message: &[u8], out: &mut Vec<u8>) {
        let header_bytes: &[u8; HEADER_LEN] = message[LEN_WORD..LEN_WORD + HEADER_LEN]
            .try_into()
            .expect("header");
        let header = Header::decode(header_bytes);
        let body = &message[LEN_WORD + HEADER_LEN..];
        match dispatch::handle_message(self.daemon, self.session, &header, body) {
            Action::Nothing => {}
            Action::Reply(bytes) => out.extend_from_slice(&bytes),
            Action::Job(job) => {
                *self.in_flight += 1;
                let tx = self.session.sender();
                let workers = self.server.workers.clone();
                let daemon = self.daemon.clone();
                daemon.calls_in_flight.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let permit = workers.acquire_owned().await;
                    let header = job.header;
                    let reply = match tokio::task::spawn_blocking(job.run).await {
                        Ok(reply) => reply,
                        Err(_) => dispatch::error_reply(
                            &header,
                            &dispatch::rpc_error(
                                protocol::error::codes::INTERNAL_ERROR,
                                "internal error: call failed",
                            ),
                        ),
                    };
                    drop(permit);
                    daemon.calls_in_flight.fetch_sub(1, Ordering::Relaxed);
                    let _ = tx.send(Outgoing::CallDone(reply));
                });
            }
        }
    }
}

/// Handles every complete message in `buf`; returns the bytes to write now.
/// Keepalive is answered at once; calls beyond `max_requests` running ones
/// wait in `deferred`. A framing error is returned as Err: libvirtd hangs up
/// without a reply.
fn drain_messages(
    buf: &mut Vec<u8>,
    calls: &mut Calls<'_>,
    deferred: &mut VecDeque<Vec<u8>>,
    max_requests: usize,
) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    let mut consumed = 0;
    while buf.len() - consumed >= LEN_WORD {
        let word: [u8; 4] = buf[consumed..consumed + LEN_WORD]
            .try_into()
            .expect("4 bytes");
        let len = frame::message_len(word).map_err(|_| "bad message length")?;
        if buf.len() - consumed < len {
            buf.reserve(len - (buf.len() - consumed));
            break;
        }
        let message = &buf[consumed..consumed + len];
        consumed += len;
        let header_bytes: &[u8; HEADER_LEN] = message[LEN_WORD..LEN_WORD + HEADER_LEN]
            .try_into()
            .expect("header");
        let header = Header::decode(header_bytes);
        if header.prog == KEEPALIVE_PROGRAM {
            if header.proc_ == keepalive::PING {
                out.extend_from_slice(&keepalive_message(keepalive::PONG));
            }
            continue;
        }
        if *calls.in_flight >= max_requests || !deferred.is_empty() {
            deferred.push_back(message.to_vec());
            continue;
        }
        calls.run(message, &mut out);
        if calls.session.closing {
            break;
        }
    }
    buf.drain(..consumed);
    Ok(out)
}
