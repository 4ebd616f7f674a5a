//! A blocking client of the libvirt RPC protocol, built on the `protocol`
//! crate's codec (the same framing and XDR the daemon serves with).
//!
//! One [`Client`] is one connection: over a UNIX socket, plain TCP or TLS with
//! libvirt's x509 client certificate files. Calls are made one at a time
//! ([`Client::call`]); while a reply is awaited the client answers the
//! daemon's keepalive PINGs and keeps unsolicited messages (events, stream
//! data) in a bounded queue. It is what `libvirt-guests`, the benchmark and
//! the integration tests use to speak the protocol.

mod connection;
mod error;
mod open;
mod stream;
pub mod tls;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tls_tests;

pub use connection::{Client, Reply, DEFAULT_EVENT_QUEUE};
pub use error::ClientError;
pub use stream::Stream;
pub use tls::{ServerCheck, TlsConfig, TlsError, TlsFiles, TlsStream};
