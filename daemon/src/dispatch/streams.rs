//! RPC streams of one session: data that flows after a call (a console) as
//! STREAM messages carrying that call's procedure and serial.
//!
//! A relay task per stream copies bytes from the driver's socket to the
//! client (CONTINUE messages, an empty one at end of file) and from the client
//! to the socket. The client ends a stream with an empty OK (finish, answered
//! with an empty OK) or with ERROR (abort, not answered).
//!
//! Both directions are bounded. Towards the client, the relay stops reading
//! the driver's socket while the client's outgoing queue holds more than
//! [`STREAM_PAUSE_BYTES`]; the driver's copy then blocks and the guest's
//! writes to its console block in turn, so a client that reads slowly slows
//! the console down instead of growing the daemon or being disconnected.
//! Towards the guest, data the client sent and the guest has not taken is
//! at most [`STREAM_INPUT_LIMIT`] per stream: past it the session stops
//! reading the client until the guest takes some.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use protocol::frame;
use protocol::header::{Header, MessageType, Status};
use protocol::remote::STREAM_CHUNK_MAX;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tracing::debug;

use crate::server::client::{Outgoing, OutgoingSender};
#[cfg(doc)]
use crate::server::outbox::STREAM_PAUSE_BYTES;

/// Size of one read from the driver's socket.
const READ_CHUNK: usize = 16 * 1024;

/// Bytes of one stream's input (client to guest) that may wait for the
/// guest; at this level the session stops reading the client.
pub const STREAM_INPUT_LIMIT: usize = 1024 * 1024;

/// The client-to-guest side of one stream: a channel whose bytes in
/// transit are counted.
struct Input {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
}

impl Input {
    fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

#[derive(Default)]
pub struct StreamTable {
    /// Input channels of the open streams, by the serial of their call.
    inputs: HashMap<u32, Input>,
    /// Volume transfers (upload, download), by the serial of their call.
    volumes: HashMap<u32, VolumeInput>,
}

/// What the client sent on a volume transfer's stream.
#[derive(Debug, PartialEq, Eq)]
pub enum VolumeMessage {
    Data(Vec<u8>),
    /// A hole of this many bytes (VIR_NET_STREAM_HOLE).
    Hole(u64),
    /// The client finished the stream: the transfer completes, then the
    /// daemon answers the finish.
    Finish,
    /// The client aborted the stream.
    Abort,
}

/// The daemon's side of a volume transfer's input.
struct VolumeInput {
    tx: std::sync::mpsc::Sender<VolumeMessage>,
    queued: Arc<AtomicUsize>,
}

/// The worker's side of a volume transfer: what the client sends, and the
/// bytes of it not yet written (counted against [`STREAM_INPUT_LIMIT`]).
pub struct VolumeStream {
    pub rx: std::sync::mpsc::Receiver<VolumeMessage>,
    pub queued: Arc<AtomicUsize>,
}

impl VolumeStream {
    /// The worker wrote `n` bytes: they stop counting, and the session reads
    /// the client again if it had stopped.
    pub fn consumed(&self, n: usize, out: &OutgoingSender) {
        let before = self.queued.fetch_sub(n, Ordering::AcqRel);
        if before >= STREAM_INPUT_LIMIT && before - n < STREAM_INPUT_LIMIT {
            out.wake_reader();
        }
    }
}

impl StreamTable {
    /// Reserves the stream of the call with `serial` while its source is
    /// opened on a worker thread: data the client sends meanwhile waits in
    /// the stream's channel. Streams whose relay ended are forgotten here.
    pub fn reserve(&mut self, serial: u32) -> PendingStream {
        self.inputs.retain(|_, input| !input.is_closed());
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        self.inputs.insert(
            serial,
            Input {
                tx,
                queued: queued.clone(),
            },
        );
        PendingStream { input: rx, queued }
    }

    /// Registers the volume transfer of the call with `serial`.
    pub fn reserve_volume(&mut self, serial: u32) -> VolumeStream {
        let (tx, rx) = std::sync::mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        self.volumes.insert(
            serial,
            VolumeInput {
                tx,
                queued: queued.clone(),
            },
        );
        VolumeStream { rx, queued }
    }

