//! A protocol client for what real clients never send: malformed frames,
//! calls refused on read-only connections, silent keepalive peers. It is the
//! client crate's connection with keepalive answering off and events
//! dropped, plus panicking helpers for tests.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use client::{Client, ClientError};
use protocol::frame::{FrameError, Message};
use protocol::programs::{keepalive, remote_proc, KEEPALIVE_PROGRAM, REMOTE_PROGRAM};
use protocol::remote::{
    ConnectOpenArgs, DomainLookupByNameArgs, DomainLookupByNameRet, DomainOpenConsoleArgs,
};
use protocol::xdr::{self, Xdr};
use protocol::RemoteError;

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
    #[error("{0}")]
    Client(ClientError),
}

impl From<ClientError> for RawError {
    fn from(e: ClientError) -> RawError {
        match e {
            ClientError::Timeout(d) => RawError::Timeout(d),
            e if e.is_disconnect() => RawError::Closed,
            ClientError::Io(e) => RawError::Io(e),
            ClientError::Frame(e) => RawError::Frame(e),
            ClientError::Decode(e) => RawError::Decode(e),
            other => RawError::Client(other),
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

impl From<client::Reply> for Reply {
    fn from(reply: client::Reply) -> Reply {
        match reply {
            client::Reply::Ok(body) => Reply::Ok(body),
            client::Reply::Err(e) => Reply::Err(e),
        }
    }
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

/// One connection whose every byte the test decides.
pub struct RawClient {
    inner: Client,
    /// Keepalive PINGs received from the server so far (never answered).
    pub pings_received: usize,
    /// PINGs seen by [`RawClient::wait_for_close`] (the rest are counted by
    /// the client while it waits for replies).
    pings_while_closing: usize,
}

impl RawClient {
    pub fn unix(path: &Path) -> RawClient {
        let client = Client::connect_unix(path)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
        Self::new(client)
    }

    pub fn tcp(port: u16) -> RawClient {
        let client = Client::connect_tcp("127.0.0.1", port)
            .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
        Self::new(client)
    }

    fn new(mut inner: Client) -> RawClient {
        inner.set_answer_keepalive(false);
        inner.set_event_capacity(0);
        inner.set_read_timeout(Some(REPLY_TIMEOUT));
        RawClient {
            inner,
            pings_received: 0,
            pings_while_closing: 0,
        }
    }

    /// The client connection underneath.
    pub fn client(&mut self) -> &mut Client {
        &mut self.inner
    }

    /// Writes bytes as they are.
    pub fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.send_bytes(bytes)
    }

    /// Closes our sending direction (the server sees end of file).
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.inner.stream().shutdown_write()
    }

    /// Sends a CALL with the next serial and returns that serial.
    pub fn send_call(&mut self, prog: u32, proc_: i32, body: &[u8]) -> io::Result<u32> {
        self.inner.send_call(prog, proc_, body)
    }

    /// The next whole message, `Ok(None)` on a clean end of file.
    pub fn next_message(&mut self, timeout: Duration) -> Result<Option<Message>, RawError> {
        match self.inner.recv(Some(timeout)) {
            Ok(message) => Ok(message),
            Err(ClientError::Io(e)) if e.kind() == io::ErrorKind::ConnectionReset => Ok(None),
            Err(ClientError::Timeout(_)) => Err(RawError::Timeout(timeout)),
            Err(e) => Err(e.into()),
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
        let reply = self.inner.wait_reply(serial);
        self.count_pings();
        Ok(reply?.into())
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
        let args = ConnectOpenArgs {
            name: Some(name.to_string()),
            flags,
        };
        self.remote(remote_proc::CONNECT_OPEN, &encode(&args))
            .expect_ok("CONNECT_OPEN");
    }

    /// Looks domain `name` up on the open connection and sends DOMAIN_OPEN_CONSOLE
    /// for its first console; the call's serial, its reply unread.
    pub fn send_open_console(&mut self, name: &str) -> u32 {
        let dom: DomainLookupByNameRet = xdr::from_bytes(
            &self
                .remote(
                    remote_proc::DOMAIN_LOOKUP_BY_NAME,
                    &encode(&DomainLookupByNameArgs {
                        name: name.to_string(),
                    }),
                )
                .expect_ok("lookup"),
        )
        .expect("domain ref");
        let args = DomainOpenConsoleArgs {
            dom: dom.dom,
            dev_name: None,
            flags: 0,
        };
        self.send_call(
            REMOTE_PROGRAM,
            remote_proc::DOMAIN_OPEN_CONSOLE,
            &encode(&args),
        )
        .expect("send open console")
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
                        self.pings_while_closing += 1;
                        self.count_pings();
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

    fn count_pings(&mut self) {
        self.pings_received = self.inner.pings_received() as usize + self.pings_while_closing;
    }
}

/// XDR encoding of one value.
pub fn encode<T: Xdr>(value: &T) -> Vec<u8> {
    xdr::to_bytes(value)
}
