//! A link to another daemon once open: whole messages from the client are
//! written to that daemon, whole messages from it go to the client (replies
//! count as finished calls, events and stream data as unsolicited messages).
//! The daemon's keepalive pings are answered here and the link pings it in
//! turn; when the client goes away the link is closed. When the daemon goes
//! away, [`PeerLoss`] says what follows: virtproxyd disconnects the client
//! (its whole connection was that daemon's), a hypervisor connection's link
//! to a secondary driver's daemon fails only what it still owed the client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::error::{codes, domains};
use protocol::frame::{encode_message, FrameDecoder};
use protocol::header::{Header, MessageType, Status};
use protocol::programs::{remote_proc, KEEPALIVE_PROGRAM, PROTOCOL_VERSION};
use std::os::fd::{AsFd, OwnedFd};

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tracing::debug;

use crate::server::client::{Outgoing, OutgoingSender};
use crate::server::fd_port::{read_with_fds, send_carrier, FdPort};

pub const PING: i32 = 1;
pub const PONG: i32 = 2;
/// Keepalive on the backend leg: ping after `interval` of silence, give up
/// after `count` pings went unanswered (virtproxyd's own `keepalive_interval`
/// and `keepalive_count`; an interval of 0 or less turns the pings off).
#[derive(Clone, Copy, Debug)]
pub struct Keepalive {
    pub interval: Option<Duration>,
    pub count: u32,
}
/// Messages from the client waiting to be written to the daemon.
const QUEUE: usize = 256;
/// Waiting messages at which the client's session stops reading (stream
/// data of an upload faster than the daemon takes it) until the link
/// catches up, well before the queue is full.
const PAUSE_AT: usize = 64;

/// A keepalive message (`PING` or `PONG`).
pub fn keepalive(proc_: i32) -> Vec<u8> {
    let header = Header {
        prog: KEEPALIVE_PROGRAM,
        vers: PROTOCOL_VERSION,
        proc_,
        mtype: MessageType::Message as u32,
        serial: 0,
        status: 0,
    };
    encode_message(&header, &[])
}

/// What follows when the daemon at the other end goes away.
#[derive(Clone)]
pub enum PeerLoss {
    /// virtproxyd: the client's connection was that daemon's; it goes too.
    DisconnectClient,
    /// A secondary driver's link: the calls it still owes fail with
    /// libvirt's end-of-file error, its open streams end with it, and the
    /// link reports itself dead so that the next call opens a new one.
    FailOwed(Arc<Owed>),
}

/// What a secondary link owes the client: calls forwarded and not answered,
/// streams opened and not finished (by serial).
#[derive(Default)]
pub struct Owed(Mutex<OwedState>);

#[derive(Default)]
struct OwedState {
    gone: bool,
    calls: HashMap<u32, Header>,
    streams: HashMap<u32, Header>,
}

impl Owed {
    fn lock(&self) -> std::sync::MutexGuard<'_, OwedState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the daemon went away.
    pub fn gone(&self) -> bool {
        self.lock().gone
    }

    /// Records a call about to be forwarded; false once the daemon is gone.
    fn call_sent(&self, call: &Header) -> bool {
        let mut s = self.lock();
        if !s.gone {
            s.calls.insert(call.serial, *call);
        }
        !s.gone
    }

    /// A call that could not be forwarded after all; false when it was
    /// answered already (the daemon went away in between).
    fn forget(&self, serial: u32) -> bool {
        self.lock().calls.remove(&serial).is_some()
    }

    /// A message of the daemon passed to the client: a reply settles its
    /// call (and opens the call's stream), a final stream packet ends it.
    fn received(&self, h: &Header) {
        let mut s = self.lock();
        match h.message_type() {
            Some(MessageType::Reply) | Some(MessageType::ReplyWithFds) => {
                let settled = s.calls.remove(&h.serial).is_some();
                let opens_stream = settled
                    && h.status == Status::Ok as u32
                    && remote_proc::info(h.proc_)
                        .is_some_and(|i| i.stream != protocol::table::Stream::None);
                if opens_stream {
                    s.streams.insert(h.serial, *h);
                }
            }
            Some(MessageType::Stream) if h.status != Status::Continue as u32 => {
                s.streams.remove(&h.serial);
            }
            _ => {}
        }
    }

    /// The daemon went away: every owed call gets an error reply and every
    /// open stream an error packet.
    fn fail_all(&self, client: &OutgoingSender) {
        let (calls, streams) = {
            let mut s = self.lock();
            s.gone = true;
            (std::mem::take(&mut s.calls), std::mem::take(&mut s.streams))
        };
        let error = peer_gone_error();
        for call in calls.values() {
            let _ = client.send(Outgoing::CallDone(crate::dispatch::error_reply(
                call, &error,
            )));
        }
        for stream in streams.values() {
            let header = Header {
                mtype: MessageType::Stream as u32,
                status: Status::Error as u32,
                ..*stream
            };
            let _ = client.send(Outgoing::Message(protocol::frame::encode_message_with(
                &header, &error,
            )));
        }
    }
}

