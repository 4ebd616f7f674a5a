//! Guest disks that name a storage volume (`<disk type='volume'>`): resolved
//! through the storage driver when the guest starts, and the probe the storage
//! driver uses to refuse deleting a volume a running guest uses.

use std::path::Path;
use std::sync::{Arc, Weak};

use super::{Inner, QemuDriver, QemuError};
use crate::api::{DriverResult, StorageDriver};
use crate::domain_xml::{DomainDef, Element};

impl QemuDriver {
    /// Connects the storage driver: volume disks resolve through it, and it asks
    /// this driver whether a running guest uses a volume.
    pub fn set_storage_driver(&self, storage: Arc<dyn StorageDriver>) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        storage.set_in_use_probe(Arc::new(move |pool: &str, vol: &str, path: &Path| {
            weak.upgrade()
                .and_then(|inner| user_of(&inner, pool, vol, path))
        }));
        let _ = self.inner.storage.set(storage);
    }
}

/// The running guest with a disk on volume `vol` of `pool` (or on its path).
fn user_of(inner: &Inner, pool: &str, vol: &str, path: &Path) -> Option<String> {
    let state = inner.lock();
    state
        .domains
        .iter()
        .filter(|d| d.run.is_some())
        .find(|d| {
            d.def
                .devices
                .iter()
                .filter(|e| e.name == "disk")
                .any(|disk| {
                    let Some(source) = disk.child("source") else {
                        return false;
                    };
                    match disk.attr("type") {
                        Some("volume") => {
                            source.attr("pool") == Some(pool) && source.attr("volume") == Some(vol)
                        }
                        _ => source
                            .attr("file")
                            .or(source.attr("dev"))
                            .is_some_and(|p| Path::new(p) == path),
                    }
                })
        })
        .map(|d| d.def.name.clone())
}

fn volume_source(disk: &Element) -> Option<(&str, &str)> {
    if disk.name != "disk" || disk.attr("type") != Some("volume") {
        return None;
    }
    let source = disk.child("source")?;
    Some((source.attr("pool")?, source.attr("volume")?))
}

/// Checks that every volume disk resolves (the storage driver's error if not).
pub(super) fn check(inner: &Inner, def: &DomainDef) -> DriverResult<()> {
    resolved(inner, def).map(|_| ())
}

/// A copy of `def` whose volume disks are file or block disks on the volume's
/// path, with the volume's format unless the disk names one: what QEMU is given.
pub(super) fn resolved(inner: &Inner, def: &DomainDef) -> DriverResult<DomainDef> {
    let mut out = def.clone();
    for disk in out.devices.iter_mut() {
        let Some((pool, vol)) = volume_source(disk).map(|(p, v)| (p.to_string(), v.to_string()))
        else {
            continue;
        };
        let Some(storage) = inner.storage.get() else {
            return Err(QemuError::Unsupported(
                "disk type 'volume' needs the storage driver".into(),
            )
            .into());
        };
        let target = storage.resolve_volume(&pool, &vol)?;
        let path = target.path.display().to_string();
        let (kind, attr) = if target.block {
            ("block", "dev")
        } else {
            ("file", "file")
        };
        disk.set_attr("type", kind);
        if let Some(source) = disk.child_mut("source") {
            source.remove_attr("pool");
            source.remove_attr("volume");
            source.remove_attr("mode");
            source.set_attr(attr, &path);
        }
        match disk.child_mut("driver") {
            Some(driver) if driver.attr("type").is_some() => {}
            Some(driver) => driver.set_attr("type", &target.format),
            None => disk.children.push(
                Element::new("driver")
                    .with_attr("name", "qemu")
                    .with_attr("type", &target.format),
            ),
        }
    }
    Ok(out)
}
