//! The TLS transport: x509 credentials, libvirtd's certificate checks after
//! the handshake, the DN allow-list and live reload of all of it.
//!
//! A [`TlsServer`] is shared by every TLS listening socket of the daemon. Each
//! new connection takes the current [`material::Material`] (an `Arc`), so a
//! reload affects only connections accepted after it; sessions already
//! running keep the keys they were set up with.

mod chain;
mod checks;
pub mod dn;
mod files;
pub mod handshakes;
pub mod listen;
mod material;
mod priority;
pub mod session;
mod verifier;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, RwLock};

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::info;

use crate::config::Settings;
use crate::paths::Paths;

pub use files::TlsFiles;
pub use material::{TlsPolicy, TlsSource};
pub use session::{Admitted, SessionError};

/// The TLS credentials and client policy of the daemon.
pub struct TlsServer {
    source: Mutex<TlsSource>,
    material: RwLock<Arc<material::Material>>,
    /// Connections accepted whose handshake and checks are not over yet.
    handshakes: Arc<handshakes::Handshakes>,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("source", &*self.source())
            .field("handshakes", &self.handshakes_in_progress())
            .finish()
    }
}

/// Counts one handshake in progress until dropped.
pub struct PendingHandshake {
    tls: Arc<TlsServer>,
    slot: handshakes::Slot,
}

impl PendingHandshake {
    pub fn tls(&self) -> &TlsServer {
        &self.tls
    }

    /// Completes when newer handshakes pushed this one out (see
    /// [`handshakes`]); the connection should then be closed.
    pub async fn evicted(&self) {
        self.slot.evicted().await
    }
}

impl TlsServer {
    /// Loads the credentials the settings name (or the default files).
    /// Errors are libvirtd's start-up messages; the daemon exits with status 6.
    pub fn from_settings(settings: &Settings, paths: &Paths) -> Result<Arc<TlsServer>, String> {
        let source = source_from_settings(settings, paths)?;
        let loaded = material::Material::load(&source).map_err(|e| e.to_string())?;
        Ok(Arc::new(TlsServer {
            source: Mutex::new(source),
            material: RwLock::new(Arc::new(loaded)),
            handshakes: Arc::default(),
        }))
    }

    /// Re-reads CA, CRL, certificate and key from the current source. On
    /// error the material in use stays and the error says why.
    pub fn reload(&self) -> Result<(), String> {
        let source = self.source().clone();
        let loaded = material::Material::load(&source).map_err(|e| e.to_string())?;
        *self.material.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
        info!(
            ca = %source.files.ca_cert.display(),
            cert = %source.files.server_cert.display(),
            "TLS credentials reloaded"
        );
        Ok(())
    }

    /// Takes file locations and policy from re-read settings; they are used
    /// by the next [`TlsServer::reload`]. Settings that break the
    /// three-files rule are refused and the previous source stays.
    pub fn update_source(&self, settings: &Settings, paths: &Paths) -> Result<(), String> {
        let source = source_from_settings(settings, paths)?;
        *self.source.lock().unwrap_or_else(|e| e.into_inner()) = source;
        Ok(())
    }

    /// The files and policy the next reload uses.
    pub fn source(&self) -> std::sync::MutexGuard<'_, TlsSource> {
        self.source.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks one more handshake from `peer` as running, until the returned
    /// value is dropped; past the bounds an older handshake is pushed out.
    pub fn begin_handshake(self: &Arc<Self>, peer: std::net::IpAddr) -> PendingHandshake {
        let slot = self.handshakes.begin(peer);
        PendingHandshake {
            tls: self.clone(),
            slot,
        }
    }

    /// Handshakes (with their checks) that have not finished yet.
    pub fn handshakes_in_progress(&self) -> usize {
        self.handshakes.count()
    }

    /// Handshake, certificate checks and confirmation byte for one client,
    /// with the material current at the time of the call.
    pub async fn admit<IO>(&self, io: IO) -> Result<Admitted<IO>, SessionError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let material = self
            .material
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        session::admit(material, io).await
    }
}

fn source_from_settings(settings: &Settings, paths: &Paths) -> Result<TlsSource, String> {
    let files = TlsFiles::from_settings(settings, paths).map_err(|e| e.to_string())?;
    Ok(TlsSource {
        files,
        policy: TlsPolicy {
            sanity_check: !settings.tls_no_sanity_certificate,
            require_valid_cert: !settings.tls_no_verify_certificate,
            allowed_dn_list: settings.tls_allowed_dn_list.clone(),
            priority: settings.tls_priority.clone(),
        },
    })
}