/// libvirt's error for a call whose daemon closed the connection.
pub fn peer_gone_error() -> protocol::error::RemoteError {
    let error = crate::dispatch::rpc_error(
        codes::SYSTEM_ERROR,
        "End of file while reading data: Input/output error",
    );
    debug_assert_eq!(error.domain, domains::RPC);
    error
}

/// A message for the daemon and the descriptors that follow it (each on
/// its own carrier byte, as libvirt sends them).
type Outbound = (Vec<u8>, Vec<OwnedFd>);

/// The open link of one client to another daemon.
pub struct ProxyLink {
    to_daemon: mpsc::Sender<Outbound>,
    /// Set for a secondary link (see [`PeerLoss::FailOwed`]).
    owed: Option<Arc<Owed>>,
    /// Set once the client sent CONNECT_CLOSE: the daemon hanging up after
    /// its reply is then expected, not a failure to report.
    closing: Arc<AtomicBool>,
    tasks: Vec<tokio::task::AbortHandle>,
    /// The daemon the leg goes to, for logs.
    pub target: String,
}

impl Drop for ProxyLink {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Why a message could not be forwarded.
#[derive(Debug, PartialEq, Eq)]
pub enum ForwardError {
    Backlog,
    Gone,
}

impl ProxyLink {
    /// Starts relaying over `stream` (already through its handshake); must
    /// be called within the daemon's tokio runtime.
    pub fn start(
        stream: std::os::unix::net::UnixStream,
        client: OutgoingSender,
        target: String,
        keepalive: Keepalive,
        loss: PeerLoss,
    ) -> std::io::Result<ProxyLink> {
        stream.set_read_timeout(None)?;
        stream.set_write_timeout(None)?;
        stream.set_nonblocking(true)?;
        let stream = tokio::net::UnixStream::from_std(stream)?;
        let (mut reader, mut writer) = stream.into_split();
        let (to_daemon, mut queue) = mpsc::channel::<Outbound>(QUEUE);
        let closing = Arc::new(AtomicBool::new(false));
        let reader_wake = client.clone();
        let write_task = tokio::spawn(async move {
            while let Some((bytes, fds)) = queue.recv().await {
                let backed_up = queue.len() + 1 >= PAUSE_AT;
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
                let mut sent = true;
                for fd in &fds {
                    sent = sent && send_carrier(writer.as_ref(), fd.as_fd()).await.is_ok();
                }
                drop(fds);
                if !sent {
                    break;
                }
                if backed_up && queue.len() < PAUSE_AT {
                    reader_wake.wake_reader();
                }
            }
            let _ = writer.shutdown().await;
        });
        let pongs = to_daemon.clone();
        let done = closing.clone();
        let name = target.clone();
        let owed = match &loss {
            PeerLoss::FailOwed(owed) => Some(owed.clone()),
            PeerLoss::DisconnectClient => None,
        };
        let tracked = owed.clone();
        let read_task = tokio::spawn(async move {
            let reason =
                relay_from_daemon(&mut reader, &client, &pongs, keepalive, tracked.as_deref())
                    .await;
            debug!(daemon = %name, reason, "linked daemon connection ended");
            match loss {
                PeerLoss::FailOwed(owed) => owed.fail_all(&client),
                PeerLoss::DisconnectClient if !done.load(Ordering::SeqCst) => {
                    let _ = client.send(Outgoing::Disconnect(
                        "the proxied daemon closed the connection",
                    ));
                }
                PeerLoss::DisconnectClient => {}
            }
        });
        Ok(ProxyLink {
            to_daemon,
            owed,
            closing,
            tasks: vec![write_task.abort_handle(), read_task.abort_handle()],
            target,
        })
    }

    /// Queues one whole message (`header` and its encoding) for the daemon;
    /// a secondary link records the calls it will owe.
    pub fn forward(&self, header: &Header, bytes: Vec<u8>) -> Result<(), ForwardError> {
        self.forward_with_fds(header, bytes, Vec::new())
    }

