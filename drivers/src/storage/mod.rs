//! The storage driver (libvirt's `virtstoraged`): pools of type dir, fs, netfs,
//! logical and disk, and their volumes.
//!
//! One lock guards the pool list; calls that run host tools hold it, so pool and
//! volume changes are serialised (simple, and what a handful of pools needs).

mod backend;
mod conn;
mod disk;
mod errors;
mod image;
mod logical;
mod persist;
mod pool;
mod pool_def;
mod primary;
mod tools;
mod transfer;
mod vol_def;
mod volumes;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::api::{
    DriverResult, InUseProbe, PoolEvent, PoolEventKind, PoolEventSink, StorageConnection,
    StorageDriver, VolumeTarget,
};

use pool::Pool;
pub use pool::StoragePaths;
pub use primary::StoragePrimary;

/// Escapes text for XML content and single-quoted attributes.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The storage driver shared by every connection.
pub struct Storage {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    paths: StoragePaths,
    pools: Mutex<Vec<Pool>>,
    events: PoolEventSink,
    in_use: OnceLock<InUseProbe>,
    /// Where passphrases of encrypted volumes come from.
    secrets: OnceLock<Arc<dyn crate::api::SecretDriver>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Vec<Pool>> {
        self.pools.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, pool: &Pool, kind: PoolEventKind) {
        (self.events)(PoolEvent {
            pool: pool.handle(),
            kind,
        });
    }

    /// The value of an encrypted volume's passphrase secret.
    fn secret_value(&self, uuid: &crate::api::Uuid) -> DriverResult<Vec<u8>> {
        let secrets = self
            .secrets
            .get()
            .ok_or_else(|| errors::unsupported("encrypted volumes need the secret driver"))?;
        secrets.value_for_daemon(uuid)
    }

    /// The running guest using volume `vol` of `pool` (at `path`), if any.
    fn user_of(&self, pool: &str, vol: &str, path: &std::path::Path) -> Option<String> {
        self.in_use.get().and_then(|probe| probe(pool, vol, path))
    }
}

impl Storage {
    /// Loads the pool definitions and status files, then starts autostart pools.
    /// Returns the driver and the problems worth logging.
    pub fn new(paths: StoragePaths, events: PoolEventSink) -> (Storage, Vec<String>) {
        let inner = Arc::new(Inner {
            paths,
            pools: Mutex::new(Vec::new()),
            events,
            in_use: OnceLock::new(),
            secrets: OnceLock::new(),
        });
        let problems = persist::load(&inner, true);
        (Storage { inner }, problems)
    }
}

impl StorageDriver for Storage {
    fn open(&self, read_only: bool) -> DriverResult<Arc<dyn StorageConnection>> {
        Ok(Arc::new(conn::StorageConn::new(
            self.inner.clone(),
            read_only,
        )))
    }

    fn reload(&self) -> Vec<String> {
        persist::load(&self.inner, false)
    }

    fn resolve_volume(&self, pool: &str, volume: &str) -> DriverResult<VolumeTarget> {
        conn::resolve(&self.inner, pool, volume)
    }

    fn set_in_use_probe(&self, probe: InUseProbe) {
        let _ = self.inner.in_use.set(probe);
    }

    fn set_secret_driver(&self, secrets: Arc<dyn crate::api::SecretDriver>) {
        let _ = self.inner.secrets.set(secrets);
    }
}
