//! One client's session, reading side: decodes messages with the protocol
//! crate's [`FrameDecoder`], answers keepalive at once, runs calls, and
//! probes an idle peer. Replies go out through the session's
//! [`Outbox`](super::outbox::Outbox), which writes them at once when the
//! socket takes them and otherwise queues them for its writer task, so this
//! loop never waits for a peer to read.
//!
//! Input is read only while fewer than `max_client_requests` calls of the
//! client run and its outgoing queue is short, as libvirtd stops reading a
//! client at that limit; keepalive PINGs already read are still answered.

use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::frame::{self, FrameDecoder};
use protocol::header::{Header, MessageType};
use protocol::programs::{keepalive, procedure_name, KEEPALIVE_PROGRAM, PROTOCOL_VERSION};
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time;
use tracing::{debug, debug_span, info, warn, Instrument, Span};

use super::fd_port::{FdPort, UnixFdStream};
use super::keepalive::{Keepalive, KeepaliveAction};
use super::outbox::{Outbox, WRITE_STALL};
use super::registry::{Activity, ClientDetails, ClientInfo};
use super::{AuthScheme, Server, ServiceKind};
use crate::context::Daemon;
use crate::dispatch::{self, Action, Job, Session};

pub use super::outbox::{Outgoing, OutgoingSender};

/// Free space offered to each read: a few small messages at once, while an
/// idle connection keeps little memory.
const READ_CHUNK: usize = 512;

/// At most this much is reserved ahead for a large message, so memory
/// follows the bytes actually received, not the length a peer announces.
const READ_AHEAD_MAX: usize = 256 * 1024;

/// How long a client that closed its connection (or asked to) may take to
/// receive what is still queued for it.
const CLOSE_LINGER: Duration = Duration::from_secs(5);

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
/// the daemon shuts down. The connection must have been announced with
/// [`ClientRegistry::arriving`](super::ClientRegistry::arriving).
///
/// Plain functions returning the session future, not `async fn`s: an async
/// wrapper would keep its own copy of the arguments in every connection's
/// task for as long as the connection lives.
pub fn serve<S>(
    stream: S,
    daemon: Arc<Daemon>,
    server: Arc<Server>,
    kind: ServiceKind,
    info: ClientInfo,
) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    serve_with_details(stream, daemon, server, kind, info, ClientDetails::default())
}

/// [`serve_with_details`] for a unix socket client, which may pass file
/// descriptors (CALL_WITH_FDS) and receive them (REPLY_WITH_FDS).
pub fn serve_unix(
    stream: tokio::net::UnixStream,
    daemon: Arc<Daemon>,
    server: Arc<Server>,
    kind: ServiceKind,
    info: ClientInfo,
    details: ClientDetails,
) -> impl Future<Output = ()> + Send {
    let span = debug_span!(
        "client",
        client = info.id,
        transport = ?info.transport,
        server = server.name
    );
    let details = (details != ClientDetails::default()).then(|| Box::new(details));
    let (stream, port) = UnixFdStream::new(stream);
    run(
        stream,
        daemon,
        server,
        kind,
        Box::new(info),
        details,
        Some(port),
    )
    .instrument(span)
}

/// [`serve`] for a client whose identity is partly known before its first
/// message (the DN of its TLS certificate).
pub fn serve_with_details<S>(
    stream: S,
    daemon: Arc<Daemon>,
    server: Arc<Server>,
    kind: ServiceKind,
    info: ClientInfo,
    details: ClientDetails,
) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // At debug level only: an enabled span costs every connection memory,
    // and messages of other levels name their client themselves.
    let span = debug_span!(
        "client",
        client = info.id,
        transport = ?info.transport,
        server = server.name
    );
    let details = (details != ClientDetails::default()).then(|| Box::new(details));
    run(stream, daemon, server, kind, Box::new(info), details, None).instrument(span)
}

