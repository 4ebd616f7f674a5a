//! Container filesystems that name a storage volume
//! (`<filesystem type='volume'><source pool='P' volume='V'/>`): a directory
//! volume is bound like `<filesystem type='mount'>` when the container starts.

use std::sync::Arc;

use super::{Inner, LxcDriver};
use crate::api::{codes, domains, DriverError, DriverResult, StorageDriver};
use crate::domain_xml::DomainDef;

impl LxcDriver {
    /// Connects the storage driver that resolves volume filesystems.
    pub fn set_storage_driver(&self, storage: Arc<dyn StorageDriver>) {
        let _ = self.inner.storage.set(storage);
    }
}

fn unsupported(detail: String) -> DriverError {
    DriverError::new(codes::CONFIG_UNSUPPORTED, domains::LXC, detail)
}

/// A copy of `def` whose volume filesystems are bind mounts of the volumes'
/// directories: what the container supervisor is given.
pub(super) fn resolved(inner: &Inner, def: &DomainDef) -> DriverResult<DomainDef> {
    let mut out = def.clone();
    for fs in out.devices.iter_mut() {
        if fs.name != "filesystem" || fs.attr("type") != Some("volume") {
            continue;
        }
        let source = fs.child("source");
        let pool = source
            .and_then(|s| s.attr("pool"))
            .unwrap_or_default()
            .to_string();
        let vol = source
            .and_then(|s| s.attr("volume"))
            .unwrap_or_default()
            .to_string();
        let storage = inner.storage.get().ok_or_else(|| {
            unsupported("filesystem type 'volume' needs the storage driver".to_string())
        })?;
        let target = storage.resolve_volume(&pool, &vol)?;
        if !target.directory {
            return Err(unsupported(format!(
                "storage volume '{vol}' of pool '{pool}' is not a directory; \
                 only directory volumes can be container filesystems"
            )));
        }
        fs.set_attr("type", "mount");
        if let Some(source) = fs.child_mut("source") {
            source.remove_attr("pool");
            source.remove_attr("volume");
            source.set_attr("dir", &target.path.display().to_string());
        }
    }
    Ok(out)
}
