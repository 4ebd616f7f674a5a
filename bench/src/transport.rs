//! Where a [`Session`](crate::wire::Session) connects: a Unix socket, or TLS
//! over TCP as libvirt's `+tls` transports use it. The streams themselves
//! are the client crate's ([`client::Stream`]); both are driven through the
//! same blocking and non-blocking code, so the only difference the load
//! generator sees is the encryption and the kernel's TCP path.

use std::path::PathBuf;

use crate::tls_client::TlsEndpoint;

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
