//! The TLS transport of the client side: libvirt's certificate files, a rustls
//! session over TCP, and the one-byte confirmation (0x01) libvirtd sends once it has
//! accepted our certificate, before any RPC.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};

use crate::paths::Paths;

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
    #[error("TLS handshake failed: {0}")]
    Handshake(std::io::Error),
    #[error("server verification (of our certificate or IP address) failed")]
    NotConfirmed,
    #[error("Unable to read TLS confirmation: {0}")]
    Confirmation(std::io::Error),
}

/// Where the CA, our certificate and our key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPki {
    pub ca_cert: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl ClientPki {
    /// `pkipath=DIR` names all three files in one directory.
    pub fn in_directory(dir: &Path) -> ClientPki {
        ClientPki {
            ca_cert: dir.join("cacert.pem"),
            client_cert: dir.join("clientcert.pem"),
            client_key: dir.join("clientkey.pem"),
        }
    }

    /// libvirt's defaults: the system locations for root; for other users
    /// `~/.pki/libvirt/` file by file, falling back to the system ones.
    pub fn default_for(paths: &Paths) -> ClientPki {
        let system = ClientPki {
            ca_cert: paths.rooted(Path::new("/etc/pki/CA/cacert.pem")),
            client_cert: paths.rooted(Path::new("/etc/pki/libvirt/clientcert.pem")),
            client_key: paths.rooted(Path::new("/etc/pki/libvirt/private/clientkey.pem")),
        };
        if paths.privileged {
            return system;
        }
        let user_dir = paths
            .pki
            .ca_cert
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let user = ClientPki::in_directory(&user_dir);
        let pick = |preferred: PathBuf, fallback: PathBuf| {
            if preferred.exists() {
                preferred
            } else {
                fallback
            }
        };
        ClientPki {
            ca_cert: pick(user.ca_cert, system.ca_cert),
            client_cert: pick(user.client_cert, system.client_cert),
            client_key: pick(user.client_key, system.client_key),
        }
    }
}

/// Opens a TLS session to `host:port` and waits for libvirtd's confirmation byte.
/// With `verify_server` false (`no_verify=1`) the server's certificate is not checked.
pub fn connect(
    host: &str,
    port: u16,
    pki: &ClientPki,
    verify_server: bool,
) -> Result<StreamOwned<ClientConnection, TcpStream>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let builder = if verify_server {
        let mut roots = RootCertStore::empty();
        for cert in read_certs(&pki.ca_cert, "CA certificate")? {
            roots.add(cert)?;
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCert { provider }))
    };
    // Without a certificate of our own, none is offered (the server decides).
    let config = if pki.client_cert.exists() && pki.client_key.exists() {
        let chain = read_certs(&pki.client_cert, "client certificate")?;
        let key = PrivateKeyDer::from_pem_file(&pki.client_key).map_err(|e| TlsError::File {
            what: "client key",
            path: pki.client_key.clone(),
            reason: e.to_string(),
        })?;
        builder.with_client_auth_cert(chain, key)?
    } else {
        builder.with_no_client_auth()
    };
    let name =
        ServerName::try_from(host.to_string()).map_err(|_| TlsError::HostName(host.to_string()))?;
    let session = ClientConnection::new(Arc::new(config), name)?;
    let tcp = TcpStream::connect((host, port)).map_err(TlsError::Handshake)?;
    let mut stream = StreamOwned::new(session, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(TlsError::Handshake)?;
    }
    let mut confirmation = [0u8; 1];
    match stream.read(&mut confirmation) {
        Ok(1) if confirmation[0] == 1 => Ok(stream),
        Ok(_) => Err(TlsError::NotConfirmed),
        Err(e) => Err(TlsError::Confirmation(e)),
    }
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

/// `no_verify=1`: any server certificate is accepted; handshake signatures are still
/// checked, so the session is at least bound to the key that was presented.
#[derive(Debug)]
struct AnyServerCert {
    provider: Arc<rustls::crypto::CryptoProvider>,
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
