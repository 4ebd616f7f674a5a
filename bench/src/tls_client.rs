//! The benchmark's side of libvirt's TLS transport: the client crate's TLS
//! connection, presenting a client certificate and checking the server
//! against the CA.
//!
//! Session resumption is off: every connection does a full handshake, as
//! every new virsh process does.

use std::net::SocketAddr;
use std::path::PathBuf;

use client::{Client, ClientError, ServerCheck, TlsConfig, TlsError, TlsFiles};

/// The files a libvirt client keeps in its `pkipath`.
#[derive(Debug, Clone)]
pub struct ClientFiles {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A client configuration trusting `files.ca_cert` and presenting
/// `files.cert` with `files.key`; no session resumption.
pub fn client_config(files: &ClientFiles) -> Result<TlsConfig, TlsError> {
    let files = TlsFiles {
        ca_cert: files.ca_cert.clone(),
        client_cert: files.cert.clone(),
        client_key: files.key.clone(),
    };
    TlsConfig::new(&files, ServerCheck::Verify, false)
}

/// A daemon's TLS port and how to talk to it.
#[derive(Clone)]
pub struct TlsEndpoint {
    pub addr: SocketAddr,
    /// Must be in the server certificate (a DNS name or an IP address).
    pub server_name: String,
    pub config: TlsConfig,
}

impl TlsEndpoint {
    pub fn new(addr: SocketAddr, server_name: &str, config: TlsConfig) -> TlsEndpoint {
        TlsEndpoint {
            addr,
            server_name: server_name.to_string(),
            config,
        }
    }

    /// Connects, completes the handshake and reads the confirmation byte:
    /// after this the connection carries RPC messages.
    pub fn connect(&self) -> Result<Client, ClientError> {
        Client::connect_tls(self.addr, &self.server_name, &self.config)
    }
}
