//! RPC streams of one session: data that flows after a call (a console) as
//! STREAM messages carrying that call's procedure and serial.
//!
//! A relay task per stream copies bytes from the driver's socket to the
//! client (CONTINUE messages, an empty one at end of file) and from the client
//! to the socket. The client ends a stream with an empty OK (finish, answered
//! with an empty OK) or with ERROR (abort, not answered).

use std::collections::HashMap;
use std::io;

use protocol::frame;
use protocol::header::{Header, MessageType, Status};
use protocol::remote::STREAM_CHUNK_MAX;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tracing::debug;

use crate::server::client::{Outgoing, OutgoingSender};

/// Size of one read from the driver's socket.
const READ_CHUNK: usize = 16 * 1024;

#[derive(Default)]
pub struct StreamTable {
    /// Input channels of the open streams, by the serial of their call.
    inputs: HashMap<u32, mpsc::UnboundedSender<Vec<u8>>>,
}

impl StreamTable {
    /// Reserves the stream of the call with `serial` while its source is
    /// opened on a worker thread: data the client sends meanwhile waits in
    /// the stream's channel. Streams whose relay ended are forgotten here.
    pub fn reserve(&mut self, serial: u32) -> PendingStream {
        self.inputs.retain(|_, input| !input.is_closed());
        let (input, rx) = mpsc::unbounded_channel();
        self.inputs.insert(serial, input);
        PendingStream { input: rx }
    }

    /// A STREAM message from the client; returns the bytes to answer with.
    pub fn incoming(&mut self, header: &Header, body: &[u8]) -> Option<Vec<u8>> {
        let input = self.inputs.get(&header.serial)?;
        match header.status {
            s if s == Status::Continue as u32 => {
                if !body.is_empty() && input.send(body.to_vec()).is_err() {
                    self.inputs.remove(&header.serial);
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
    }
}

/// A stream whose source is being opened; dropping it closes the stream.
pub struct PendingStream {
    input: mpsc::UnboundedReceiver<Vec<u8>>,
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
            input: self.input,
            runtime: runtime.clone(),
        })
    }
}

/// A stream with its source open, ready to relay.
pub struct ReadyStream {
    socket: UnixStream,
    input: mpsc::UnboundedReceiver<Vec<u8>>,
    runtime: tokio::runtime::Handle,
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
async fn relay(
    mut socket: UnixStream,
    header: Header,
    out: OutgoingSender,
    mut input: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let mut buf = vec![0u8; READ_CHUNK.min(STREAM_CHUNK_MAX)];
    loop {
        tokio::select! {
            read = socket.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    // End of the console: an empty CONTINUE tells the client.
                    let _ = out.send(Outgoing::Message(frame::encode_message(&header, &[])));
                    break;
                }
                Ok(n) => {
                    if out.send(Outgoing::Message(frame::encode_message(&header, &buf[..n]))).is_err() {
                        break;
                    }
                }
            },
            data = input.recv() => match data {
                Some(bytes) => {
                    if socket.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    debug!(serial = header.serial, "stream closed");
}
