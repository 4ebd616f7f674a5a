//! The TLS side of peer-to-peer migration: a source daemon reaching
//! `qemu+tls://host[:port]/system` presents its own client certificate, as
//! libvirt's client library does: `cacert.pem` of the CA directory,
//! `clientcert.pem` and `clientkey.pem` beside the daemon's server files (under
//! `LIBVIRTD_ROOT` when set), or the three files of a `pkipath=` directory.

use std::path::Path;

use client::{Client, ServerCheck, TlsConfig, TlsFiles};
use protocol::error::{codes, domains, RemoteError};

/// The port of `qemu+tls://` URIs without one (libvirtd's `tls_port`).
pub const DEFAULT_TLS_PORT: u16 = 16514;

/// Where the destination's certificate is checked against, and ours is read.
#[derive(Debug, PartialEq, Eq)]
pub struct PeerTls {
    pub pkipath: Option<String>,
    pub no_verify: bool,
}

impl PeerTls {
    /// The `pkipath` and `no_verify` options of the URI's query.
    pub fn from_query(query: &str) -> Result<PeerTls, ()> {
        let mut tls = PeerTls {
            pkipath: None,
            no_verify: false,
        };
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            match kv.split_once('=') {
                Some(("pkipath", dir)) if dir.starts_with('/') && !dir.contains("..") => {
                    tls.pkipath = Some(dir.to_string())
                }
                Some(("no_verify", v)) => tls.no_verify = v == "1",
                Some(("pkipath", _)) => return Err(()),
                _ => {}
            }
        }
        Ok(tls)
    }

    fn files(&self) -> TlsFiles {
        if let Some(dir) = &self.pkipath {
            return TlsFiles::in_directory(Path::new(dir));
        }
        // SAFETY: geteuid has no preconditions.
        let privileged = unsafe { libc::geteuid() } == 0;
        let paths = crate::paths::Paths::from_env(privileged);
        let beside = |file: &Path, name: &str| {
            file.parent()
                .map(|dir| dir.join(name))
                .unwrap_or_else(|| name.into())
        };
        TlsFiles {
            ca_cert: paths.pki.ca_cert.clone(),
            client_cert: beside(&paths.pki.server_cert, "clientcert.pem"),
            client_key: beside(&paths.pki.server_key, "clientkey.pem"),
        }
    }

    /// Opens the TLS connection to the destination daemon.
    pub fn connect(&self, host: &str, port: u16) -> Result<Client, RemoteError> {
        let check = if self.no_verify {
            ServerCheck::AcceptAny
        } else {
            ServerCheck::Verify
        };
        let config = TlsConfig::new(&self.files(), check, false).map_err(|e| {
            RemoteError::new(
                codes::SYSTEM_ERROR,
                domains::RPC,
                format!("Failed to connect to remote libvirt URI: {e}"),
            )
        })?;
        Client::connect_tls((host, port), host, &config).map_err(|e| {
            RemoteError::new(
                codes::OPERATION_FAILED,
                domains::QEMU,
                format!("operation failed: Failed to connect to remote libvirt URI: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_options() {
        assert_eq!(
            PeerTls::from_query("pkipath=/p&no_verify=1").unwrap(),
            PeerTls {
                pkipath: Some("/p".into()),
                no_verify: true
            }
        );
        assert!(PeerTls::from_query("pkipath=rel").is_err());
        assert!(PeerTls::from_query("pkipath=/a/../b").is_err());
        assert_eq!(PeerTls::from_query("").unwrap().pkipath, None);
    }
}
