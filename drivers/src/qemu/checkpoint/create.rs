//! `virDomainCheckpointCreateXML`: a persistent dirty bitmap per chosen qcow2 disk
//! of a running guest (one QMP `transaction`), or `--redefine` of stored metadata.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::meta::{self, CheckpointDisk, CHECKPOINT_DOMAIN};
use crate::api::{
    checkpoint_create_flags as cf, codes, domains, DomainRef, DriverError, DriverResult,
};
use crate::domain_xml::{DomainDef, FormatOptions};
use crate::qemu::agent;
use crate::qemu::Inner;

/// A disk of the definition: target, format and whether it may hold a bitmap.
struct DomainDisk {
    target: String,
    format: String,
    writable: bool,
}

fn domain_disks(def: &DomainDef) -> Vec<DomainDisk> {
    def.devices
        .iter()
        .filter(|d| d.name == "disk")
        .map(|d| DomainDisk {
            target: d
                .child("target")
                .and_then(|t| t.attr("dev"))
                .unwrap_or_default()
                .to_string(),
            format: d
                .child("driver")
                .and_then(|t| t.attr("type"))
                .unwrap_or("raw")
                .to_string(),
            writable: d.attr("device").unwrap_or("disk") == "disk" && d.child("readonly").is_none(),
        })
        .collect()
}

/// libvirt's alignment of the `<disks>` list with the domain's disks: every disk
/// appears once; without a list every writable disk gets a bitmap named after
/// the checkpoint, and disks a list leaves out get none.
fn align_disks(chk: &mut meta::Checkpoint, def: &DomainDef) -> DriverResult<()> {
    let disks = domain_disks(def);
    for d in &chk.disks {
        if !disks.iter().any(|x| x.target == d.name) {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                CHECKPOINT_DOMAIN,
                format!("no disk named '{}'", d.name),
            ));
        }
        if chk.disks.iter().filter(|o| o.name == d.name).count() > 1 {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                CHECKPOINT_DOMAIN,
                format!("disk '{}' specified twice", d.name),
            ));
        }
    }
    let listed = !chk.disks.is_empty();
    let mut aligned = Vec::new();
    for disk in &disks {
        let entry = chk.disks.iter().find(|d| d.name == disk.target).cloned();
        let mut entry = entry.unwrap_or_else(|| CheckpointDisk {
            name: disk.target.clone(),
            kind: if listed || !disk.writable {
                "no"
            } else {
                "bitmap"
            }
            .into(),
            bitmap: None,
            size: None,
        });
        if entry.kind == "bitmap" && entry.bitmap.is_none() {
            entry.bitmap = Some(chk.name.clone());
        }
        aligned.push(entry);
    }
    chk.disks = aligned;
    Ok(())
}

/// libvirt's checks of the disks that get a bitmap.
fn check_disks(chk: &meta::Checkpoint, def: &DomainDef) -> DriverResult<()> {
    let disks = domain_disks(def);
    for d in chk.disks.iter().filter(|d| d.kind == "bitmap") {
        if d.bitmap.as_deref() != Some(chk.name.as_str()) {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                format!(
                    "bitmap for disk '{}' must match checkpoint name '{}'",
                    d.name, chk.name
                ),
            ));
        }
        let format = disks
            .iter()
            .find(|x| x.target == d.name)
            .map_or("raw", |x| x.format.as_str());
        if format != "qcow2" {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                format!(
                    "checkpoint for disk {} unsupported for storage type {format}",
                    d.name
                ),
            ));
        }
    }
    Ok(())
}

/// A checkpoint about to be taken: its metadata and the QMP actions adding its bitmaps.
pub(in crate::qemu) struct PreparedCheckpoint {
    pub chk: meta::Checkpoint,
    pub actions: Vec<serde_json::Value>,
}

/// Completes a new checkpoint's definition for the running guest `def` and
/// gives the QMP actions adding its bitmaps (to run in one transaction).
pub(in crate::qemu) fn prepare(
    mut chk: meta::Checkpoint,
    existing: &[meta::Checkpoint],
    def: &DomainDef,
) -> DriverResult<PreparedCheckpoint> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    if chk.name.is_empty() {
        chk.name = now.to_string();
    }
    align_disks(&mut chk, def)?;
    check_disks(&chk, def)?;
    if existing.iter().any(|c| c.name == chk.name) {
        return Err(DriverError::operation_invalid(format!(
            "domain checkpoint {} already exists",
            chk.name
        )));
    }
    chk.creation_time = now;
    // The newest checkpoint is the current one, the parent of the next.
    chk.parent = existing.last().map(|c| c.name.clone());
    chk.domain_xml = Some(
        def.to_xml(FormatOptions {
            id: None,
            secure: true,
        })
        .trim_end()
        .to_string(),
    );
    let mut actions = Vec::new();
    for d in chk.disks.iter().filter(|d| d.kind == "bitmap") {
        let node = super::disk_node(def, &d.name)
            .ok_or_else(|| DriverError::internal(format!("disk '{}' has no alias", d.name)))?;
        actions.push(json!({
            "type": "block-dirty-bitmap-add",
            "data": { "node": node, "name": d.bitmap, "persistent": true },
        }));
    }
    Ok(PreparedCheckpoint { chk, actions })
}