async fn run<S>(
    stream: S,
    daemon: Arc<Daemon>,
    server: Arc<Server>,
    kind: ServiceKind,
    info: Box<ClientInfo>,
    details: Option<Box<ClientDetails>>,
    fd_port: Option<Arc<FdPort>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let client_id = info.id;
    let authenticated = kind.auth == AuthScheme::None;
    // Boxed, as is the linger below: what a session needs only at its
    // start or end should not size every idle connection's task.
    let info = *info;
    let admitted = Box::pin(server.admit(info.clone(), authenticated)).await;
    if let Some(details) = details {
        if let Some(dname) = &details.x509_dname {
            info!(client = client_id, dname = %dname, "TLS client admitted");
        }
        server.clients.update_details(client_id, |d| *d = *details);
    }
    // A client that has not authenticated by then is dropped, so that idle
    // connections cannot use up max_anonymous_clients for everyone else.
    // (A TLS client's handshake had its own deadline before this.)
    let auth_deadline = auth_timeout().map(|t| time::Instant::now() + t);
    let outbox = Outbox::new(
        client_id,
        Box::pin(stream),
        admitted.activity.clone(),
        admitted.close.clone(),
        WRITE_STALL,
    );
    if let Some(port) = &fd_port {
        outbox.set_fd_port(port.clone());
    }
    let mut session = Session::new(info, kind, authenticated);
    session.attach_sender(OutgoingSender::new(outbox.clone()));
    let mut conn = Conn {
        daemon: &daemon,
        server: &server,
        session,
        outbox,
        activity: admitted.activity.clone(),
        deferred: VecDeque::new(),
        out: Vec::new(),
        fd_port,
        awaiting_fds: None,
    };
    let limits = server.limits();
    let mut keepalive = Keepalive::new(
        limits.keepalive_interval,
        limits.keepalive_count,
        Instant::now(),
    );
    let mut decoder = FrameDecoder::new();
    debug!(client = client_id, server = server.name, "client connected");

    let reason = loop {
        conn.sync_authentication();
        let limits = server.limits();
        keepalive.reconfigure(limits.keepalive_interval, limits.keepalive_count);
        let max_requests = limits.max_client_requests.max(1);
        if !conn.deferred.is_empty() {
            conn.run_deferred(max_requests);
            if let Err(why) = conn.flush() {
                break why;
            }
            if conn.session.closing {
                break "client closed the connection";
            }
        }
        let calls_full = conn.outbox.in_flight() >= max_requests || !conn.deferred.is_empty();
        // Stream data the guest (or a linked daemon) has not taken yet holds
        // reading back too.
        let held_back = calls_full || conn.session.input_full();
        let can_read = !held_back && conn.outbox.has_room();
        // One timer for both deadlines: every timer is part of each idle
        // connection's memory.
        let auth_wait = !conn.session.authenticated && conn.outbox.in_flight() == 0;
        let auth_at = auth_deadline.filter(|_| auth_wait);
        let keepalive_at = keepalive.deadline().map(time::Instant::from_std);
        let wake_at = match (auth_at, keepalive_at) {
            (Some(a), Some(k)) => Some(a.min(k)),
            (a, k) => a.or(k),
        };
        let want = decoder.missing().clamp(READ_CHUNK, READ_AHEAD_MAX);
        tokio::select! {
            biased;
            _ = admitted.close.notified() => {
                break conn.outbox.failure().unwrap_or("closed by the daemon")
            }
            _ = sleep_until_opt(wake_at), if wake_at.is_some() => {
                if auth_at.is_some_and(|at| time::Instant::now() >= at) {
                    break "authentication timeout";
                }
                if keepalive_at.is_none_or(|at| time::Instant::now() < at) {
                    continue;
                }
                if held_back && conn.outbox.has_room() {
                    // We chose not to read while its calls run (or its
                    // stream input waits): its silence says nothing about
                    // the peer.
                    keepalive.received(Instant::now());
                    continue;
                }
                match keepalive.on_deadline(Instant::now()) {
                    Some(KeepaliveAction::SendPing)
                        if conn.outbox.push(keepalive_message(keepalive::PING), false).is_err() =>
                    {
                        break "write failed";
                    }
                    Some(KeepaliveAction::Disconnect) => {
                        warn!(client = client_id, "no keepalive response from client, closing");
                        break "keepalive timeout";
                    }
                    Some(KeepaliveAction::SendPing) | None => {}
                }
            }
            _ = conn.outbox.resume.notified(), if !can_read => {}
            read = read_into(&conn.outbox, &mut decoder, want), if can_read => {
                match read {
                    Ok(0) => break "end of file",
                    Err(_) => break "read failed",
                    Ok(_) => {}
                }
                let now = Instant::now();
                keepalive.received(now);
                conn.activity.heard_at(now);
                if let Err(why) = conn.drain(&mut decoder, max_requests) {
                    break why;
                }
                if let Err(why) = conn.flush() {
                    break why;
                }
                if conn.session.closing {
                    break "client closed the connection";
                }
                if conn.session.keepalive_requested && !conn.session.keepalive_armed {
                    conn.session.keepalive_armed = true;
                    keepalive.arm(Instant::now());
                }
                // An idle connection keeps no read buffer at all: with
                // thousands of them that matters more than one allocation
                // per read.
                decoder.release_if_idle(0);
            }
        }
    };
    if matches!(reason, "client closed the connection" | "end of file") {
        Box::pin(conn.linger(&admitted.close)).await;
    }
    debug!(client = client_id, reason, "client disconnected");
    match reason {
        "keepalive timeout" => info!(client = client_id, "client dropped after keepalive timeout"),
        "authentication timeout" => info!(
            client = client_id,
            "client dropped: not authenticated within auth_timeout"
        ),
        _ => {}
    }
    conn.outbox.shut();
    let Conn {
        mut session,
        outbox,
        ..
    } = conn;
    drop(outbox);
    session.finish(&daemon);
    server.clients.remove(client_id, session.authenticated);
    server.capacity_freed.notify_waiters();
}

