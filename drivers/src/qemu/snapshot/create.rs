//! Taking snapshots: internal (HMP `savevm` on a running guest, `qemu-img snapshot
//! -c` on an inactive one) and external disk-only (a QMP `transaction` of
//! `blockdev-snapshot-sync`, or `qemu-img create` of overlays while off), plus
//! `--redefine` of stored metadata.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::meta::{self, SnapDisk, Snapshot, SNAPSHOT_DOMAIN};
use crate::api::{codes, snapshot_create_flags as cf, state, DomainRef, DriverError, DriverResult};
use crate::domain_xml::{DomainDef, Element, FormatOptions};
use crate::qemu::error::QemuError;
use crate::qemu::qmp::Monitor;
use crate::qemu::Inner;

const ALLOWED: u32 = cf::REDEFINE
    | cf::CURRENT
    | cf::NO_METADATA
    | cf::DISK_ONLY
    | cf::REUSE_EXT
    | cf::ATOMIC
    | cf::LIVE
    | cf::QUIESCE
    | cf::VALIDATE;

fn unsupported(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::CONFIG_UNSUPPORTED, crate::api::domains::QEMU, detail)
}

/// Runs an HMP command whose success is an empty answer (savevm, loadvm, delvm).
pub fn hmp_checked(monitor: &Monitor, line: &str) -> DriverResult<()> {
    let out = monitor.execute_hmp(line).map_err(QemuError::from)?;
    let out = out.trim();
    if out.is_empty() {
        Ok(())
    } else {
        Err(DriverError::new(
            codes::OPERATION_FAILED,
            crate::api::domains::QEMU,
            format!("Failed to run '{line}': {out}"),
        ))
    }
}

