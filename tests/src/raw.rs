//! A minimal protocol client for what real clients never send: malformed
//! frames, calls refused on read-only connections, silent keepalive peers.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use protocol::error::RemoteError;
use protocol::frame::{encode_message, FrameDecoder, FrameError, Message};
use protocol::header::{Header, MessageType, Status};
use protocol::programs::{keepalive, remote_proc, KEEPALIVE_PROGRAM, REMOTE_PROGRAM};
use protocol::xdr::{self, Xdr};

/// Default wait for one reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("nothing received within {0:?}")]
    Timeout(Duration),
    #[error("the server closed the connection")]
    Closed,
    #[error("the server sent an illegal frame: {0}")]
    Frame(#[from] FrameError),
    #[error("cannot decode the reply body: {0}")]
    Decode(#[from] xdr::XdrError),
}

enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_read_timeout(t),
            Conn::Tcp(s) => s.set_read_timeout(t),
        }
    }
    fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.shutdown(Shutdown::Write),
            Conn::Tcp(s) => s.shutdown(Shutdown::Write),
        }
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.write_all(buf),
            Conn::Tcp(s) => s.write_all(buf),
        }
    }
}

/// The outcome of one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Status OK: the XDR-encoded return value.
    Ok(Vec<u8>),
    /// Status ERROR: the decoded error.
    Err(RemoteError),
}

impl Reply {
    /// The body of a successful reply; panics on an error reply.
    pub fn expect_ok(self, what: &str) -> Vec<u8> {
        match self {
            Reply::Ok(body) => body,
            Reply::Err(e) => panic!(
                "{what}: expected success, got error {}/{}: {e}",
                e.code, e.domain
            ),
        }
    }
    /// The error of an error reply; panics on success.
    pub fn expect_err(self, what: &str) -> RemoteError {
        match self {
            Reply::Err(e) => e,
            Reply::Ok(body) => panic!(
                "{what}: expected an error, got success ({} bytes)",
                body.len()
            ),
        }
    }
}

/// One connection speaking the wire protocol by hand.
pub struct RawClient {
    conn: Conn,
    decoder: FrameDecoder,
    next_serial: u32,
    /// Keepalive PINGs received from the server so far (never answered).
    pub pings_received: usize,
}

impl RawClient {
    pub fn unix(path: &Path) -> RawClient {
        let stream = UnixStream::connect(path)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
        Self::new(Conn::Unix(stream))
    }

    pub fn tcp(port: u16) -> RawClient {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
        Self::new(Conn::Tcp(stream))
    }

    fn new(conn: Conn) -> RawClient {
        RawClient {
            conn,
            decoder: FrameDecoder::new(),
            next_serial: 0,
            pings_received: 0,
        }
    }

    /// Writes bytes as they are.
    pub fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.conn.write_all(bytes)
    }

    /// Closes our sending direction (the server sees end of file).
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.conn.shutdown_write()
    }

    /// Sends a CALL with the next serial and returns that serial.
    pub fn send_call(&mut self, prog: u32, proc_: i32, body: &[u8]) -> io::Result<u32> {
        let serial = self.next_serial;
        self.next_serial += 1;
        let header = Header::new(prog, proc_, MessageType::Call, serial);
        self.send_bytes(&encode_message(&header, body))?;
        Ok(serial)
    }

    /// The next whole message, `Ok(None)` on a clean end of file.
    pub fn next_message(&mut self, timeout: Duration) -> Result<Option<Message>, RawError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(message) = self.decoder.next_message()? {
                return Ok(Some(message));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RawError::Timeout(timeout));
            }
            self.conn.set_read_timeout(Some(left))?;
            let mut buf = [0u8; 65536];
            match self.conn.read(&mut buf) {
                Ok(0) if self.decoder.buffered() == 0 => return Ok(None),
                Ok(0) => return Err(RawError::Closed),
                Ok(n) => self.decoder.push(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(RawError::Timeout(timeout))
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends a call and waits for the reply with the same serial, counting
    /// (and not answering) keepalive PINGs and skipping events meanwhile.
    pub fn try_call(&mut self, prog: u32, proc_: i32, body: &[u8]) -> Result<Reply, RawError> {
        let serial = self.send_call(prog, proc_, body)?;
        self.wait_reply(serial)
    }

    /// Waits for the reply to `serial`.
    pub fn wait_reply(&mut self, serial: u32) -> Result<Reply, RawError> {
        loop {
            let message = self.next_message(REPLY_TIMEOUT)?.ok_or(RawError::Closed)?;
            let h = message.header;
            if h.prog == KEEPALIVE_PROGRAM {
                if h.proc_ == keepalive::PING {
                    self.pings_received += 1;
                }
                continue;
            }
            if h.mtype != MessageType::Reply as u32 || h.serial != serial {
                continue;
            }
            return Ok(if h.status == Status::Error as u32 {
                Reply::Err(xdr::from_bytes::<RemoteError>(&message.body)?)
            } else {
                Reply::Ok(message.body)
            });
        }
    }

    /// [`Self::try_call`], panicking on transport errors.
    pub fn call(&mut self, prog: u32, proc_: i32, body: &[u8]) -> Reply {
        self.try_call(prog, proc_, body)
            .unwrap_or_else(|e| panic!("call prog {prog:#x} proc {proc_}: {e}"))
    }

    /// A call of the remote program.
    pub fn remote(&mut self, proc_: i32, body: &[u8]) -> Reply {
        self.call(REMOTE_PROGRAM, proc_, body)
    }

    /// AUTH_LIST then CONNECT_OPEN(name, flags), both expected to succeed.
    pub fn open(&mut self, name: &str, flags: u32) {
        self.remote(remote_proc::AUTH_LIST, &[])
            .expect_ok("AUTH_LIST");
        let mut args = Vec::new();
        Some(name.to_string()).encode(&mut args);
        flags.encode(&mut args);
        self.remote(remote_proc::CONNECT_OPEN, &args)
            .expect_ok("CONNECT_OPEN");
    }

    /// Reads until the server closes the connection, returning the messages
    /// received before that; an error if it is still open after `timeout`.
    pub fn wait_for_close(&mut self, timeout: Duration) -> Result<Vec<Message>, RawError> {
        let deadline = Instant::now() + timeout;
        let mut received = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_message(left) {
                Ok(Some(message)) => {
                    let h = message.header;
                    if h.prog == KEEPALIVE_PROGRAM && h.proc_ == keepalive::PING {
                        self.pings_received += 1;
                    }
                    received.push(message);
                }
                Ok(None) | Err(RawError::Closed) => return Ok(received),
                Err(RawError::Io(e)) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Ok(received)
                }
                Err(RawError::Timeout(_)) => return Err(RawError::Timeout(timeout)),
                Err(e) => return Err(e),
            }
        }
    }
}

/// XDR encoding of one value.
pub fn encode<T: Xdr>(value: &T) -> Vec<u8> {
    xdr::to_bytes(value)
}
