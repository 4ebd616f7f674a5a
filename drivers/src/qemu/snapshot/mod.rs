//! Domain snapshots of the qemu driver: internal ones (qcow2, with the memory state
//! of a running guest through HMP `savevm`, as libvirt 9.0 takes them; `qemu-img
//! snapshot` for a guest that is off) and external ones (qcow2 overlays, with the
//! memory state in a save image when asked for).
//! Metadata lives in files only ([`meta`]), so it survives restarts unchanged.

mod create;
mod memory;
pub mod meta;
mod quiesce;
mod revert;

use std::path::PathBuf;

use super::connection::QemuConnection;
use super::Inner;
use crate::api::{
    snapshot_list_flags as lf, DomainRef, DomainSnapshots, DriverError, DriverResult,
};
use meta::{no_snapshot, Snapshot};

impl DomainSnapshots for QemuConnection {
    fn snapshot_create(&self, dom: &DomainRef, xml: &str, flags: u32) -> DriverResult<String> {
        self.inner.snapshot_create(dom, xml, flags)
    }

    fn snapshot_xml(&self, dom: &DomainRef, name: &str, flags: u32) -> DriverResult<String> {
        super::lifecycle::check_flags(flags, 1, "qemuDomainSnapshotGetXMLDesc")?;
        let mut snap = self.inner.snapshot_get(dom, name)?;
        // VIR_DOMAIN_SNAPSHOT_XML_SECURE: graphics passwords only when asked for.
        if flags & 1 == 0 {
            snap.domain_xml = snap.domain_xml.as_deref().map(meta::without_passwords);
        }
        Ok(snap.to_xml(false))
    }

    fn snapshot_list(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<String>> {
        let all = self.inner.snapshots(dom)?;
        let picked: Vec<&Snapshot> = if flags & lf::ROOTS_OR_DESCENDANTS != 0 {
            all.iter().filter(|s| s.parent.is_none()).collect()
        } else {
            all.iter().collect()
        };
        Ok(filter(&all, picked, flags))
    }

    fn snapshot_children(
        &self,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> DriverResult<Vec<String>> {
        let all = self.inner.snapshots(dom)?;
        find(&all, name)?;
        let picked = if flags & lf::ROOTS_OR_DESCENDANTS != 0 {
            descendants(&all, name)
        } else {
            all.iter()
                .filter(|s| s.parent.as_deref() == Some(name))
                .collect()
        };
        Ok(filter(&all, picked, flags))
    }

    fn snapshot_lookup(&self, dom: &DomainRef, name: &str, flags: u32) -> DriverResult<()> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainSnapshotLookupByName")?;
        self.inner.snapshot_get(dom, name).map(|_| ())
    }

    fn snapshot_current(&self, dom: &DomainRef, flags: u32) -> DriverResult<Option<String>> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainSnapshotCurrent")?;
        let all = self.inner.snapshots(dom)?;
        Ok(all.into_iter().find(|s| s.current).map(|s| s.name))
    }

    fn snapshot_parent(
        &self,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> DriverResult<Option<String>> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainSnapshotGetParent")?;
        Ok(self.inner.snapshot_get(dom, name)?.parent)
    }

    fn snapshot_has_metadata(
        &self,
        dom: &DomainRef,
        name: &str,
        _flags: u32,
    ) -> DriverResult<bool> {
        self.inner.snapshot_get(dom, name).map(|_| true)
    }

    fn snapshot_revert(&self, dom: &DomainRef, name: &str, flags: u32) -> DriverResult<()> {
        self.inner.snapshot_revert(dom, name, flags)
    }

    fn snapshot_delete(&self, dom: &DomainRef, name: &str, flags: u32) -> DriverResult<()> {
        self.inner.snapshot_delete(dom, name, flags)
    }
}

/// Whether a domain has snapshot metadata (the `--with-snapshot` list filter).
pub(super) fn has_snapshots(lib_dir: &std::path::Path, domain: &str) -> bool {
    std::fs::read_dir(meta::dir(lib_dir, domain)).is_ok_and(|mut entries| {
        entries
            .any(|e| e.is_ok_and(|e| e.path().extension().and_then(|x| x.to_str()) == Some("xml")))
    })
}

/// Applies the leaf, metadata, state and location filters of `VIR_DOMAIN_SNAPSHOT_LIST_*`.
fn filter(all: &[Snapshot], picked: Vec<&Snapshot>, flags: u32) -> Vec<String> {
    let is_leaf = |s: &Snapshot| !all.iter().any(|c| c.parent.as_deref() == Some(&s.name));
    let leaves = flags & (lf::LEAVES | lf::NO_LEAVES);
    let states = flags & (lf::INACTIVE | lf::ACTIVE | lf::DISK_ONLY);
    let location = flags & (lf::INTERNAL | lf::EXTERNAL);
    picked
        .into_iter()
        .filter(|s| match leaves {
            lf::LEAVES => is_leaf(s),
            lf::NO_LEAVES => !is_leaf(s),
            _ => true,
        })
        // Every snapshot here has metadata.
        .filter(|_| flags & (lf::METADATA | lf::NO_METADATA) != lf::NO_METADATA)
        .filter(|s| {
            states == 0
                || (states & lf::INACTIVE != 0 && s.state == "shutoff")
                || (states & lf::ACTIVE != 0 && s.is_active())
                || (states & lf::DISK_ONLY != 0 && s.state == "disk-snapshot")
        })
        .filter(|s| {
            location == 0
                || (location & lf::EXTERNAL != 0 && s.is_external())
                || (location & lf::INTERNAL != 0 && !s.is_external())
        })
        .map(|s| s.name.clone())
        .collect()
}

