//! Which TLS files the server uses, and reading them into DER.
//!
//! libvirtd takes `ca_file`, `cert_file` and `key_file` together or not at
//! all; `crl_file` is honoured only alongside them. Without them the default
//! locations of [`Paths::locate_pki`] apply, with the CRL used only when the
//! file exists.

use std::io;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::config::Settings;
use crate::logging::os_error_text;
use crate::paths::Paths;

/// GnuTLS reads at most this many CA certificates from one file; so do we.
const MAX_CA_CERTS: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilesError {
    #[error("unsupported configuration: No CA certificate path set to match server key/cert")]
    NoCaFile,
    #[error("unsupported configuration: No server certificate path set to match server key")]
    NoCertFile,
    #[error("unsupported configuration: No server key path set to match server cert")]
    NoKeyFile,
    /// `what` is libvirt's word for the file ("CA certificate", "certificate", "private key").
    #[error("Cannot read {what} '{path}': {reason}")]
    Unreadable {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("Unable to import {what} {path}: {reason}")]
    BadPem {
        what: &'static str,
        path: String,
        reason: String,
    },
}

/// The four files of one TLS server identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca_cert: PathBuf,
    /// Read only when present (a missing default CRL is normal).
    pub ca_crl: Option<PathBuf>,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TlsFiles {
    /// Applies libvirt's rule: the three file options come together, else
    /// every file comes from the default locations.
    pub fn from_settings(settings: &Settings, paths: &Paths) -> Result<TlsFiles, FilesError> {
        let explicit = [&settings.ca_file, &settings.cert_file, &settings.key_file];
        if explicit.iter().any(|f| f.is_some()) {
            let ca_cert = settings.ca_file.clone().ok_or(FilesError::NoCaFile)?;
            let server_cert = settings.cert_file.clone().ok_or(FilesError::NoCertFile)?;
            let server_key = settings.key_file.clone().ok_or(FilesError::NoKeyFile)?;
            return Ok(TlsFiles {
                ca_cert,
                ca_crl: settings.crl_file.clone(),
                server_cert,
                server_key,
            });
        }
        let pki = paths.locate_pki();
        Ok(TlsFiles {
            ca_cert: pki.ca_cert,
            ca_crl: Some(pki.ca_crl),
            server_cert: pki.server_cert,
            server_key: pki.server_key,
        })
    }
}

/// The parsed contents of [`TlsFiles`].
pub struct LoadedFiles {
    pub ca_certs: Vec<CertificateDer<'static>>,
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    /// The server certificate first, then any intermediates from the same file.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// Reads every file, in libvirt's order: CA, CRL, certificate, key.
pub fn load(files: &TlsFiles) -> Result<LoadedFiles, FilesError> {
    let ca_text = read(&files.ca_cert, "CA certificate")?;
    let mut ca_certs = parse_certs(&ca_text, &files.ca_cert, "CA certificate")?;
    ca_certs.truncate(MAX_CA_CERTS);
    let crls = match &files.ca_crl {
        Some(path) if path.exists() => {
            let text = read(path, "CA revocation list")?;
            parse_all::<CertificateRevocationListDer<'static>>(&text, path, "CA revocation list")?
        }
        _ => Vec::new(),
    };
    let cert_text = read(&files.server_cert, "certificate")?;
    let key_text = read(&files.server_key, "private key")?;
    let chain = parse_certs(&cert_text, &files.server_cert, "server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(&key_text).map_err(|e| FilesError::BadPem {
        what: "private key",
        path: files.server_key.display().to_string(),
        reason: pem_reason(&e),
    })?;
    Ok(LoadedFiles {
        ca_certs,
        crls,
        chain,
        key,
    })
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, FilesError> {
    std::fs::read(path).map_err(|e: io::Error| FilesError::Unreadable {
        what,
        path: path.display().to_string(),
        reason: os_error_text(&e),
    })
}

fn parse_certs(
    text: &[u8],
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, FilesError> {
    parse_all::<CertificateDer<'static>>(text, path, what)
}

/// Every PEM object of type `T` in `text`; at least one is required.
fn parse_all<T: PemObject>(
    text: &[u8],
    path: &Path,
    what: &'static str,
) -> Result<Vec<T>, FilesError> {
    let bad = |reason: String| FilesError::BadPem {
        what,
        path: path.display().to_string(),
        reason,
    };
    let items = T::pem_slice_iter(text)
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| bad(pem_reason(&e)))?;
    if items.is_empty() {
        return Err(bad("Base64 decoding error.".to_string()));
    }
    Ok(items)
}

fn pem_reason(e: &pem::Error) -> String {
    match e {
        pem::Error::NoItemsFound => "Base64 decoding error.".to_string(),
        other => other.to_string(),
    }
}
