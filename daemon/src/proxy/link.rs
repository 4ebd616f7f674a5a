//! The backend leg of a proxied connection once open: whole messages from the
//! client are written to the per-driver daemon, whole messages from it go to
//! the client (replies count as finished calls, events and stream data as
//! unsolicited messages). The daemon's keepalive pings are answered here and
//! the proxy pings it in turn; when the daemon goes away the client is
//! disconnected, and when the client goes away the leg is closed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use protocol::frame::{encode_message, FrameDecoder};
use protocol::header::{Header, MessageType};
use protocol::programs::{KEEPALIVE_PROGRAM, PROTOCOL_VERSION};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::debug;

use crate::server::client::{Outgoing, OutgoingSender};

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

/// The open backend leg of one client.
pub struct ProxyLink {
    to_daemon: mpsc::Sender<Vec<u8>>,
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
    ) -> std::io::Result<ProxyLink> {
        stream.set_read_timeout(None)?;
        stream.set_write_timeout(None)?;
        stream.set_nonblocking(true)?;
        let stream = tokio::net::UnixStream::from_std(stream)?;
        let (mut reader, mut writer) = stream.into_split();
        let (to_daemon, mut queue) = mpsc::channel::<Vec<u8>>(QUEUE);
        let closing = Arc::new(AtomicBool::new(false));
        let write_task = tokio::spawn(async move {
            while let Some(bytes) = queue.recv().await {
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        let pongs = to_daemon.clone();
        let done = closing.clone();
        let name = target.clone();
        let read_task = tokio::spawn(async move {
            let reason = relay_from_daemon(&mut reader, &client, &pongs, keepalive).await;
            debug!(daemon = %name, reason, "proxied daemon connection ended");
            if !done.load(Ordering::SeqCst) {
                let _ = client.send(Outgoing::Disconnect(
                    "the proxied daemon closed the connection",
                ));
            }
        });
        Ok(ProxyLink {
            to_daemon,
            closing,
            tasks: vec![write_task.abort_handle(), read_task.abort_handle()],
            target,
        })
    }

    /// Queues one whole message for the daemon.
    pub fn forward(&self, bytes: Vec<u8>) -> Result<(), ForwardError> {
        self.to_daemon.try_send(bytes).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ForwardError::Backlog,
            mpsc::error::TrySendError::Closed(_) => ForwardError::Gone,
        })
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
    to_daemon: &mpsc::Sender<Vec<u8>>,
    pings: Keepalive,
) -> &'static str {
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut missed = 0u32;
    loop {
        let wait = pings.interval.unwrap_or(Duration::MAX);
        let read = match tokio::time::timeout(wait, reader.read(&mut buf)).await {
            Err(_) => {
                missed += 1;
                if missed > pings.count {
                    return "no keepalive response from the daemon";
                }
                if to_daemon.try_send(keepalive(PING)).is_err() {
                    return "cannot ping the daemon";
                }
                continue;
            }
            Ok(Ok(0)) => return "end of file",
            Ok(Err(_)) => return "read failed",
            Ok(Ok(n)) => n,
        };
        missed = 0;
        decoder.push(&buf[..read]);
        loop {
            let msg = match decoder.next_message() {
                Ok(Some(msg)) => msg,
                Ok(None) => break,
                Err(_) => return "bad message from the daemon",
            };
            let h = msg.header;
            if h.prog == KEEPALIVE_PROGRAM {
                if h.proc_ == PING && to_daemon.try_send(keepalive(PONG)).is_err() {
                    return "cannot answer the daemon's ping";
                }
                continue;
            }
            let bytes = msg.to_wire();
            let reply = matches!(
                h.message_type(),
                Some(MessageType::Reply) | Some(MessageType::ReplyWithFds)
            );
            let sent = if reply {
                client.send(Outgoing::CallDone(bytes))
            } else {
                client.send(Outgoing::Message(bytes))
            };
            if sent.is_err() {
                return "the client is gone";
            }
        }
    }
}
