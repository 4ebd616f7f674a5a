//! One connection: calls in lock-step, keepalive answered while waiting,
//! unsolicited messages kept in a bounded queue.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use protocol::programs::{keepalive, KEEPALIVE_PROGRAM};
use protocol::xdr::{from_bytes, from_bytes_exact};
use protocol::{
    encode_message, FrameDecoder, Header, Message, MessageType, RemoteError, Status, Xdr,
};

use crate::error::ClientError;
use crate::stream::Stream;
use crate::tls::{self, TlsConfig};

/// Unsolicited messages kept by default before the oldest is dropped.
pub const DEFAULT_EVENT_QUEUE: usize = 1024;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;

/// The outcome of one call, undecoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Status OK: the XDR-encoded return value.
    Ok(Vec<u8>),
    /// Status ERROR: the daemon's error.
    Err(RemoteError),
}

/// A blocking connection to a daemon.
pub struct Client {
    stream: Stream,
    decoder: FrameDecoder,
    next_serial: u32,
    /// How long a reply or event may take; `None` waits forever.
    read_timeout: Option<Duration>,
    /// Whether the socket currently carries a read timeout.
    timeout_armed: bool,
    answer_pings: bool,
    pings_received: u64,
    events: VecDeque<Message>,
    event_capacity: usize,
    events_dropped: u64,
}

impl Client {
    /// A client on an already connected stream.
    pub fn new(stream: Stream) -> Client {
        Client {
            stream,
            decoder: FrameDecoder::new(),
            next_serial: 0,
            read_timeout: None,
            timeout_armed: false,
            answer_pings: true,
            pings_received: 0,
            events: VecDeque::new(),
            event_capacity: DEFAULT_EVENT_QUEUE,
            events_dropped: 0,
        }
    }

