//! The byte streams a [`Client`](crate::Client) runs on. One enum rather than
//! a trait object, so callers that drive the socket themselves (an epoll load
//! loop) can reach its descriptor and switch it to non-blocking mode.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::tls::TlsStream;

/// One connected stream to a daemon.
pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    /// Boxed: a TLS connection's state is a few kilobytes.
    Tls(Box<TlsStream>),
}

impl Stream {
    /// Switches the underlying socket between blocking and non-blocking.
    /// For TLS, reads then return `WouldBlock` until a whole record with
    /// plaintext has arrived.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_nonblocking(nonblocking),
            Stream::Tcp(s) => s.set_nonblocking(nonblocking),
            Stream::Tls(s) => s.sock.set_nonblocking(nonblocking),
        }
    }

    /// How long a read may block (`None`: forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_read_timeout(timeout),
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            Stream::Tls(s) => s.sock.set_read_timeout(timeout),
        }
    }

    /// Closes our sending direction: the daemon reads end of file.
    pub fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Tls(s) => s.sock.shutdown(Shutdown::Write),
        }
    }

    /// What a TLS connection negotiated (protocol version, cipher suite,
    /// key exchange group); `None` on the other transports.
    pub fn tls_parameters(&self) -> Option<String> {
        let Stream::Tls(s) = self else {
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

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Unix(s) => s.as_fd(),
            Stream::Tcp(s) => s.as_fd(),
            Stream::Tls(s) => s.sock.as_fd(),
        }
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.sock.as_raw_fd(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}