/// Reads at most `want` bytes into the decoder. Small reads go through a
/// buffer on the stack, so that a connection waiting for its next call
/// holds no heap buffer at all; a large message is read in place.
async fn read_into(
    outbox: &Outbox,
    decoder: &mut FrameDecoder,
    want: usize,
) -> std::io::Result<usize> {
    std::future::poll_fn(|cx| {
        if want > READ_CHUNK {
            return outbox.poll_read_into(cx, decoder.read_buffer(want));
        }
        let mut chunk = [0u8; READ_CHUNK];
        let mut buf = ReadBuf::new(&mut chunk);
        match outbox.poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => {
                let filled = buf.filled();
                decoder.read_buffer(filled.len()).extend_from_slice(filled);
                Poll::Ready(Ok(filled.len()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

async fn sleep_until_opt(deadline: Option<time::Instant>) {
    match deadline {
        Some(d) => time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn keepalive_header(proc_: i32) -> Header {
    Header {
        prog: KEEPALIVE_PROGRAM,
        vers: PROTOCOL_VERSION,
        proc_,
        mtype: MessageType::Message as u32,
        serial: 0,
        status: 0,
    }
}

fn keepalive_message(proc_: i32) -> Vec<u8> {
    frame::encode_message(&keepalive_header(proc_), &[])
}

/// The session's state while it reads.
struct Conn<'a> {
    daemon: &'a Arc<Daemon>,
    server: &'a Arc<Server>,
    session: Session,
    outbox: Arc<Outbox>,
    activity: Arc<Activity>,
    /// Calls read while `max_client_requests` calls ran; reading stops
    /// until they have run, so these are at most one read's worth.
    deferred: VecDeque<(Header, Vec<u8>, Vec<OwnedFd>)>,
    /// Inline replies and PONGs of the current read, written together.
    out: Vec<u8>,
    /// The unix socket's descriptors (none on TCP and TLS).
    fd_port: Option<Arc<FdPort>>,
    /// A CALL_WITH_FDS whose descriptors have not all arrived yet.
    awaiting_fds: Option<Box<AwaitingFds>>,
}

/// A CALL_WITH_FDS read up to its last message byte: its descriptors follow
/// on one carrier byte each.
struct AwaitingFds {
    header: Header,
    body: Vec<u8>,
    count: u32,
    /// Stream offset of the first carrier byte.
    carriers_at: u64,
}

impl Conn<'_> {
    /// Applies an authentication a worker call made, and tells the registry
    /// once the client is authenticated.
    fn sync_authentication(&mut self) {
        if !self.session.authenticated && self.outbox.authenticated_by_call.load(Ordering::SeqCst) {
            self.session.mark_authenticated(self.server);
        }
        if self.session.authenticated && !self.activity.authenticated.load(Ordering::Relaxed) {
            self.activity.authenticated.store(true, Ordering::Relaxed);
        }
    }

    /// Handles every whole message the decoder holds. A framing error is
    /// returned as Err: libvirtd hangs up without a reply.
    fn drain(
        &mut self,
        decoder: &mut FrameDecoder,
        max_requests: usize,
    ) -> Result<(), &'static str> {
        loop {
            if let Some(waiting) = &self.awaiting_fds {
                let count = waiting.count as usize;
                if decoder.buffered() < count {
                    return Ok(());
                }
                let waiting = self.awaiting_fds.take().expect("checked above");
                decoder.discard(count);
                let port = self
                    .fd_port
                    .as_ref()
                    .ok_or("descriptors without a unix socket")?;
                let carriers = waiting.carriers_at..waiting.carriers_at + count as u64;
                // libvirtd: "Unable to receive file descriptor" closes the client.
                let fds = port.claim(carriers).ok_or("file descriptor missing")?;
                self.run_or_defer(waiting.header, waiting.body, fds, max_requests);
                if self.session.closing {
                    break;
                }
                continue;
            }
            let consumed = self
                .fd_port
                .as_ref()
                .map(|p| p.read_total() - decoder.buffered() as u64);
            let Some((header, body)) = decoder.next_frame().map_err(|_| "bad message length")?
            else {
                break;
            };
            let frame_end = consumed
                .map(|c| c + (frame::LEN_WORD + protocol::header::HEADER_LEN + body.len()) as u64);
            if header.message_type() == Some(MessageType::CallWithFds) {
                // As libvirtd: a count that cannot be read or exceeds the
                // limit, or descriptors on a socket that cannot carry them,
                // close the connection.
                let count = frame::fd_count(body).ok_or("unable to decode number of FDs")?;
                if count > frame::NUM_FDS_MAX {
                    return Err("too many FDs received");
                }
                if count > 0 {
                    let Some(carriers_at) = frame_end else {
                        return Err("receiving file descriptors is not supported on this socket");
                    };
                    self.awaiting_fds = Some(Box::new(AwaitingFds {
                        header,
                        body: body.to_vec(),
                        count,
                        carriers_at,
                    }));
                    continue;
                }
            }
            if let (Some(port), Some(end)) = (&self.fd_port, frame_end) {
                // Descriptors riding on message bytes are nobody's.
                port.drop_before(end);
            }
            if header.prog == KEEPALIVE_PROGRAM {
                if header.proc_ == keepalive::PING {
                    frame::encode_message_into(
                        &mut self.out,
                        &keepalive_header(keepalive::PONG),
                        &[],
                    );
                }
                continue;
            }
            if self.outbox.in_flight() >= max_requests || !self.deferred.is_empty() {
                self.deferred.push_back((header, body.to_vec(), Vec::new()));
                continue;
            }
            self.run(&header, body, Vec::new());
            if self.session.closing {
                break;
            }
        }
        Ok(())
    }

    /// Runs a call now, or holds it back while `max_requests` calls run.
    fn run_or_defer(
        &mut self,
        header: Header,
        body: Vec<u8>,
        fds: Vec<OwnedFd>,
        max_requests: usize,
    ) {
        if self.outbox.in_flight() >= max_requests || !self.deferred.is_empty() {
            self.deferred.push_back((header, body, fds));
        } else {
            self.run(&header, &body, fds);
        }
    }

    /// Runs held-back calls while request slots are free.
    fn run_deferred(&mut self, max_requests: usize) {
        while self.outbox.in_flight() < max_requests && !self.session.closing {
            let Some((header, body, fds)) = self.deferred.pop_front() else {
                break;
            };
            self.run(&header, &body, fds);
        }
    }

    /// Sends the replies gathered so far.
    fn flush(&mut self) -> Result<(), &'static str> {
        if self.out.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.out);
        self.outbox.push(out, false).map_err(|_| "write failed")
    }

    /// Runs one non-keepalive message; an inline reply joins `out`.
    fn run(&mut self, header: &Header, body: &[u8], fds: Vec<OwnedFd>) {
        self.sync_authentication();
        // What the call does not take is closed once it has been handled.
        self.session.fds = fds;
        let span = debug_span!(
            "call",
            proc = procedure_name(header.prog, header.proc_).unwrap_or("unknown"),
            serial = header.serial
        );
        let action = span.in_scope(|| {
            debug!("call received");
            dispatch::handle_message(self.daemon, &mut self.session, header, body)
        });
        self.session.fds.clear();
        match action {
            Action::Nothing => {}
            Action::Reply(bytes) if self.out.is_empty() => self.out = bytes,
            Action::Reply(bytes) => self.out.extend_from_slice(&bytes),
            Action::Job(job) => self.start_job(job, span),
        }
        self.sync_authentication();
    }

    /// Runs a blocking call on a worker; its reply goes straight to the
    /// outbox.
    fn start_job(&mut self, job: Job, span: Span) {
        self.outbox.call_started();
        let tx = self.session.sender();
        let workers = self.server.workers.clone();
        let daemon = self.daemon.clone();
        daemon.calls_in_flight.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let permit = workers.acquire_owned().await;
            let header = job.header;
            let run = job.run;
            let reply = match tokio::task::spawn_blocking(move || span.in_scope(run)).await {
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

    /// Gives a leaving client a moment to receive what is still queued (the
    /// reply to CONNECT_CLOSE).
    async fn linger(&self, close: &tokio::sync::Notify) {
        let until = time::Instant::now() + CLOSE_LINGER;
        while !self.outbox.is_drained() {
            tokio::select! {
                _ = self.outbox.resume.notified() => {}
                _ = close.notified() => return,
                _ = time::sleep_until(until) => return,
            }
        }
    }
}
