//! The client side of libvirt's TLS transport: a rustls client (ring
//! provider) that presents a client certificate, checks the server against
//! the CA, and waits for the daemon's one-byte confirmation before RPC.
//!
//! Session resumption is off: every connection does a full handshake, as
//! every new virsh process does.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A client's TLS connection to a daemon.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// The byte a libvirt daemon sends once it accepted the client's
/// certificate; anything else (or nothing) means refusal.
pub const CONFIRMATION: u8 = 0x01;

#[derive(Debug, thiserror::Error)]
pub enum TlsClientError {
    #[error("reading {path}: {source}")]
    Pem {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    #[error("TLS client configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("{0:?} is not a usable TLS server name")]
    ServerName(String),
}

/// Why a TLS connection did not reach the point where RPC may start.
#[derive(Debug, thiserror::Error)]
pub enum TlsConnectError {
    #[error("TCP connect: {0}")]
    Connect(io::Error),
    #[error("TLS handshake: {0}")]
    Handshake(io::Error),
    #[error("TLS client state: {0}")]
    Client(#[from] rustls::Error),
    #[error("the daemon sent {0:#04x} instead of the TLS confirmation byte")]
    BadConfirmation(u8),
    #[error("the daemon closed the connection without the TLS confirmation byte: {0}")]
    NoConfirmation(io::Error),
}

/// The files a libvirt client keeps in its `pkipath`.
#[derive(Debug, Clone)]
pub struct ClientFiles {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn pem_error(path: &Path) -> impl FnOnce(rustls_pki_types::pem::Error) -> TlsClientError + '_ {
    move |source| TlsClientError::Pem {
        path: path.to_path_buf(),
        source,
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsClientError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(path))?;
    if certs.is_empty() {
        return Err(TlsClientError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// A client configuration trusting `files.ca_cert` and presenting
/// `files.cert` with `files.key`; no session resumption.
pub fn client_config(files: &ClientFiles) -> Result<Arc<ClientConfig>, TlsClientError> {
    let mut roots = RootCertStore::empty();
    for ca in certificates(&files.ca_cert)? {
        roots.add(ca)?;
    }
    let chain = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(pem_error(&files.key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// A daemon's TLS port and how to talk to it.
#[derive(Clone)]
pub struct TlsEndpoint {
    pub addr: SocketAddr,
    pub server_name: ServerName<'static>,
    pub config: Arc<ClientConfig>,
}

impl TlsEndpoint {
    /// `server_name` must be in the server certificate (a DNS name or an
    /// IP address).
    pub fn new(
        addr: SocketAddr,
        server_name: &str,
        config: Arc<ClientConfig>,
    ) -> Result<TlsEndpoint, TlsClientError> {
        let server_name = ServerName::try_from(server_name.to_string())
            .map_err(|_| TlsClientError::ServerName(server_name.to_string()))?;
        Ok(TlsEndpoint {
            addr,
            server_name,
            config,
        })
    }

    /// Connects, completes the handshake and reads the confirmation byte:
    /// after this the stream carries RPC messages.
    pub fn connect(&self) -> Result<TlsStream, TlsConnectError> {
        let mut sock = TcpStream::connect(self.addr).map_err(TlsConnectError::Connect)?;
        // The handshake's flights are single writes; without Nagle's delay
        // none of them waits for an acknowledgement.
        sock.set_nodelay(true).map_err(TlsConnectError::Connect)?;
        let mut conn = ClientConnection::new(Arc::clone(&self.config), self.server_name.clone())?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)
                .map_err(TlsConnectError::Handshake)?;
        }
        let mut stream = StreamOwned::new(conn, sock);
        let mut byte = [0u8; 1];
        stream
            .read_exact(&mut byte)
            .map_err(TlsConnectError::NoConfirmation)?;
        if byte[0] != CONFIRMATION {
            return Err(TlsConnectError::BadConfirmation(byte[0]));
        }
        Ok(stream)
    }
}
