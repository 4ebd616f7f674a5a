//! One loaded TLS identity: the rustls configuration for new handshakes plus
//! what the after-handshake check needs (CA, CRLs, DN list, policy). A reload
//! builds a new [`Material`] and swaps it in whole, so a failed reload leaves
//! the previous one untouched.

use std::path::Path;
use std::sync::Arc;

use rustls::server::ServerConfig;
use rustls_pki_types::{CertificateDer, UnixTime};
use tracing::{debug, warn};

use super::chain::{ChainError, TrustStore};
use super::checks::{self, CheckError, Role};
use super::files::{self, FilesError, TlsFiles};
use super::priority::{self, PriorityError};
use super::verifier::RequestAnyClientCert;

/// The settings that decide how clients are judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPolicy {
    /// `!tls_no_sanity_certificate`: check our own certificate when loading.
    pub sanity_check: bool,
    /// `!tls_no_verify_certificate`: refuse clients whose certificate fails.
    pub require_valid_cert: bool,
    /// `tls_allowed_dn_list`; `None` checks no DN, an empty list admits nobody.
    pub allowed_dn_list: Option<Vec<String>>,
    pub priority: String,
}

/// Where the material comes from: files and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSource {
    pub files: TlsFiles,
    pub policy: TlsPolicy,
}

#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    #[error(transparent)]
    Files(#[from] FilesError),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Priority(#[from] PriorityError),
    #[error("Our own certificate {cert} failed validation against {ca}: {reason}")]
    OwnCertInvalid {
        cert: String,
        ca: String,
        reason: &'static str,
    },
    #[error("Unable to set x509 key and certificate: {key}, {cert}: {reason}")]
    KeyPair {
        key: String,
        cert: String,
        reason: String,
    },
}

pub struct Material {
    pub config: Arc<ServerConfig>,
    pub trust: TrustStore,
    pub policy: TlsPolicy,
}

/// Seconds since the epoch, for validity checks.
pub fn now() -> UnixTime {
    UnixTime::now()
}

impl Material {
    /// Loads and checks everything `source` names, in libvirtd's order:
    /// sanity checks of our certificate and the CA (unless disabled), then
    /// CA, CRL, certificate and key.
    pub fn load(source: &TlsSource) -> Result<Material, MaterialError> {
        let f = &source.files;
        if source.policy.sanity_check {
            sanity_check(&f.ca_cert, &f.server_cert)?;
        }
        let loaded = files::load(f)?;
        let crl_path = f
            .ca_crl
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let trust = TrustStore::new(
            &loaded.ca_certs,
            &f.ca_cert.display().to_string(),
            &loaded.crls,
            &crl_path,
        )?;
        let versions = priority::protocol_versions(&source.policy.priority)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(RequestAnyClientCert::new(
            provider.signature_verification_algorithms,
        ));
        let key_pair_error = |reason: String| MaterialError::KeyPair {
            key: f.server_key.display().to_string(),
            cert: f.server_cert.display().to_string(),
            reason,
        };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| key_pair_error(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(loaded.chain, loaded.key)
            .map_err(|e| key_pair_error(e.to_string()))?;
        // GnuTLS clients read libvirt's one-byte confirmation right after the
        // handshake and fail when a session ticket record arrives first.
        config.send_tls13_tickets = 0;
        debug!(
            ca = %f.ca_cert.display(),
            cert = %f.server_cert.display(),
            key = %f.server_key.display(),
            crls = loaded.crls.len(),
            "TLS credentials loaded"
        );
        Ok(Material {
            config: Arc::new(config),
            trust,
            policy: source.policy.clone(),
        })
    }
}

/// libvirt's start-up check of our own certificate and of each CA
/// certificate; files that cannot be read are left to the loading step,
/// which reports them.
fn sanity_check(ca_path: &Path, cert_path: &Path) -> Result<(), MaterialError> {
    let now_secs = now().as_secs() as i64;
    let mut warnings = Vec::new();
    let read_certs = |path: &Path, what: &'static str| -> Result<_, MaterialError> {
        match std::fs::read(path) {
            Ok(text) => {
                use rustls_pki_types::pem::PemObject;
                let certs = CertificateDer::pem_slice_iter(&text)
                    .collect::<Result<Vec<_>, _>>()
                    .ok()
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| CheckError::Unparsable {
                        role: what,
                        label: path.display().to_string(),
                    })?;
                Ok(Some(certs))
            }
            Err(_) => Ok(None),
        }
    };
    let own = read_certs(cert_path, "server")?;
    let cas = read_certs(ca_path, "server")?;
    let cert_label = cert_path.display().to_string();
    let ca_label = ca_path.display().to_string();
    if let Some(own) = &own {
        let leaf = checks::parse(&own[0], &cert_label, Role::Server)?;
        checks::check_certificate(
            &leaf,
            &cert_label,
            Role::Server,
            false,
            now_secs,
            &mut warnings,
        )?;
    }
    if let Some(cas) = &cas {
        for der in cas.iter().take(16) {
            let ca = checks::parse(der, &ca_label, Role::Server)?;
            checks::check_certificate(&ca, &ca_label, Role::Server, true, now_secs, &mut warnings)?;
        }
    }
    for w in &warnings {
        warn!("{w}");
    }
    if let (Some(own), Some(cas)) = (own, cas) {
        let trust = TrustStore::new(&cas, &ca_label, &[], "")?;
        trust
            .verify(&own[0], &own[1..], now())
            .map_err(|e| MaterialError::OwnCertInvalid {
                cert: cert_label,
                ca: ca_label,
                reason: match e {
                    ChainError::Invalid(reason) => reason,
                    _ => "The certificate is not trusted.",
                },
            })?;
    }
    Ok(())
}