    /// Whether some stream holds [`STREAM_INPUT_LIMIT`] bytes the guest has
    /// not taken: the session then stops reading the client (the relay
    /// wakes it when the guest catches up).
    pub fn input_full(&self) -> bool {
        self.inputs
            .values()
            .any(|i| !i.is_closed() && i.queued.load(Ordering::Acquire) >= STREAM_INPUT_LIMIT)
            || self
                .volumes
                .values()
                .any(|v| v.queued.load(Ordering::Acquire) >= STREAM_INPUT_LIMIT)
    }

    /// A STREAM or STREAM_HOLE message for a volume transfer. Nothing is
    /// answered here: the worker answers a finish once the volume is complete.
    fn volume_incoming(&mut self, header: &Header, body: &[u8]) -> Option<Vec<u8>> {
        let input = self.volumes.get(&header.serial)?;
        let message = if header.message_type() == Some(MessageType::StreamHole) {
            match protocol::xdr::from_bytes_exact::<(i64, u32)>(body) {
                Ok((len, _)) if len >= 0 => VolumeMessage::Hole(len as u64),
                _ => VolumeMessage::Abort,
            }
        } else if header.status == Status::Continue as u32 {
            if body.is_empty() {
                return None;
            }
            input.queued.fetch_add(body.len(), Ordering::AcqRel);
            VolumeMessage::Data(body.to_vec())
        } else if header.status == Status::Ok as u32 {
            VolumeMessage::Finish
        } else {
            VolumeMessage::Abort
        };
        let ends = matches!(message, VolumeMessage::Finish | VolumeMessage::Abort);
        if input.tx.send(message).is_err() || ends {
            self.volumes.remove(&header.serial);
        }
        None
    }

    /// A STREAM message from the client; returns the bytes to answer with.
    pub fn incoming(&mut self, header: &Header, body: &[u8]) -> Option<Vec<u8>> {
        if self.volumes.contains_key(&header.serial) {
            return self.volume_incoming(header, body);
        }
        let input = self.inputs.get(&header.serial)?;
        match header.status {
            s if s == Status::Continue as u32 => {
                if !body.is_empty() {
                    input.queued.fetch_add(body.len(), Ordering::AcqRel);
                    if input.tx.send(body.to_vec()).is_err() {
                        self.inputs.remove(&header.serial);
                    }
                }
                None
            }
            s if s == Status::Ok as u32 => {
                self.inputs.remove(&header.serial);
                let mut reply = *header;
                reply.mtype = MessageType::Stream as u32;
                reply.status = Status::Ok as u32;
                Some(frame::encode_message(&reply, &[]))
            }
            _ => {
                self.inputs.remove(&header.serial);
                None
            }
        }
    }

