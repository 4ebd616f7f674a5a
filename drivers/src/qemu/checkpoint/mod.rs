//! Domain checkpoints of the qemu driver, as libvirt 9.0 keeps them: one persistent
//! dirty bitmap per disk named after the checkpoint (added to a running guest's
//! qcow2 images through QMP), metadata in files under the domain's checkpoint dir.
//! Every bitmap stays active, so deleting a checkpoint only drops its own bitmap.

pub(super) mod create;
pub mod meta;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};

use super::connection::QemuConnection;
use super::error::QemuError;
use super::qmp::Monitor;
use super::Inner;
use crate::api::{
    checkpoint_delete_flags as df, checkpoint_list_flags as lf, checkpoint_xml_flags as xf, codes,
    domains, undefine_flags, DomainCheckpoints, DomainRef, DriverError, DriverResult,
};
use crate::domain_xml::DomainDef;
use meta::{no_checkpoint, Checkpoint};

impl DomainCheckpoints for QemuConnection {
    fn checkpoint_create(&self, dom: &DomainRef, xml: &str, flags: u32) -> DriverResult<String> {
        self.inner.checkpoint_create(dom, xml, flags)
    }

    fn checkpoint_xml(&self, dom: &DomainRef, name: &str, flags: u32) -> DriverResult<String> {
        super::lifecycle::check_flags(
            flags,
            xf::SECURE | xf::NO_DOMAIN | xf::SIZE,
            "qemuDomainCheckpointGetXMLDesc",
        )?;
        let mut chk = self.inner.checkpoint_get(dom, name)?;
        if flags & xf::SIZE != 0 {
            let (monitor, _, _) = self.inner.running_parts(dom)?;
            let def = self.inner.lock().get(dom)?.def.clone();
            let counts = bitmap_counts(&monitor)?;
            for disk in chk.disks.iter_mut().filter(|d| d.kind == "bitmap") {
                let node = disk_node(&def, &disk.name);
                let bitmap = disk.bitmap.as_deref().unwrap_or(&chk.name);
                disk.size = node
                    .and_then(|n| counts.get(&(n, bitmap.to_string())).copied())
                    .or(Some(0));
            }
        }
        Ok(chk.to_xml(flags & xf::NO_DOMAIN == 0))
    }

    fn checkpoint_list(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<String>> {
        super::lifecycle::check_flags(
            flags,
            lf::ROOTS_OR_DESCENDANTS | lf::TOPOLOGICAL | lf::LEAVES | lf::NO_LEAVES,
            "qemuDomainListAllCheckpoints",
        )?;
        let all = self.inner.checkpoints(dom)?;
        let picked: Vec<&Checkpoint> = if flags & lf::ROOTS_OR_DESCENDANTS != 0 {
            all.iter().filter(|c| c.parent.is_none()).collect()
        } else {
            all.iter().collect()
        };
        Ok(filter(&all, picked, flags))
    }

    fn checkpoint_children(
        &self,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> DriverResult<Vec<String>> {
        super::lifecycle::check_flags(
            flags,
            lf::ROOTS_OR_DESCENDANTS | lf::TOPOLOGICAL | lf::LEAVES | lf::NO_LEAVES,
            "qemuDomainCheckpointListAllChildren",
        )?;
        let all = self.inner.checkpoints(dom)?;
        find(&all, name)?;
        let picked = if flags & lf::ROOTS_OR_DESCENDANTS != 0 {
            descendants(&all, name)
        } else {
            all.iter()
                .filter(|c| c.parent.as_deref() == Some(name))
                .collect()
        };
        Ok(filter(&all, picked, flags))
    }

    fn checkpoint_lookup(&self, dom: &DomainRef, name: &str, flags: u32) -> DriverResult<()> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainCheckpointLookupByName")?;
        self.inner.checkpoint_get(dom, name).map(|_| ())
    }

    fn checkpoint_parent(
        &self,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> DriverResult<Option<String>> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainCheckpointGetParent")?;
        Ok(self.inner.checkpoint_get(dom, name)?.parent)
    }

    fn checkpoint_delete(&self, dom: &DomainRef, name: &str, flags: u32) -> DriverResult<()> {
        self.inner.checkpoint_delete(dom, name, flags)
    }

    fn backup_begin(
        &self,
        dom: &DomainRef,
        backup_xml: &str,
        checkpoint_xml: Option<&str>,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner
            .backup_begin(dom, backup_xml, checkpoint_xml, flags)
    }

    fn backup_xml(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        self.inner.backup_xml(dom, flags)
    }
}

/// Applies the leaf filters of `VIR_DOMAIN_CHECKPOINT_LIST_*`.
fn filter(all: &[Checkpoint], picked: Vec<&Checkpoint>, flags: u32) -> Vec<String> {
    let is_leaf = |c: &Checkpoint| !all.iter().any(|o| o.parent.as_deref() == Some(&c.name));
    picked
        .into_iter()
        .filter(|c| match flags & (lf::LEAVES | lf::NO_LEAVES) {
            lf::LEAVES => is_leaf(c),
            lf::NO_LEAVES => !is_leaf(c),
            _ => true,
        })
        .map(|c| c.name.clone())
        .collect()
}

fn find<'a>(all: &'a [Checkpoint], name: &str) -> DriverResult<&'a Checkpoint> {
    all.iter()
        .find(|c| c.name == name)
        .ok_or_else(|| no_checkpoint(name))
}

