//! A small synchronous client of the remote protocol: one connection, one call at a
//! time. libvirt-guests makes a handful of calls per guest, so blocking I/O keeps it
//! simple; keepalive is not advertised, so the daemon never sends pings to answer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use protocol::error::codes;
use protocol::frame::{message_len, split_message, LEN_WORD};
use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
use protocol::remote::{auth_type, AuthListRet, AuthPolkitRet, ConnectOpenArgs};
use protocol::{encode_message_with, Header, MessageType, RemoteError, Status, Xdr, XdrError};

use super::target::{Target, Transport};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("failed to connect to {what}: {source}")]
    Connect {
        what: String,
        source: std::io::Error,
    },
    #[error("cannot talk to the daemon: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed reply from the daemon: {0}")]
    Decode(#[from] XdrError),
    #[error("malformed message from the daemon: {0}")]
    Frame(#[from] protocol::FrameError),
    #[error("the daemon closed the connection")]
    Closed,
    #[error("SASL authentication is required by the daemon and not supported by libvirt-guests")]
    SaslRequired,
    #[error("{0}")]
    Tls(#[from] super::tls::TlsError),
    #[error("{0}")]
    Remote(RemoteError),
}

impl ClientError {
    /// Whether the daemon said the domain does not exist (it may have just gone away).
    pub fn is_no_domain(&self) -> bool {
        matches!(self, ClientError::Remote(e) if e.code == codes::NO_DOMAIN)
    }
}

/// Either socket type, read and written the same way.
trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// An open connection to one driver of one daemon.
pub struct Client {
    stream: Box<dyn Stream>,
    serial: u32,
}

impl Client {
    /// Dials the daemon, authenticates (none or polkit) and opens the driver.
    pub fn open(target: &Target) -> Result<Client, ClientError> {
        let stream: Box<dyn Stream> = match &target.transport {
            Transport::Unix(path) => {
                Box::new(
                    UnixStream::connect(path).map_err(|source| ClientError::Connect {
                        what: format!("socket {}", path.display()),
                        source,
                    })?,
                )
            }
            Transport::Tcp { host, port } => Box::new(
                TcpStream::connect((host.as_str(), *port)).map_err(|source| {
                    ClientError::Connect {
                        what: format!("{host}:{port}"),
                        source,
                    }
                })?,
            ),
            Transport::Tls {
                host,
                port,
                pki,
                verify_server,
            } => Box::new(super::tls::connect(host, *port, pki, *verify_server)?),
        };
        let mut client = Client { stream, serial: 0 };
        let auth: AuthListRet = client.call(p::AUTH_LIST, &())?;
        if !auth.types.is_empty() && !auth.types.contains(&auth_type::NONE) {
            if auth.types.contains(&auth_type::POLKIT) {
                let _: AuthPolkitRet = client.call(p::AUTH_POLKIT, &())?;
            } else {
                return Err(ClientError::SaslRequired);
            }
        }
        let open = ConnectOpenArgs {
            name: target.open_name.clone(),
            flags: 0,
        };
        client.call::<_, ()>(p::CONNECT_OPEN, &open)?;
        Ok(client)
    }

    /// Sends one call of the remote program and waits for its reply.
    pub fn call<A: Xdr, R: Xdr>(&mut self, proc_: i32, args: &A) -> Result<R, ClientError> {
        self.serial = self.serial.wrapping_add(1);
        let header = Header::new(REMOTE_PROGRAM, proc_, MessageType::Call, self.serial);
        self.stream.write_all(&encode_message_with(&header, args))?;
        loop {
            let message = self.read_message()?;
            let (reply, body) = split_message(&message)?;
            // Anything else (events, stray replies) is not ours to answer.
            if reply.prog != REMOTE_PROGRAM
                || reply.mtype != MessageType::Reply as u32
                || reply.serial != self.serial
            {
                continue;
            }
            if reply.status == Status::Error as u32 {
                let error = protocol::xdr::from_bytes::<RemoteError>(body)?;
                return Err(ClientError::Remote(error));
            }
            return Ok(protocol::xdr::from_bytes_exact::<R>(body)?);
        }
    }

    fn read_message(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut word = [0u8; LEN_WORD];
        if let Err(e) = self.stream.read_exact(&mut word) {
            return Err(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                ClientError::Closed
            } else {
                ClientError::Io(e)
            });
        }
        let len = message_len(word)?;
        let mut message = vec![0u8; len];
        message[..LEN_WORD].copy_from_slice(&word);
        self.stream.read_exact(&mut message[LEN_WORD..])?;
        Ok(message)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // A polite goodbye; the daemon copes with a plain hang-up too.
        let _ = self.call::<_, ()>(p::CONNECT_CLOSE, &());
    }
}
