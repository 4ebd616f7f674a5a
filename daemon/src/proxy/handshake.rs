//! Opening the backend leg of a proxied connection, on a worker: connect to the
//! per-driver daemon's socket, authenticate, open the client's URI there and
//! hand over the client's identity (CONNECT_SET_IDENTITY), each step a plain
//! blocking call with a deadline.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use protocol::frame::{encode_message, message_len, split_message};
use protocol::header::{Header, MessageType, Status};
use protocol::programs::{remote_proc as p, KEEPALIVE_PROGRAM, REMOTE_PROGRAM};
use protocol::remote::{AuthListRet, ConnectOpenArgs, ConnectSetIdentityArgs};
use protocol::typed_param::TypedParam;
use protocol::xdr::Xdr;

/// How long each step of the handshake may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// `REMOTE_AUTH_POLKIT`.
const AUTH_POLKIT: i32 = 2;
const AUTH_NONE: i32 = 0;

/// Why the backend leg could not be opened.
#[derive(Debug)]
pub enum HandshakeError {
    /// The daemon's socket could not be reached (libvirt's wording).
    Connect(String),
    /// The daemon answered a step with an error reply: its header and body,
    /// to pass to the client as they are.
    Refused(Header, Vec<u8>),
    /// Anything else, as an internal error.
    Other(String),
}

/// One backend connection in the middle of its handshake.
pub struct Handshake {
    stream: UnixStream,
    serial: u32,
}

impl Handshake {
    pub fn connect(socket: &Path) -> Result<Handshake, HandshakeError> {
        let stream = UnixStream::connect(socket).map_err(|e| {
            HandshakeError::Connect(format!(
                "Failed to connect socket to '{}': {}",
                socket.display(),
                io_text(&e)
            ))
        })?;
        stream
            .set_read_timeout(Some(STEP_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(STEP_TIMEOUT)))
            .map_err(|e| HandshakeError::Other(e.to_string()))?;
        Ok(Handshake { stream, serial: 0 })
    }

    /// Sends one call and waits for its reply, answering the daemon's
    /// keepalive pings meanwhile. Error replies come back as `Refused`.
    fn call<A: Xdr>(&mut self, proc_: i32, args: &A) -> Result<Vec<u8>, HandshakeError> {
        self.serial += 1;
        let header = Header::new(REMOTE_PROGRAM, proc_, MessageType::Call, self.serial);
        let mut body = Vec::new();
        args.encode(&mut body);
        self.write(&encode_message(&header, &body))?;
        loop {
            let (h, body) = self.read()?;
            if h.prog == KEEPALIVE_PROGRAM {
                if h.proc_ == super::link::PING {
                    self.write(&super::link::keepalive(super::link::PONG))?;
                }
                continue;
            }
            if h.prog != REMOTE_PROGRAM || h.serial != self.serial {
                continue;
            }
            if h.status != Status::Ok as u32 {
                return Err(HandshakeError::Refused(h, body));
            }
            return Ok(body);
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), HandshakeError> {
        self.stream
            .write_all(bytes)
            .map_err(|e| HandshakeError::Other(format!("cannot write to the daemon: {e}")))
    }

    fn read(&mut self) -> Result<(Header, Vec<u8>), HandshakeError> {
        let fail =
            |e: std::io::Error| HandshakeError::Other(format!("cannot read from the daemon: {e}"));
        let mut word = [0u8; 4];
        self.stream.read_exact(&mut word).map_err(fail)?;
        let len = message_len(word).map_err(|e| HandshakeError::Other(format!("{e:?}")))?;
        let mut buf = vec![0u8; len];
        buf[..4].copy_from_slice(&word);
        self.stream.read_exact(&mut buf[4..]).map_err(fail)?;
        let (h, body) = split_message(&buf).map_err(|e| HandshakeError::Other(format!("{e:?}")))?;
        Ok((h, body.to_vec()))
    }

    /// Authenticates as root on the daemon's socket (polkit admits root).
    pub fn authenticate(&mut self) -> Result<(), HandshakeError> {
        let body = self.call(p::AUTH_LIST, &())?;
        let types = protocol::xdr::from_bytes_exact::<AuthListRet>(&body)
            .map_err(|e| HandshakeError::Other(format!("bad AUTH_LIST reply: {e:?}")))?
            .types;
        if types.is_empty() || types.contains(&AUTH_NONE) {
            return Ok(());
        }
        if types.contains(&AUTH_POLKIT) {
            self.call(p::AUTH_POLKIT, &())?;
            return Ok(());
        }
        Err(HandshakeError::Other(
            "the daemon asks for an authentication this proxy cannot give (SASL)".to_string(),
        ))
    }

    pub fn open(&mut self, args: &ConnectOpenArgs) -> Result<(), HandshakeError> {
        self.call(p::CONNECT_OPEN, args).map(|_| ())
    }

    pub fn set_identity(&mut self, params: Vec<TypedParam>) -> Result<(), HandshakeError> {
        self.call(
            p::CONNECT_SET_IDENTITY,
            &ConnectSetIdentityArgs { params, flags: 0 },
        )
        .map(|_| ())
    }

    /// The connected stream, ready for relaying.
    pub fn into_stream(self) -> UnixStream {
        self.stream
    }
}

fn io_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(_) => crate::logging::os_error_text(e),
        None => e.to_string(),
    }
}