    /// [`ProxyLink::forward`] for a CALL_WITH_FDS and its descriptors.
    pub fn forward_with_fds(
        &self,
        header: &Header,
        bytes: Vec<u8>,
        fds: Vec<OwnedFd>,
    ) -> Result<(), ForwardError> {
        let call = matches!(
            header.message_type(),
            Some(MessageType::Call) | Some(MessageType::CallWithFds)
        );
        if let Some(owed) = &self.owed {
            if owed.gone() || (call && !owed.call_sent(header)) {
                return Err(ForwardError::Gone);
            }
        }
        let Err(e) = self.to_daemon.try_send((bytes, fds)) else {
            return Ok(());
        };
        if let Some(owed) = &self.owed {
            if call && !owed.forget(header.serial) {
                // The daemon went away meanwhile and the call was answered
                // with the others it owed.
                return Ok(());
            }
        }
        Err(match e {
            mpsc::error::TrySendError::Full(_) => ForwardError::Backlog,
            mpsc::error::TrySendError::Closed(_) => ForwardError::Gone,
        })
    }

    /// Whether so many messages wait for the daemon that the client's
    /// session should stop reading until the link wakes it.
    pub fn input_full(&self) -> bool {
        QUEUE - self.to_daemon.capacity() >= PAUSE_AT
    }

    /// Whether the daemon went away (secondary links only; a proxied
    /// client is disconnected instead).
    pub fn is_dead(&self) -> bool {
        self.owed.as_ref().is_some_and(|o| o.gone())
    }

    pub fn mark_closing(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }
}

/// Copies the daemon's messages to the client until the daemon hangs up or
/// stops answering keepalive pings; returns why it stopped.
async fn relay_from_daemon(
    reader: &mut tokio::net::unix::OwnedReadHalf,
    client: &OutgoingSender,
    to_daemon: &mpsc::Sender<Outbound>,
    pings: Keepalive,
    owed: Option<&Owed>,
) -> &'static str {
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut missed = 0u32;
    // Descriptors the daemon sent (REPLY_WITH_FDS), by stream offset.
    let port = FdPort::default();
    let mut awaiting: Option<(protocol::frame::Message, u32, u64)> = None;
    loop {
        let wait = pings.interval.unwrap_or(Duration::MAX);
        let read = match tokio::time::timeout(wait, read_with_fds(reader.as_ref(), &mut buf)).await
        {
            Err(_) => {
                missed += 1;
                if missed > pings.count {
                    return "no keepalive response from the daemon";
                }
                if to_daemon.try_send((keepalive(PING), Vec::new())).is_err() {
                    return "cannot ping the daemon";
                }
                continue;
            }
            Ok(Ok((0, _))) => return "end of file",
            Ok(Err(_)) => return "read failed",
            Ok(Ok((n, fds))) => {
                port.record(n, fds);
                n
            }
        };
        missed = 0;
        decoder.push(&buf[..read]);
        loop {
            let (msg, fds) = if let Some((_, count, _)) = &awaiting {
                if decoder.buffered() < *count as usize {
                    break;
                }
                let (msg, count, at) = awaiting.take().expect("checked above");
                decoder.discard(count as usize);
                match port.claim(at..at + u64::from(count)) {
                    Some(fds) => (msg, fds),
                    None => return "file descriptor missing from the daemon",
                }
            } else {
                let consumed = port.read_total() - decoder.buffered() as u64;
                let msg = match decoder.next_message() {
                    Ok(Some(msg)) => msg,
                    Ok(None) => break,
                    Err(_) => return "bad message from the daemon",
                };
                let end = consumed
                    + (protocol::frame::LEN_WORD + protocol::header::HEADER_LEN + msg.body.len())
                        as u64;
                if msg.header.message_type() == Some(MessageType::ReplyWithFds) {
                    match protocol::frame::fd_count(&msg.body) {
                        Some(n) if n <= protocol::frame::NUM_FDS_MAX => {
                            awaiting = Some((msg, n, end));
                            continue;
                        }
                        _ => return "bad message from the daemon",
                    }
                }
                port.drop_before(end);
                (msg, Vec::new())
            };
            let h = msg.header;
            if h.prog == KEEPALIVE_PROGRAM {
                if h.proc_ == PING && to_daemon.try_send((keepalive(PONG), Vec::new())).is_err() {
                    return "cannot answer the daemon's ping";
                }
                continue;
            }
            if let Some(owed) = owed {
                owed.received(&h);
            }
            let bytes = msg.to_wire();
            let reply = matches!(
                h.message_type(),
                Some(MessageType::Reply) | Some(MessageType::ReplyWithFds)
            );
            let sent = if !fds.is_empty() {
                client.send(Outgoing::CallDoneWithFds(bytes, fds))
            } else if reply {
                client.send(Outgoing::CallDone(bytes))
            } else {
                // Stream data (a volume download) waits while the client's
                // queue is full rather than overflowing it.
                client.stream_room().await;
                client.send(Outgoing::Message(bytes))
            };
            if sent.is_err() {
                return "the client is gone";
            }
        }
    }
}