/// Every checkpoint below `name`, parents before their children.
fn descendants<'a>(all: &'a [Checkpoint], name: &str) -> Vec<&'a Checkpoint> {
    let mut out: Vec<&Checkpoint> = Vec::new();
    let mut frontier = vec![name.to_string()];
    while let Some(parent) = frontier.pop() {
        for c in all
            .iter()
            .filter(|c| c.parent.as_deref() == Some(parent.as_str()))
        {
            if !out.iter().any(|o| o.name == c.name) {
                frontier.push(c.name.clone());
                out.push(c);
            }
        }
    }
    out
}

/// The QMP name of a disk's block device (`drive-<alias>` for `-drive` disks).
pub(super) fn disk_node(def: &DomainDef, target: &str) -> Option<String> {
    def.devices
        .iter()
        .filter(|d| d.name == "disk")
        .find(|d| d.child("target").and_then(|t| t.attr("dev")) == Some(target))
        .and_then(|d| d.child("alias").and_then(|a| a.attr("name")))
        .map(|alias| format!("drive-{alias}"))
}

/// Dirty byte counts of every bitmap QEMU knows, by (device, bitmap name).
pub(super) fn bitmap_counts(
    monitor: &Monitor,
) -> DriverResult<std::collections::HashMap<(String, String), u64>> {
    let reply = monitor
        .execute("query-block", None)
        .map_err(QemuError::from)?;
    let mut out = std::collections::HashMap::new();
    for dev in reply.as_array().into_iter().flatten() {
        let Some(device) = dev.get("device").and_then(Value::as_str) else {
            continue;
        };
        let bitmaps = dev
            .get("inserted")
            .and_then(|i| i.get("dirty-bitmaps"))
            .or_else(|| dev.get("dirty-bitmaps"));
        for b in bitmaps.and_then(Value::as_array).into_iter().flatten() {
            if let (Some(name), Some(count)) = (
                b.get("name").and_then(Value::as_str),
                b.get("count").and_then(Value::as_u64),
            ) {
                out.insert((device.to_string(), name.to_string()), count);
            }
        }
    }
    Ok(out)
}

/// Runs a QMP `transaction` (nothing when `actions` is empty).
fn transaction(monitor: &Monitor, actions: Vec<Value>) -> DriverResult<()> {
    if actions.is_empty() {
        return Ok(());
    }
    monitor
        .execute("transaction", Some(json!({ "actions": actions })))
        .map_err(QemuError::from)?;
    Ok(())
}

