//! Path validation against the CA file and CRLs (signatures, validity of every
//! certificate in the chain, revocation), done with webpki after the
//! handshake. Purposes are left to [`super::checks`], which follows libvirt's
//! warning-or-fatal rules rather than webpki's stricter ones.

use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, TrustAnchor, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter,
    OwnedCertRevocationList, RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("Unable to set x509 CA certificate: {path}: {reason}")]
    BadCa { path: String, reason: String },
    #[error("Unable to set x509 certificate revocation list: {path}: {reason}")]
    BadCrl { path: String, reason: String },
    /// The chain does not validate; the text is libvirt's reason sentence.
    #[error("{0}")]
    Invalid(&'static str),
}

/// The CA certificates and revocation lists of one TLS configuration.
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    crls: Vec<CertRevocationList<'static>>,
}

/// Accepts every extended key usage: libvirt's own purpose check decides.
struct AnyPurpose;

impl ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, _purposes: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

impl TrustStore {
    pub fn new(
        ca_certs: &[CertificateDer<'static>],
        ca_path: &str,
        crls: &[CertificateRevocationListDer<'static>],
        crl_path: &str,
    ) -> Result<TrustStore, ChainError> {
        let anchors = ca_certs
            .iter()
            .map(|der| {
                webpki::anchor_from_trusted_cert(der)
                    .map(|a| a.to_owned())
                    .map_err(|e| ChainError::BadCa {
                        path: ca_path.to_string(),
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let crls = crls
            .iter()
            .map(|der| {
                OwnedCertRevocationList::from_der(der.as_ref())
                    .map(CertRevocationList::from)
                    .map_err(|e| ChainError::BadCrl {
                        path: crl_path.to_string(),
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustStore { anchors, crls })
    }

    /// Validates `leaf` (with `intermediates`) up to one of the CA certificates.
    pub fn verify(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), ChainError> {
        let cert = EndEntityCert::try_from(leaf)
            .map_err(|_| ChainError::Invalid("The certificate is not trusted."))?;
        let crl_refs: Vec<&CertRevocationList<'_>> = self.crls.iter().collect();
        let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
            b.with_depth(RevocationCheckDepth::Chain)
                .with_status_policy(UnknownStatusPolicy::Allow)
                .build()
        });
        cert.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &self.anchors,
            intermediates,
            now,
            AnyPurpose,
            revocation,
            None,
        )
        .map(|_| ())
        .map_err(|e| ChainError::Invalid(reason(&e)))
    }
}

/// libvirt's reason sentences for a failed verification.
fn reason(e: &webpki::Error) -> &'static str {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => "The certificate hasn't got a known issuer.",
        E::CertRevoked => "The certificate has been revoked.",
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "The certificate uses an insecure algorithm"
        }
        _ => "The certificate is not trusted.",
    }
}
