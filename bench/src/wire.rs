//! The few remote-program calls the benchmark makes, on the client crate's
//! connection (Unix socket or TLS), one at a time.
//!
//! Both daemons are driven with byte-identical messages built here, so any
//! difference in the figures comes from the servers.

use std::path::Path;

use client::{Client, ClientError, Stream, TlsError};
use protocol::frame::{encode_message, LEN_WORD};
use protocol::header::{Header, MessageType, Status};
use protocol::programs::{remote_proc, REMOTE_PROGRAM};
use protocol::remote::{ConnectGetLibVersionRet, ConnectOpenArgs};
use protocol::xdr::{from_bytes, to_bytes};
use protocol::RemoteError;

use crate::transport::Endpoint;

/// The hypervisor URI every connection opens: libvirt's built-in test
/// driver, so no hypervisor is involved on either side.
pub const TEST_URI: &str = "test:///default";

/// Offset of the serial word inside an encoded message (after the length
/// word and four header words).
pub const SERIAL_OFFSET: usize = LEN_WORD + 16;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("socket i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("reply to {proc_name} carries serial {got}, expected {want}")]
    SerialMismatch {
        proc_name: &'static str,
        got: u32,
        want: u32,
    },
    #[error("{proc_name} failed: {message}")]
    Remote {
        proc_name: &'static str,
        message: String,
    },
    #[error("unexpected reply body to {0}")]
    Body(&'static str),
    /// Boxed: rustls errors are large and this error travels through the
    /// load loop's results.
    #[error(transparent)]
    Tls(Box<TlsError>),
    /// Boxed for the same reason.
    #[error(transparent)]
    Client(Box<ClientError>),
}

impl From<ClientError> for WireError {
    fn from(e: ClientError) -> WireError {
        match e {
            ClientError::Connect { source, .. } | ClientError::Io(source) => WireError::Io(source),
            ClientError::Tls(e) => WireError::Tls(e),
            other => WireError::Client(Box::new(other)),
        }
    }
}

/// Builds one call message of the remote program.
pub fn call_message(proc_: i32, serial: u32, body: &[u8]) -> Vec<u8> {
    let header = Header::new(REMOTE_PROGRAM, proc_, MessageType::Call, serial);
    encode_message(&header, body)
}

/// The arguments of CONNECT_OPEN for [`TEST_URI`], read-write.
pub fn connect_open_body() -> Vec<u8> {
    to_bytes(&ConnectOpenArgs {
        name: Some(TEST_URI.to_string()),
        flags: 0,
    })
}

/// Checks a reply header against the call it answers and turns an error
/// reply into [`WireError::Remote`] with libvirt's message.
pub fn check_reply(header: &Header, body: &[u8], proc_: i32, serial: u32) -> Result<(), WireError> {
    let proc_name = remote_proc::name(proc_).unwrap_or("call");
    if header.serial != serial || header.proc_ != proc_ {
        return Err(WireError::SerialMismatch {
            proc_name,
            got: header.serial,
            want: serial,
        });
    }
    if header.status_kind() == Some(Status::Ok) {
        return Ok(());
    }
    let message = from_bytes::<RemoteError>(body)
        .ok()
        .and_then(|e| e.message)
        .unwrap_or_else(|| format!("status {}", header.status));
    Err(WireError::Remote { proc_name, message })
}

/// One connection used in lock-step: send a call, wait for its reply.
pub struct Session {
    client: Client,
}

impl Session {
    /// A session on a daemon's Unix socket.
    pub fn connect(socket: &Path) -> Result<Session, WireError> {
        Ok(Session::from_client(Client::connect_unix(socket)?))
    }

    /// A session on either transport; for TLS the handshake and the
    /// confirmation byte are done when this returns.
    pub fn connect_to(endpoint: &Endpoint) -> Result<Session, WireError> {
        match endpoint {
            Endpoint::Unix(socket) => Session::connect(socket),
            Endpoint::Tls(tls) => Ok(Session::from_client(tls.connect()?)),
        }
    }

    pub fn from_stream(stream: std::os::unix::net::UnixStream) -> Session {
        Session::from_client(Client::new(Stream::Unix(stream)))
    }

    pub fn from_client(client: Client) -> Session {
        Session { client }
    }

    pub fn stream(&self) -> &Stream {
        self.client.stream()
    }

    /// The socket, for the load engine that drives it itself.
    pub fn stream_mut(&mut self) -> &mut Stream {
        self.client.stream_mut()
    }

    /// Sends one call and returns the body of its successful reply.
    /// Asynchronous messages (keepalive, events) are skipped.
    pub fn call(&mut self, proc_: i32, body: &[u8]) -> Result<Vec<u8>, WireError> {
        match self.client.call_raw(REMOTE_PROGRAM, proc_, body) {
            Err(ClientError::Remote(e)) => Err(WireError::Remote {
                proc_name: remote_proc::name(proc_).unwrap_or("call"),
                message: e.to_string(),
            }),
            other => Ok(other?),
        }
    }

    /// AUTH_LIST then CONNECT_OPEN of [`TEST_URI`]: what every client does
    /// before its first API call.
    pub fn open_test_driver(&mut self) -> Result<(), WireError> {
        self.call(remote_proc::AUTH_LIST, &[])?;
        self.call(remote_proc::CONNECT_OPEN, &connect_open_body())?;
        Ok(())
    }

    /// CONNECT_GET_LIB_VERSION, returning the version number.
    pub fn lib_version(&mut self) -> Result<u64, WireError> {
        let body = self.call(remote_proc::CONNECT_GET_LIB_VERSION, &[])?;
        from_bytes::<ConnectGetLibVersionRet>(&body)
            .map(|r| r.lib_ver)
            .map_err(|_| WireError::Body("CONNECT_GET_LIB_VERSION"))
    }

    /// CONNECT_CLOSE, the polite end of a session.
    pub fn close(&mut self) -> Result<(), WireError> {
        self.call(remote_proc::CONNECT_CLOSE, &[])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn auth_list_call_matches_the_captured_bytes() {
        let msg = call_message(remote_proc::AUTH_LIST, 0, &[]);
        assert_eq!(
            hex(&msg),
            "0000001c200080860000000100000042000000000000000000000000"
        );
    }

    #[test]
    fn connect_open_carries_the_test_uri() {
        let msg = call_message(remote_proc::CONNECT_OPEN, 1, &connect_open_body());
        // length 28 + present word + length word + 15 bytes padded to 16 + flags
        assert_eq!(msg.len(), 28 + 4 + 4 + 16 + 4);
        assert_eq!(&msg[SERIAL_OFFSET..SERIAL_OFFSET + 4], &[0, 0, 0, 1]);
        assert_eq!(&msg[36..51], TEST_URI.as_bytes());
    }

    #[test]
    fn error_reply_becomes_remote_error_with_message() {
        let call = Header::new(REMOTE_PROGRAM, 1, MessageType::Call, 7);
        let body = to_bytes(&RemoteError::new(1, 7, "boom"));
        let err = check_reply(&call.error_reply_to(), &body, 1, 7).unwrap_err();
        assert_eq!(err.to_string(), "CONNECT_OPEN failed: boom");
    }

    #[test]
    fn reply_with_other_serial_is_refused() {
        let call = Header::new(REMOTE_PROGRAM, 157, MessageType::Call, 3);
        let err = check_reply(&call.reply_to(), &[], 157, 4).unwrap_err();
        assert!(matches!(
            err,
            WireError::SerialMismatch {
                got: 3,
                want: 4,
                ..
            }
        ));
    }
}