fn find<'a>(all: &'a [Snapshot], name: &str) -> DriverResult<&'a Snapshot> {
    all.iter()
        .find(|s| s.name == name)
        .ok_or_else(|| no_snapshot(name))
}

/// Every snapshot below `name`, parents before their children.
fn descendants<'a>(all: &'a [Snapshot], name: &str) -> Vec<&'a Snapshot> {
    let mut out: Vec<&Snapshot> = Vec::new();
    let mut frontier = vec![name.to_string()];
    while let Some(parent) = frontier.pop() {
        for s in all
            .iter()
            .filter(|s| s.parent.as_deref() == Some(parent.as_str()))
        {
            if !out.iter().any(|o| o.name == s.name) {
                frontier.push(s.name.clone());
                out.push(s);
            }
        }
    }
    out
}

impl Inner {
    /// The domain's metadata directory (the domain must exist).
    fn snapshot_dir(&self, dom: &DomainRef) -> DriverResult<PathBuf> {
        let st = self.lock();
        let obj = st.get(dom)?;
        Ok(meta::dir(&self.paths.lib_dir, &obj.def.name))
    }

    pub(super) fn snapshots(&self, dom: &DomainRef) -> DriverResult<Vec<Snapshot>> {
        meta::load_all(&self.snapshot_dir(dom)?)
    }

    fn snapshot_get(&self, dom: &DomainRef, name: &str) -> DriverResult<Snapshot> {
        let all = self.snapshots(dom)?;
        find(&all, name).cloned()
    }

    /// `virDomainSnapshotNum`: the count [`DomainSnapshots::snapshot_list`] would give.
    pub(super) fn snapshot_count(&self, dom: &DomainRef, flags: u32) -> DriverResult<i32> {
        let all = self.snapshots(dom)?;
        let picked: Vec<&Snapshot> = if flags & lf::ROOTS_OR_DESCENDANTS != 0 {
            all.iter().filter(|s| s.parent.is_none()).collect()
        } else {
            all.iter().collect()
        };
        Ok(i32::try_from(filter(&all, picked, flags).len()).unwrap_or(i32::MAX))
    }

    /// Makes `name` the current snapshot (or none) in the stored metadata.
    fn set_current(&self, dir: &std::path::Path, name: Option<&str>) -> DriverResult<()> {
        for mut s in meta::load_all(dir)? {
            let current = Some(s.name.as_str()) == name;
            if s.current != current {
                s.current = current;
                meta::save(dir, &s)?;
            }
        }
        Ok(())
    }

    /// `virDomainSnapshotDelete`: the snapshot, its children too or its children only;
    /// with `METADATA_ONLY` the disks keep their snapshots.
    pub(super) fn snapshot_delete(
        &self,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> DriverResult<()> {
        use crate::api::snapshot_delete_flags as df;
        super::lifecycle::check_flags(
            flags,
            df::CHILDREN | df::METADATA_ONLY | df::CHILDREN_ONLY,
            "qemuDomainSnapshotDelete",
        )?;
        let dir = self.snapshot_dir(dom)?;
        let all = meta::load_all(&dir)?;
        let target = find(&all, name)?.clone();
        let mut doomed: Vec<Snapshot> = Vec::new();
        if flags & (df::CHILDREN | df::CHILDREN_ONLY) != 0 {
            doomed.extend(descendants(&all, name).into_iter().rev().cloned());
        }
        if flags & df::CHILDREN_ONLY == 0 {
            doomed.push(target.clone());
        }
        if flags & df::METADATA_ONLY == 0 {
            if let Some(ext) = doomed.iter().find(|s| s.is_external()) {
                return Err(DriverError::new(
                    crate::api::codes::CONFIG_UNSUPPORTED,
                    crate::api::domains::QEMU,
                    format!(
                        "deletion of external disk snapshot '{}' is not supported",
                        ext.name
                    ),
                ));
            }
            for s in &doomed {
                self.remove_internal(dom, s)?;
            }
        }
        let current_gone = doomed.iter().any(|s| s.current);
        for s in &doomed {
            meta::remove(&dir, &s.name)?;
        }
        // Children of a removed snapshot move up to its parent.
        if flags & df::CHILDREN_ONLY == 0 && flags & df::CHILDREN == 0 {
            for mut child in meta::load_all(&dir)? {
                if child.parent.as_deref() == Some(name) {
                    child.parent = target.parent.clone();
                    meta::save(&dir, &child)?;
                }
            }
        }
        if current_gone {
            let heir = if flags & df::CHILDREN_ONLY != 0 {
                Some(name.to_string())
            } else {
                target.parent.clone()
            };
            self.set_current(&dir, heir.as_deref())?;
        }
        Ok(())
    }

    /// Drops an internal snapshot from QEMU (running) or from the qcow2 images.
    fn remove_internal(&self, dom: &DomainRef, snap: &Snapshot) -> DriverResult<()> {
        let running = self.running_parts(dom).ok();
        match running {
            Some((monitor, _, _)) => create::hmp_checked(&monitor, &format!("delvm {}", snap.name)),
            None => {
                let def = self.lock().get(dom)?.def.clone();
                for path in create::internal_disk_paths(&def, snap)? {
                    create::qemu_img(&["snapshot", "-d", &snap.name, &path])?;
                }
                Ok(())
            }
        }
    }
}