/// `virDomainUndefineFlags` on an inactive domain: refused while checkpoint metadata
/// exists unless `VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA` drops it.
pub(super) fn discard_on_undefine(lib_dir: &Path, domain: &str, flags: u32) -> DriverResult<()> {
    let dir = meta::dir(lib_dir, domain);
    let count = meta::load_all(&dir)?.len();
    if count == 0 {
        return Ok(());
    }
    if flags & undefine_flags::CHECKPOINTS_METADATA == 0 {
        return Err(QemuError::InvalidState(format!(
            "cannot delete inactive domain with {count} checkpoints"
        ))
        .into());
    }
    std::fs::remove_dir_all(&dir)
        .map_err(|e| QemuError::io("remove checkpoint metadata", &dir, e).into())
}

fn unsupported_op(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::OPERATION_UNSUPPORTED, domains::QEMU, detail)
}

impl Inner {
    /// The domain's checkpoint metadata directory (the domain must exist).
    fn checkpoint_dir(&self, dom: &DomainRef) -> DriverResult<PathBuf> {
        let st = self.lock();
        let obj = st.get(dom)?;
        Ok(meta::dir(&self.paths.lib_dir, &obj.def.name))
    }

    pub(super) fn checkpoints(&self, dom: &DomainRef) -> DriverResult<Vec<Checkpoint>> {
        meta::load_all(&self.checkpoint_dir(dom)?)
    }

    pub(super) fn checkpoint_get(&self, dom: &DomainRef, name: &str) -> DriverResult<Checkpoint> {
        let all = self.checkpoints(dom)?;
        find(&all, name).cloned()
    }

    /// `virDomainCheckpointDelete`: the checkpoint, its children too or its children
    /// only; their bitmaps leave the images unless `METADATA_ONLY`.
    fn checkpoint_delete(&self, dom: &DomainRef, name: &str, flags: u32) -> DriverResult<()> {
        super::lifecycle::check_flags(
            flags,
            df::CHILDREN | df::METADATA_ONLY | df::CHILDREN_ONLY,
            "qemuDomainCheckpointDelete",
        )?;
        let job = self.job_of(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(crate::api::domains::QEMU, &dom.uuid, &dom.name)
        })?;
        let _job = super::jobs::lock_job_bounded(&job)?;
        let dir = self.checkpoint_dir(dom)?;
        let all = meta::load_all(&dir)?;
        let target = find(&all, name)?.clone();
        let mut doomed: Vec<Checkpoint> = Vec::new();
        if flags & (df::CHILDREN | df::CHILDREN_ONLY) != 0 {
            doomed.extend(descendants(&all, name).into_iter().rev().cloned());
        }
        if flags & df::CHILDREN_ONLY == 0 {
            doomed.push(target.clone());
        }
        if flags & df::METADATA_ONLY == 0 && !doomed.is_empty() {
            let (monitor, def) = {
                let st = self.lock();
                let obj = st.get(dom)?;
                match &obj.run {
                    Some(run) => (Arc::clone(&run.monitor), obj.def.clone()),
                    None => {
                        return Err(unsupported_op(
                            "cannot remove checkpoint from inactive domain",
                        ))
                    }
                }
            };
            let present = bitmap_counts(&monitor)?;
            let mut actions = Vec::new();
            for chk in &doomed {
                for disk in chk.disks.iter().filter(|d| d.kind == "bitmap") {
                    // A disk may have been unplugged since.
                    let Some(node) = disk_node(&def, &disk.name) else {
                        continue;
                    };
                    let bitmap = disk.bitmap.clone().unwrap_or_else(|| chk.name.clone());
                    if !present.contains_key(&(node.clone(), bitmap.clone())) {
                        return Err(DriverError::internal(format!(
                            "bitmap '{bitmap}' not found in backing chain of '{}'",
                            disk.name
                        )));
                    }
                    actions.push(json!({
                        "type": "block-dirty-bitmap-remove",
                        "data": { "node": node, "name": bitmap },
                    }));
                }
            }
            transaction(&monitor, actions)?;
        }
        for chk in &doomed {
            meta::remove(&dir, &chk.name)?;
        }
        // Children of a removed checkpoint move up to its parent.
        if flags & (df::CHILDREN | df::CHILDREN_ONLY) == 0 {
            for mut child in meta::load_all(&dir)? {
                if child.parent.as_deref() == Some(name) {
                    child.parent = target.parent.clone();
                    meta::save(&dir, &child)?;
                }
            }
        }
        Ok(())
    }
}
