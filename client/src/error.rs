//! What can go wrong on a connection, from dialing to a decoded reply.

use std::time::Duration;

use protocol::error::codes;
use protocol::{FrameError, RemoteError, XdrError};

use crate::tls::TlsError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("failed to connect to {what}: {source}")]
    Connect {
        what: String,
        source: std::io::Error,
    },
    #[error("cannot talk to the daemon: {0}")]
    Io(#[from] std::io::Error),
    #[error("nothing received within {0:?}")]
    Timeout(Duration),
    /// End of stream between two messages.
    #[error("the daemon closed the connection")]
    Closed,
    /// End of stream in the middle of a message.
    #[error("the daemon closed the connection in the middle of a message")]
    Truncated,
    #[error("malformed message from the daemon: {0}")]
    Frame(#[from] FrameError),
    #[error("malformed reply from the daemon: {0}")]
    Decode(#[from] XdrError),
    #[error("SASL authentication is required by the daemon and not supported by this client")]
    SaslRequired,
    /// Boxed: rustls errors are large and this error travels far.
    #[error(transparent)]
    Tls(Box<TlsError>),
    /// The daemon answered with an error.
    #[error("{0}")]
    Remote(RemoteError),
}

impl From<TlsError> for ClientError {
    fn from(e: TlsError) -> ClientError {
        ClientError::Tls(Box::new(e))
    }
}

impl ClientError {
    /// The libvirt error the daemon sent, if that is what this is.
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            ClientError::Remote(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the daemon said the domain does not exist (it may have just gone away).
    pub fn is_no_domain(&self) -> bool {
        self.remote().is_some_and(|e| e.code == codes::NO_DOMAIN)
    }

    /// Whether the peer went away (end of stream or a reset connection).
    pub fn is_disconnect(&self) -> bool {
        match self {
            ClientError::Closed | ClientError::Truncated => true,
            ClientError::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}