    pub fn is_open(&self, serial: u32) -> bool {
        self.inputs
            .get(&serial)
            .is_some_and(|input| !input.is_closed())
            || self.volumes.contains_key(&serial)
    }
}

/// A stream whose source is being opened; dropping it closes the stream.
pub struct PendingStream {
    input: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
}

impl PendingStream {
    /// Takes the opened source (from any thread); nothing flows until
    /// [`ReadyStream::relay`], so the call's reply can be queued first.
    pub fn attach(
        self,
        socket: std::os::unix::net::UnixStream,
        runtime: &tokio::runtime::Handle,
    ) -> io::Result<ReadyStream> {
        socket.set_nonblocking(true)?;
        let _entered = runtime.enter();
        Ok(ReadyStream {
            socket: UnixStream::from_std(socket)?,
            input: InputRx {
                rx: self.input,
                queued: self.queued,
            },
            runtime: runtime.clone(),
        })
    }
}

/// A stream with its source open, ready to relay.
pub struct ReadyStream {
    socket: UnixStream,
    input: InputRx,
    runtime: tokio::runtime::Handle,
}

/// The relay's end of a stream's input.
struct InputRx {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
}

impl ReadyStream {
    /// Starts copying for the stream opened by `call`.
    pub fn relay(self, call: &Header, out: OutgoingSender) {
        let mut header = *call;
        header.mtype = MessageType::Stream as u32;
        header.status = Status::Continue as u32;
        self.runtime
            .spawn(relay(self.socket, header, out, self.input));
    }
}

/// Copies between the socket and the client until either side ends.
async fn relay(socket: UnixStream, header: Header, out: OutgoingSender, input: InputRx) {
    let (from_guest, to_guest) = socket.into_split();
    tokio::select! {
        _ = to_client(from_guest, header, &out) => {}
        _ = to_guest_side(to_guest, input, &out) => {}
    }
    // The session may have stopped reading for this stream's input, which
    // no longer counts now that the stream is closed.
    out.wake_reader();
    debug!(serial = header.serial, "stream closed");
}

/// Guest to client, reading only while the client's queue has room.
async fn to_client(mut socket: OwnedReadHalf, header: Header, out: &OutgoingSender) {
    let mut buf = vec![0u8; READ_CHUNK.min(STREAM_CHUNK_MAX)];
    loop {
        if !out.stream_has_room() {
            out.stream_room().await;
            continue;
        }
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => {
                // End of the console: an empty CONTINUE tells the client.
                let _ = out.send(Outgoing::Message(frame::encode_message(&header, &[])));
                return;
            }
            Ok(n) => {
                let message = frame::encode_message(&header, &buf[..n]);
                if out.send(Outgoing::Message(message)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Client to guest; each chunk stops counting against
/// [`STREAM_INPUT_LIMIT`] once the guest side took it.
async fn to_guest_side(mut socket: OwnedWriteHalf, mut input: InputRx, out: &OutgoingSender) {
    while let Some(bytes) = input.rx.recv().await {
        let written = socket.write_all(&bytes).await;
        let before = input.queued.fetch_sub(bytes.len(), Ordering::AcqRel);
        if before >= STREAM_INPUT_LIMIT && before - bytes.len() < STREAM_INPUT_LIMIT {
            out.wake_reader();
        }
        if written.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::programs::{remote_proc, REMOTE_PROGRAM};
    use std::io::Read;

    fn data(serial: u32) -> Header {
        let mut h = Header::new(
            REMOTE_PROGRAM,
            remote_proc::DOMAIN_OPEN_CONSOLE,
            MessageType::Stream,
            serial,
        );
        h.status = Status::Continue as u32;
        h
    }

    #[test]
    fn volume_streams_pass_data_holes_finish_and_abort() {
        let mut table = StreamTable::default();
        let stream = table.reserve_volume(9);
        assert!(table.incoming(&data(9), b"abc").is_none());
        let mut hole = data(9);
        hole.mtype = MessageType::StreamHole as u32;
        let body = protocol::xdr::to_bytes(&(4096i64, 0u32));
        assert!(table.incoming(&hole, &body).is_none());
        let mut finish = data(9);
        finish.status = Status::Ok as u32;
        // The finish is answered by the worker once the volume is complete.
        assert!(table.incoming(&finish, &[]).is_none());
        assert!(!table.is_open(9));
        let got: Vec<VolumeMessage> = stream.rx.try_iter().collect();
        assert_eq!(
            got,
            vec![
                VolumeMessage::Data(b"abc".to_vec()),
                VolumeMessage::Hole(4096),
                VolumeMessage::Finish
            ]
        );

        let stream = table.reserve_volume(10);
        let mut abort = data(10);
        abort.status = Status::Error as u32;
        assert!(table.incoming(&abort, &[]).is_none());
        assert_eq!(stream.rx.try_recv(), Ok(VolumeMessage::Abort));
    }

    #[tokio::test]
    async fn input_the_guest_has_not_taken_is_bounded_and_freed_as_it_goes() {
        let mut table = StreamTable::default();
        let pending = table.reserve(7);
        let chunk = vec![b'x'; 64 * 1024];
        while !table.input_full() {
            assert!(table.incoming(&data(7), &chunk).is_none());
        }
        assert!(table.is_open(7));

        let (ours, mut guest) = std::os::unix::net::UnixStream::pair().expect("pair");
        let ready = pending
            .attach(ours, &tokio::runtime::Handle::current())
            .expect("attach");
        ready.relay(&data(7), OutgoingSender::detached());
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; STREAM_INPUT_LIMIT];
            guest
                .read_exact(&mut buf)
                .expect("the guest gets the input");
        });
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while table.input_full() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "input never drained"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tokio::task::spawn_blocking(move || reader.join().expect("reader"))
            .await
            .expect("join");
    }
}
