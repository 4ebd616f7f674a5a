//! One TLS client's admission: handshake, libvirtd's certificate checks,
//! then the single byte 0x01 that tells the client RPC may start. A refused
//! client gets nothing more and the connection is closed.

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, error, info, warn};

use super::chain::ChainError;
use super::checks::{self, CheckError, Role};
use super::dn;
use super::material::{self, Material};

/// The byte libvirt clients wait for after the handshake.
const CONFIRMATION: u8 = 0x01;

/// libvirt's label for the peer's certificate in its messages.
const PEER_LABEL: &str = "[session]";

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("TLS handshake failed {0}")]
    Handshake(std::io::Error),
    #[error("authentication failed: Failed to verify peer's certificate")]
    Refused,
    #[error("Unable to send TLS confirmation: {0}")]
    Confirm(std::io::Error),
    #[error("TLS handshake not completed within auth_timeout")]
    Timeout,
    #[error(
        "TLS handshake closed to make room for newer ones from the same or the busiest address"
    )]
    Evicted,
}

/// Why the peer's certificate does not pass.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("Unable to verify TLS peer: No certificate was found.")]
    NoCertificate,
    #[error("Certificate failed validation: {0}")]
    Chain(ChainError),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error("Client's Distinguished Name is not on the list of allowed clients (tls_allowed_dn_list).  Use 'virt-pki-query-dn clientcert.pem' to view the Distinguished Name field in the client certificate, or run this daemon with --verbose option.")]
    DnNotAllowed,
}

/// A client that may now speak RPC, with its certificate's DN when it sent one.
pub struct Admitted<IO> {
    pub stream: TlsStream<IO>,
    pub dname: Option<String>,
}

/// Runs the handshake and the checks; sends the confirmation on success.
pub async fn admit<IO>(material: Arc<Material>, io: IO) -> Result<Admitted<IO>, SessionError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let acceptor = TlsAcceptor::from(material.config.clone());
    let mut stream = acceptor.accept(io).await.map_err(SessionError::Handshake)?;
    let peer: Option<Vec<CertificateDer<'static>>> = stream
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.clone().into_owned()).collect());
    let (dname, verdict) = check_peer(&material, peer.as_deref());
    if let Some(dname) = &dname {
        debug!(dname = %dname, "peer DN");
    }
    if let Err(e) = verdict {
        warn!("Certificate check failed {e}");
        if material.policy.require_valid_cert {
            error!("{}", SessionError::Refused);
            return Err(SessionError::Refused);
        }
        info!("Ignoring bad certificate at user request");
    }
    stream
        .write_all(&[CONFIRMATION])
        .await
        .map_err(SessionError::Confirm)?;
    stream.flush().await.map_err(SessionError::Confirm)?;
    Ok(Admitted { stream, dname })
}

/// libvirtd's checks of a client certificate: not a CA, chain (CA, CRL,
/// times), then for the leaf its DN against the allow-list, key usage and
/// purpose. Returns the DN whenever it could be
/// read, and the verdict.
pub fn check_peer(
    material: &Material,
    peer: Option<&[CertificateDer<'_>]>,
) -> (Option<String>, Result<(), PeerError>) {
    let Some((leaf_der, intermediates)) = peer.and_then(|c| c.split_first()) else {
        return (None, Err(PeerError::NoCertificate));
    };
    let leaf = match checks::parse(leaf_der, PEER_LABEL, Role::Client) {
        Ok(leaf) => leaf,
        Err(e) => return (None, Err(e.into())),
    };
    let dname = dn::format_dn(leaf.subject());
    let verdict = judge(material, leaf_der, intermediates, &leaf, &dname);
    (Some(dname), verdict)
}

fn judge(
    material: &Material,
    leaf_der: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    leaf: &x509_parser::certificate::X509Certificate<'_>,
    dname: &str,
) -> Result<(), PeerError> {
    // webpki refuses a CA as end entity outright; check it first so the
    // reason given is libvirt's.
    checks::check_basic_constraints(leaf, PEER_LABEL, Role::Client, false)?;
    let now = material::now();
    material
        .trust
        .verify(leaf_der, intermediates, now)
        .map_err(PeerError::Chain)?;
    let now_secs = now.as_secs() as i64;
    checks::check_times(leaf, PEER_LABEL, Role::Client, false, now_secs)?;
    for der in intermediates {
        let cert = checks::parse(der, PEER_LABEL, Role::Client)?;
        checks::check_times(&cert, PEER_LABEL, Role::Client, true, now_secs)?;
    }
    if let Some(list) = &material.policy.allowed_dn_list {
        if !dn::allowed(dname, list) {
            debug!(dname, "Failed whitelist check for client DN");
            return Err(PeerError::DnNotAllowed);
        }
    }
    let mut warnings = Vec::new();
    checks::check_key_usage(leaf, PEER_LABEL, false, &mut warnings)?;
    checks::check_purpose(leaf, PEER_LABEL, Role::Client, &mut warnings)?;
    for w in warnings {
        warn!("{w}");
    }
    Ok(())
}
