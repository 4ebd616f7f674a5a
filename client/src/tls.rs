//! libvirt's TLS transport, client side: x509 files as libvirt clients keep
//! them, a rustls session over TCP, and the one-byte confirmation (0x01) the
//! daemon sends once it has accepted our certificate, before any RPC.

use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};

/// A client's TLS connection to a daemon.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// The byte a libvirt daemon sends once it accepted the client's
/// certificate; anything else (or nothing) means refusal.
pub const CONFIRMATION: u8 = 0x01;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("Cannot read {what} '{path}': {reason}")]
    File {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("invalid TLS setup: {0}")]
    Setup(#[from] rustls::Error),
    #[error("invalid host name '{0}' for TLS")]
    HostName(String),
    #[error("TCP connect: {0}")]
    Connect(io::Error),
    #[error("TLS handshake failed: {0}")]
    Handshake(io::Error),
    #[error(
        "server verification (of our certificate or IP address) failed: \
         the daemon sent {0:#04x} instead of the confirmation byte"
    )]
    BadConfirmation(u8),
    #[error("Unable to read TLS confirmation: {0}")]
    NoConfirmation(io::Error),
}

/// Where the CA certificate, our certificate and our key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca_cert: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TlsFiles {
    /// The three files of one `pkipath` directory, by libvirt's names.
    pub fn in_directory(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca_cert: dir.join("cacert.pem"),
            client_cert: dir.join("clientcert.pem"),
            client_key: dir.join("clientkey.pem"),
        }
    }
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerCheck {
    /// Against the CA certificate and the server name.
    Verify,
    /// `no_verify=1`: any certificate; handshake signatures are still
    /// checked, so the session is at least bound to the presented key.
    AcceptAny,
}

/// A client configuration, built once and shared by many connections.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfig")
    }
}

impl TlsConfig {
    /// Trusts `files.ca_cert` (with [`ServerCheck::Verify`]) and presents our
    /// certificate when both of its files exist; without them none is
    /// offered and the daemon decides. `resume` allows session resumption;
    /// without it every connection does a whole handshake, as every new
    /// virsh process does.
    pub fn new(files: &TlsFiles, check: ServerCheck, resume: bool) -> Result<TlsConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?;
        let builder = match check {
            ServerCheck::Verify => {
                let mut roots = RootCertStore::empty();
                for cert in read_certs(&files.ca_cert, "CA certificate")? {
                    roots.add(cert)?;
                }
                builder.with_root_certificates(roots)
            }
            ServerCheck::AcceptAny => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServerCert { provider })),
        };
        let mut config = if files.client_cert.exists() && files.client_key.exists() {
            let chain = read_certs(&files.client_cert, "client certificate")?;
            let key =
                PrivateKeyDer::from_pem_file(&files.client_key).map_err(|e| TlsError::File {
                    what: "client key",
                    path: files.client_key.clone(),
                    reason: e.to_string(),
                })?;
            builder.with_client_auth_cert(chain, key)?
        } else {
            builder.with_no_client_auth()
        };
        if !resume {
            config.resumption = Resumption::disabled();
        }
        Ok(TlsConfig {
            config: Arc::new(config),
        })
    }
}

/// Connects to `addr`, completes the handshake checking `server_name`, and
/// reads the confirmation byte: after this the stream carries RPC messages.
pub fn connect(
    addr: impl ToSocketAddrs,
    server_name: &str,
    config: &TlsConfig,
) -> Result<TlsStream, TlsError> {
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|_| TlsError::HostName(server_name.to_string()))?;
    let mut sock = TcpStream::connect(addr).map_err(TlsError::Connect)?;
    // The handshake's flights are single writes; without Nagle's delay none
    // of them waits for an acknowledgement.
    sock.set_nodelay(true).map_err(TlsError::Connect)?;
    let mut conn = ClientConnection::new(Arc::clone(&config.config), name)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(TlsError::Handshake)?;
    }
    let mut stream = StreamOwned::new(conn, sock);
    let mut byte = [0u8; 1];
    stream
        .read_exact(&mut byte)
        .map_err(TlsError::NoConfirmation)?;
    if byte[0] != CONFIRMATION {
        return Err(TlsError::BadConfirmation(byte[0]));
    }
    Ok(stream)
}

fn read_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason: String| TlsError::File {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("no certificate found".to_string()));
    }
    Ok(certs)
}

/// The verifier behind [`ServerCheck::AcceptAny`].
#[derive(Debug)]
struct AnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