pub fn qemu_img(args: &[&str]) -> DriverResult<()> {
    let out = std::process::Command::new("qemu-img")
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .map_err(|e| {
            DriverError::internal(format!(
                "cannot run qemu-img (Debian package qemu-utils): {e}"
            ))
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(DriverError::new(
            codes::OPERATION_FAILED,
            crate::api::domains::QEMU,
            format!(
                "qemu-img {} failed: {}",
                args.first().copied().unwrap_or_default(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ))
    }
}

/// Writable disks of a definition: (target dev, alias, source file, format).
pub fn writable_disks(def: &DomainDef) -> Vec<(String, Option<String>, Option<String>, String)> {
    def.devices
        .iter()
        .filter(|d| d.name == "disk" && d.attr("device").unwrap_or("disk") == "disk")
        .filter(|d| d.child("readonly").is_none())
        .map(|d| {
            (
                d.child("target")
                    .and_then(|t| t.attr("dev"))
                    .unwrap_or_default()
                    .to_string(),
                d.child("alias")
                    .and_then(|a| a.attr("name"))
                    .map(str::to_string),
                d.child("source")
                    .and_then(|s| s.attr("file"))
                    .map(str::to_string),
                d.child("driver")
                    .and_then(|t| t.attr("type"))
                    .unwrap_or("raw")
                    .to_string(),
            )
        })
        .collect()
}

/// The images an internal snapshot lives in; every one must be qcow2.
pub fn internal_disk_paths(def: &DomainDef, snap: &Snapshot) -> DriverResult<Vec<String>> {
    let mut paths = Vec::new();
    for (dev, _, source, format) in writable_disks(def) {
        if snap.disks.iter().any(|d| d.name == dev && d.kind == "no") {
            continue;
        }
        if format != "qcow2" {
            return Err(unsupported(format!(
                "internal snapshot for disk {dev} unsupported for storage type {format}"
            )));
        }
        if let Some(source) = source {
            paths.push(source);
        }
    }
    Ok(paths)
}

impl Inner {
    pub(in crate::qemu) fn snapshot_create(
        &self,
        dom: &DomainRef,
        xml: &str,
        flags: u32,
    ) -> DriverResult<String> {
        crate::qemu::lifecycle::check_flags(flags, ALLOWED, "qemuDomainSnapshotCreateXML")?;
        if flags & cf::REDEFINE != 0 && flags & (cf::DISK_ONLY | cf::NO_METADATA) != 0 {
            return Err(DriverError::invalid_arg(
                "Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' and 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA' are mutually exclusive".to_string(),
            ));
        }
        let mut snap = meta::parse(xml)?;
        let dir = self.snapshot_dir(dom)?;
        let existing = meta::load_all(&dir)?;
        if flags & cf::REDEFINE != 0 {
            if snap.name.is_empty() {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    SNAPSHOT_DOMAIN,
                    "a redefined snapshot must have a name",
                ));
            }
            if let Some(parent) = &snap.parent {
                if !existing.iter().any(|s| &s.name == parent) {
                    return Err(DriverError::new(
                        codes::INVALID_ARG,
                        SNAPSHOT_DOMAIN,
                        format!("parent {parent} for snapshot {} not found", snap.name),
                    ));
                }
            }
            if snap.state.is_empty() {
                snap.state = "shutoff".into();
            }
            if snap.memory.is_empty() {
                snap.memory = if snap.is_active() { "internal" } else { "no" }.into();
            }
            snap.current = flags & cf::CURRENT != 0
                || existing.iter().any(|s| s.name == snap.name && s.current);
            if snap.current {
                self.set_current(&dir, None)?;
            }
            meta::save(&dir, &snap)?;
            return Ok(snap.name);
        }
        if flags & cf::CURRENT != 0 {
            return Err(DriverError::invalid_arg(
                "use of 'current' flag in requires 'redefine' flag".to_string(),
            ));
        }
        let job = self.job_of(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(crate::api::domains::QEMU, &dom.uuid, &dom.name)
        })?;
        let _job = crate::qemu::jobs::lock_job_bounded(&job)?;
        let (def, run_state, monitor) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let monitor = obj.run.as_ref().map(|r| std::sync::Arc::clone(&r.monitor));
            (obj.def.clone(), obj.state, monitor)
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        if snap.name.is_empty() {
            snap.name = now.to_string();
        }
        if existing.iter().any(|s| s.name == snap.name) {
            return Err(DriverError::operation_invalid(format!(
                "domain snapshot '{}' already exists",
                snap.name
            )));
        }
        snap.creation_time = now;
        snap.parent = existing.iter().find(|s| s.current).map(|s| s.name.clone());
        let disk_only = flags & cf::DISK_ONLY != 0
            || snap.state == "disk-snapshot"
            || snap.disks.iter().any(|d| d.kind == "external");
        snap.domain_xml = Some(
            def.to_xml(FormatOptions {
                id: None,
                secure: true,
            })
            .trim_end()
            .to_string(),
        );
        super::quiesce::check(flags, disk_only)?;
        let memory_file = super::memory::memory_target(
            &snap,
            monitor.is_some(),
            flags & cf::DISK_ONLY != 0 || snap.state == "disk-snapshot",
        )?;
        if let (Some(file), Some(monitor)) = (memory_file, &monitor) {
            if file.exists() {
                return Err(DriverError::operation_invalid(format!(
                    "memory snapshot file '{}' already exists",
                    file.display()
                )));
            }
            let was_running = run_state == state::RUNNING;
            snap.state = if was_running { "running" } else { "paused" }.into();
            self.save_memory(dom, monitor, &file, was_running)?;
            let disks = self.external_snapshot(dom, &def, &snap, Some(monitor), flags);
            self.resume_after_memory(monitor, was_running);
            snap.disks = disks.inspect_err(|_| {
                let _ = std::fs::remove_file(&file);
            })?;
        } else if disk_only {
            snap.state = "disk-snapshot".into();
            snap.memory = "no".into();
            snap.disks = super::quiesce::around(self, dom, flags, || {
                self.external_snapshot(dom, &def, &snap, monitor.as_deref(), flags)
            })?;
        } else {
            snap.state = match (monitor.is_some(), run_state) {
                (false, _) => "shutoff",
                (true, state::PAUSED) => "paused",
                (true, _) => "running",
            }
            .into();
            snap.memory = if monitor.is_some() { "internal" } else { "no" }.into();
            let paths = internal_disk_paths(&def, &snap)?;
            snap.disks = writable_disks(&def)
                .into_iter()
                .map(|(dev, ..)| SnapDisk {
                    name: dev,
                    kind: "internal".into(),
                    source: None,
                    driver: None,
                })
                .collect();
            match &monitor {
                Some(monitor) => hmp_checked(monitor, &format!("savevm {}", snap.name))?,
                None => {
                    for path in &paths {
                        qemu_img(&["snapshot", "-c", &snap.name, path])?;
                    }
                }
            }
        }
        if flags & cf::NO_METADATA == 0 {
            self.set_current(&dir, None)?;
            snap.current = true;
            meta::save(&dir, &snap)?;
        }
        Ok(snap.name)
    }

    /// Puts a qcow2 overlay on every writable disk (the files the XML names, or
    /// `<image>.<snapshot>` beside each image) and makes the definitions use them.
    fn external_snapshot(
        &self,
        dom: &DomainRef,
        def: &DomainDef,
        snap: &Snapshot,
        monitor: Option<&Monitor>,
        flags: u32,
    ) -> DriverResult<Vec<SnapDisk>> {
        let mut disks = Vec::new();
        let mut actions = Vec::new();
        for (dev, alias, source, format) in writable_disks(def) {
            let asked = snap.disks.iter().find(|d| d.name == dev);
            if asked.is_some_and(|d| d.kind == "no") {
                disks.push(SnapDisk {
                    name: dev,
                    kind: "no".into(),
                    source: None,
                    driver: None,
                });
                continue;
            }
            let Some(base) = source else {
                return Err(unsupported(format!(
                    "disk '{dev}' has no source to snapshot"
                )));
            };
            let overlay = match asked.and_then(|d| d.source.clone()) {
                Some(path) => path,
                None => {
                    let p = std::path::Path::new(&base);
                    p.with_extension(&snap.name).display().to_string()
                }
            };
            if flags & cf::REUSE_EXT == 0 && std::path::Path::new(&overlay).exists() {
                return Err(DriverError::operation_invalid(format!(
                    "external snapshot file for disk {dev} already exists and is not a block device: {overlay}"
                )));
            }
            match (monitor, alias) {
                (Some(_), Some(alias)) => actions.push(json!({
                    "type": "blockdev-snapshot-sync",
                    "data": {
                        "device": format!("drive-{alias}"),
                        "snapshot-file": overlay,
                        "format": "qcow2",
                        "mode": if flags & cf::REUSE_EXT != 0 { "existing" } else { "absolute-paths" },
                    }
                })),
                (Some(_), None) => {
                    return Err(unsupported(format!("disk '{dev}' has no alias")));
                }
                (None, _) => {
                    if flags & cf::REUSE_EXT == 0 {
                        qemu_img(&["create", "-q", "-f", "qcow2", "-F", &format, "-b", &base, &overlay])?;
                    }
                }
            }
            disks.push(SnapDisk {
                name: dev,
                kind: "external".into(),
                source: Some(overlay),
                driver: Some("qcow2".into()),
            });
        }
        if let Some(monitor) = monitor {
            if !actions.is_empty() {
                monitor
                    .execute("transaction", Some(json!({ "actions": actions })))
                    .map_err(QemuError::from)?;
            }
        }
        self.follow_overlays(dom, &disks)?;
        Ok(disks)
    }

    /// Points the live and persistent definitions at the new overlays.
    fn follow_overlays(&self, dom: &DomainRef, disks: &[SnapDisk]) -> DriverResult<()> {
        let retarget = |def: &mut DomainDef| {
            for d in disks.iter().filter(|d| d.kind == "external") {
                let Some(disk) = def.devices.iter_mut().find(|e| {
                    e.name == "disk"
                        && e.child("target").and_then(|t| t.attr("dev")) == Some(d.name.as_str())
                }) else {
                    continue;
                };
                if let Some(source) = disk.child_mut("source") {
                    source.set_attr("file", d.source.as_deref().unwrap_or_default());
                }
                match disk.child_mut("driver") {
                    Some(driver) => driver.set_attr("type", "qcow2"),
                    None => disk.children.insert(
                        0,
                        Element::new("driver")
                            .with_attr("name", "qemu")
                            .with_attr("type", "qcow2"),
                    ),
                }
            }
        };
        let mut st = self.lock();
        let obj = st.get_mut(dom)?;
        let active = obj.is_active();
        let config = obj.persistent.then(|| obj.persistent_def().clone());
        retarget(&mut obj.def);
        if let Some(mut config) = config {
            retarget(&mut config);
            crate::qemu::store::save_config(&self.paths, &config)?;
            if active {
                obj.new_def = Some(config);
            }
        }
        if active {
            self.persist_status(obj);
        }
        Ok(())
    }
}