impl Inner {
    pub(in crate::qemu) fn checkpoint_create(
        &self,
        dom: &DomainRef,
        xml: &str,
        flags: u32,
    ) -> DriverResult<String> {
        crate::qemu::lifecycle::check_flags(
            flags,
            cf::REDEFINE | cf::QUIESCE | cf::REDEFINE_VALIDATE,
            "qemuDomainCheckpointCreateXML",
        )?;
        if flags & cf::REDEFINE_VALIDATE != 0 && flags & cf::REDEFINE == 0 {
            return Err(DriverError::invalid_arg(
                "Flag 'VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE_VALIDATE' requires flag 'VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE'",
            ));
        }
        let chk = meta::parse(xml)?;
        let dir = self.checkpoint_dir(dom)?;
        let existing = meta::load_all(&dir)?;
        if flags & cf::REDEFINE != 0 {
            return self.checkpoint_redefine(dom, chk, &existing, flags);
        }
        let job = self.job_of(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(crate::api::domains::QEMU, &dom.uuid, &dom.name)
        })?;
        let _job = crate::qemu::jobs::lock_job_bounded(&job)?;
        let (def, monitor) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            match &obj.run {
                Some(run) => (obj.def.clone(), std::sync::Arc::clone(&run.monitor)),
                None => {
                    return Err(super::unsupported_op(
                        "cannot create checkpoint for inactive domain",
                    ))
                }
            }
        };
        let prepared = prepare(chk, &existing, &def)?;
        let actions = prepared.actions.clone();
        if flags & cf::QUIESCE != 0 {
            agent::freeze(self, dom, &[])?;
            let added = super::transaction(&monitor, actions);
            let thawed = agent::thaw(self, dom);
            added?;
            thawed?;
        } else {
            super::transaction(&monitor, actions)?;
        }
        meta::save(&dir, &prepared.chk)?;
        Ok(prepared.chk.name)
    }

    /// `--redefine`: stores metadata of a checkpoint whose bitmaps already exist,
    /// checking them in a running guest with `--redefine-validate`.
    fn checkpoint_redefine(
        &self,
        dom: &DomainRef,
        mut chk: meta::Checkpoint,
        existing: &[meta::Checkpoint],
        flags: u32,
    ) -> DriverResult<String> {
        if chk.name.is_empty() {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                CHECKPOINT_DOMAIN,
                "checkpoint redefine requires a name",
            ));
        }
        if let Some(parent) = &chk.parent {
            if !existing.iter().any(|c| &c.name == parent) {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    CHECKPOINT_DOMAIN,
                    format!("parent {parent} for moment {} not found", chk.name),
                ));
            }
        }
        let (def, monitor) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            (
                obj.def.clone(),
                obj.run.as_ref().map(|r| std::sync::Arc::clone(&r.monitor)),
            )
        };
        if chk.disks.is_empty() {
            align_disks(&mut chk, &def)?;
        }
        if flags & cf::REDEFINE_VALIDATE != 0 {
            let monitor = monitor.ok_or_else(crate::qemu::lifecycle::not_running)?;
            let counts = super::bitmap_counts(&monitor)?;
            for d in chk.disks.iter().filter(|d| d.kind == "bitmap") {
                let Some(node) = super::disk_node(&def, &d.name) else {
                    continue;
                };
                let bitmap = d.bitmap.clone().unwrap_or_else(|| chk.name.clone());
                if !counts.contains_key(&(node, bitmap)) {
                    return Err(DriverError::new(
                        codes::CHECKPOINT_INCONSISTENT,
                        domains::QEMU,
                        format!(
                            "missing or broken bitmap '{}' for disk '{}'",
                            chk.name, d.name
                        ),
                    ));
                }
            }
        }
        let dir = self.checkpoint_dir(dom)?;
        meta::save(&dir, &chk)?;
        Ok(chk.name)
    }
}
