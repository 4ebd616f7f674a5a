//! The byte streams a [`Session`](crate::wire::Session) can run on: a Unix
//! socket, or TLS over TCP as libvirt's `+tls` transports use it.
//!
//! Both are driven through the same blocking and non-blocking code, so the
//! only difference the load generator sees is the encryption and the
//! kernel's TCP path.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use crate::tls_client::{TlsEndpoint, TlsStream};

/// One connected stream to a daemon.
pub enum Transport {
    Unix(UnixStream),
    /// Boxed: a TLS connection's state is a few kilobytes.
    Tls(Box<TlsStream>),
}

impl Transport {
    /// Switches the underlying socket between blocking and non-blocking.
    /// For TLS, reads then return `WouldBlock` until a whole record with
    /// plaintext has arrived.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            Transport::Unix(s) => s.set_nonblocking(nonblocking),
            Transport::Tls(s) => s.sock.set_nonblocking(nonblocking),
        }
    }

    /// What a TLS connection negotiated (protocol version, cipher suite,
    /// key exchange group), for the report; `None` on a Unix socket.
    pub fn tls_parameters(&self) -> Option<String> {
        let Transport::Tls(s) = self else {
            return None;
        };
        let part = |p: Option<String>| p.unwrap_or_else(|| "?".to_string());
        Some(format!(
            "{}, {}, {}",
            part(s.conn.protocol_version().map(|v| format!("{v:?}"))),
            part(
                s.conn
                    .negotiated_cipher_suite()
                    .map(|c| format!("{:?}", c.suite()))
            ),
            part(
                s.conn
                    .negotiated_key_exchange_group()
                    .map(|g| format!("{:?}", g.name()))
            ),
        ))
    }
}

impl AsRawFd for Transport {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Transport::Unix(s) => s.as_raw_fd(),
            Transport::Tls(s) => s.sock.as_raw_fd(),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Unix(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Unix(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Unix(s) => s.flush(),
            Transport::Tls(s) => s.flush(),
        }
    }
}

/// Where new sessions connect to.
#[derive(Clone)]
pub enum Endpoint {
    /// The daemon's read-write Unix socket.
    Unix(PathBuf),
    /// The daemon's TLS port, with the client's certificate and trust.
    Tls(TlsEndpoint),
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            Endpoint::Tls(tls) => write!(f, "tls:{}", tls.addr),
        }
    }
}