    /// Connects to a daemon's UNIX socket.
    pub fn connect_unix(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            what: format!("socket {}", path.display()),
            source,
        })?;
        Ok(Client::new(Stream::Unix(stream)))
    }

    /// Connects to a daemon's plain TCP port.
    pub fn connect_tcp(host: &str, port: u16) -> Result<Client, ClientError> {
        let stream = TcpStream::connect((host, port)).map_err(|source| ClientError::Connect {
            what: format!("{host}:{port}"),
            source,
        })?;
        // Calls are single small writes; none should wait for an ACK.
        stream.set_nodelay(true)?;
        Ok(Client::new(Stream::Tcp(stream)))
    }

    /// Connects to a daemon's TLS port, checking `server_name` in its
    /// certificate, and waits for its confirmation byte.
    pub fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        config: &TlsConfig,
    ) -> Result<Client, ClientError> {
        let stream = tls::connect(addr, server_name, config)?;
        Ok(Client::new(Stream::Tls(Box::new(stream))))
    }

    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// The stream, for callers that drive it themselves; bytes they read
    /// bypass this client.
    pub fn stream_mut(&mut self) -> &mut Stream {
        &mut self.stream
    }

    /// How long to wait for a reply or an event before [`ClientError::Timeout`].
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// Whether keepalive PINGs are answered (the default). A client that
    /// stays silent lets the daemon's keepalive declare it dead.
    pub fn set_answer_keepalive(&mut self, answer: bool) {
        self.answer_pings = answer;
    }

    /// How many unsolicited messages are kept; past it the oldest is dropped.
    pub fn set_event_capacity(&mut self, capacity: usize) {
        self.event_capacity = capacity;
        while self.events.len() > capacity {
            self.events.pop_front();
            self.events_dropped += 1;
        }
    }

    /// Keepalive PINGs received so far.
    pub fn pings_received(&self) -> u64 {
        self.pings_received
    }

    /// Unsolicited messages dropped because the queue was full.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Writes bytes as they are (also for deliberately malformed input).
    pub fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Sends a CALL with the next serial and returns that serial.
    pub fn send_call(&mut self, prog: u32, proc_: i32, body: &[u8]) -> io::Result<u32> {
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1);
        let header = Header::new(prog, proc_, MessageType::Call, serial);
        self.send_bytes(&encode_message(&header, body))?;
        Ok(serial)
    }

    /// Sends one call and returns its reply, answered or refused.
    pub fn call_reply(&mut self, prog: u32, proc_: i32, body: &[u8]) -> Result<Reply, ClientError> {
        let serial = self.send_call(prog, proc_, body)?;
        self.wait_reply(serial)
    }

    /// Sends one call and returns the body of its successful reply.
    pub fn call_raw(&mut self, prog: u32, proc_: i32, body: &[u8]) -> Result<Vec<u8>, ClientError> {
        match self.call_reply(prog, proc_, body)? {
            Reply::Ok(body) => Ok(body),
            Reply::Err(e) => Err(ClientError::Remote(e)),
        }
    }

    /// Sends one typed call and decodes its typed reply; trailing bytes in
    /// the reply are an error.
    pub fn call<A: Xdr, R: Xdr>(
        &mut self,
        prog: u32,
        proc_: i32,
        args: &A,
    ) -> Result<R, ClientError> {
        let body = self.call_raw(prog, proc_, &protocol::xdr::to_bytes(args))?;
        Ok(from_bytes_exact::<R>(&body)?)
    }

    /// Waits for the reply to `serial`, answering keepalive PINGs, queueing
    /// unsolicited messages and dropping replies to other serials.
    pub fn wait_reply(&mut self, serial: u32) -> Result<Reply, ClientError> {
        let deadline = self.deadline();
        loop {
            let message = self.recv_until(deadline)?.ok_or(ClientError::Closed)?;
            let h = message.header;
            if self.keepalive(&h)? {
                continue;
            }
            match h.message_type() {
                Some(MessageType::Reply) if h.serial == serial => {
                    return Ok(if h.status == Status::Error as u32 {
                        Reply::Err(from_bytes::<RemoteError>(&message.body)?)
                    } else {
                        Reply::Ok(message.body)
                    });
                }
                Some(MessageType::Reply | MessageType::ReplyWithFds) => {}
                _ => self.queue(message),
            }
        }
    }

    /// The next unsolicited message (event, stream data), from the queue or
    /// the wire; `Ok(None)` when the daemon closed the connection.
    pub fn next_event(&mut self) -> Result<Option<Message>, ClientError> {
        if let Some(event) = self.events.pop_front() {
            return Ok(Some(event));
        }
        let deadline = self.deadline();
        loop {
            let Some(message) = self.recv_until(deadline)? else {
                return Ok(None);
            };
            if self.keepalive(&message.header)? {
                continue;
            }
            if message.header.message_type() == Some(MessageType::Reply) {
                continue;
            }
            return Ok(Some(message));
        }
    }

    /// The next whole message as received, keepalive included and nothing
    /// answered; `Ok(None)` on end of stream between messages. Waits at
    /// most `timeout` (`None`: the read timeout).
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Option<Message>, ClientError> {
        let deadline = match timeout {
            Some(t) => Some((Instant::now() + t, t)),
            None => self.deadline(),
        };
        self.recv_until(deadline)
    }

    fn deadline(&self) -> Option<(Instant, Duration)> {
        self.read_timeout.map(|t| (Instant::now() + t, t))
    }

    fn recv_until(
        &mut self,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Option<Message>, ClientError> {
        let mut buf = [0u8; READ_CHUNK];
        loop {
            if let Some(message) = self.decoder.next_message()? {
                return Ok(Some(message));
            }
            match deadline {
                Some((at, limit)) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ClientError::Timeout(limit));
                    }
                    self.stream.set_read_timeout(Some(left))?;
                    self.timeout_armed = true;
                }
                None if self.timeout_armed => {
                    self.stream.set_read_timeout(None)?;
                    self.timeout_armed = false;
                }
                None => {}
            }
            match self.stream.read(&mut buf) {
                Ok(0) if self.decoder.buffered() == 0 => return Ok(None),
                Ok(0) => return Err(ClientError::Truncated),
                Ok(n) => self.decoder.push(&buf[..n]),
                // A timeout shows up as one of these; the deadline decides.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(ClientError::Io(e)),
            }
        }
    }

    /// Handles a keepalive message; true if `h` was one.
    fn keepalive(&mut self, h: &Header) -> Result<bool, ClientError> {
        if h.prog != KEEPALIVE_PROGRAM {
            return Ok(false);
        }
        if h.proc_ == keepalive::PING {
            self.pings_received += 1;
            if self.answer_pings {
                let pong = Header::new(KEEPALIVE_PROGRAM, keepalive::PONG, MessageType::Message, 0);
                self.send_bytes(&encode_message(&pong, &[]))?;
            }
        }
        Ok(true)
    }

    fn queue(&mut self, message: Message) {
        if self.event_capacity == 0 {
            self.events_dropped += 1;
            return;
        }
        if self.events.len() >= self.event_capacity {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(message);
    }
}
