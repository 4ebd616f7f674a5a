//! Migration of non-shared storage (`--copy-storage-all`, `--copy-storage-inc`)
//! over NBD, as libvirt does it: the destination's QEMU exports its (empty)
//! disks with an NBD server and announces the port in the cookie's `<nbd>`
//! element; the source's QEMU mirrors each disk into that export, the memory
//! migration starts once every mirror is ready, and QEMU stops before the
//! switch-over so that the mirrors end while the guest no longer writes.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::super::error::QemuError;
use super::super::qmp::Monitor;
use super::super::Inner;
use crate::api::{
    codes, domains, migrate_flags, DomainRef, DriverError, DriverResult, NamedParam, ParamValue,
    Uuid,
};
use crate::domain_xml::DomainDef;

/// The flags that ask for the disks to be copied.
pub const STORAGE_FLAGS: u32 = migrate_flags::NON_SHARED_DISK | migrate_flags::NON_SHARED_INC;
/// `VIR_MIGRATE_PARAM_MIGRATE_DISKS`: the targets to copy (repeated).
const DISKS_PARAM: &str = "migrate_disks";
/// How long the first full copy of the disks may take.
const MIRROR_READY_DEADLINE: Duration = Duration::from_secs(600);
/// How long the mirrors may take to end once the guest is paused.
const MIRROR_END_DEADLINE: Duration = Duration::from_secs(120);

/// The cookie's `<nbd port='...'><disk target='vda' capacity='...'/></nbd>`:
/// the source lists the disks it will copy (so that the destination can create
/// missing ones), the destination answers with the port of its NBD server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NbdCookie {
    pub port: Option<u16>,
    pub disks: Vec<(String, u64)>,
}

impl NbdCookie {
    pub fn write(&self, out: &mut String) {
        let port = self
            .port
            .map(|p| format!(" port='{p}'"))
            .unwrap_or_default();
        if self.disks.is_empty() {
            out.push_str(&format!("  <nbd{port}/>\n"));
            return;
        }
        out.push_str(&format!("  <nbd{port}>\n"));
        for (target, capacity) in &self.disks {
            out.push_str(&format!(
                "    <disk target='{}' capacity='{capacity}'/>\n",
                crate::domain_xml::escape(target)
            ));
        }
        out.push_str("  </nbd>\n");
    }

    pub fn read(node: roxmltree::Node) -> Result<NbdCookie, String> {
        let port = match node.attribute("port") {
            Some(p) => Some(p.parse().map_err(|_| format!("Malformed nbd port '{p}'"))?),
            None => None,
        };
        let disks = node
            .children()
            .filter(|n| n.has_tag_name("disk"))
            .map(|disk| {
                let target = disk.attribute("target").unwrap_or_default().to_string();
                let capacity = disk
                    .attribute("capacity")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                (target, capacity)
            })
            .collect();
        Ok(NbdCookie { port, disks })
    }
}

/// A disk whose contents move with the guest.
#[derive(Clone, Debug, PartialEq)]
pub struct CopiedDisk {
    pub target: String,
    /// QEMU's drive id, `drive-<alias>` (the NBD export's name as well).
    pub drive: String,
    pub path: Option<String>,
    pub format: String,
}

/// The targets named by `migrate_disks` parameters.
pub fn wanted_disks(params: &[NamedParam]) -> Vec<String> {
    params
        .iter()
        .filter(|p| p.field == DISKS_PARAM)
        .filter_map(|p| match &p.value {
            ParamValue::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// The disks to copy: those named, or else every disk with a source that is
/// neither shareable nor read-only (libvirt's default).
pub fn copied_disks(def: &DomainDef, wanted: &[String]) -> Vec<CopiedDisk> {
    def.devices
        .iter()
        .filter(|d| d.name == "disk")
        .filter_map(|disk| {
            let target = disk.child("target")?.attr("dev")?.to_string();
            let source = disk.child("source");
            let path = source
                .and_then(|s| s.attr("file").or_else(|| s.attr("dev")))
                .map(str::to_string);
            let chosen = if wanted.is_empty() {
                path.is_some()
                    && disk.child("shareable").is_none()
                    && disk.child("readonly").is_none()
            } else {
                wanted.contains(&target)
            };
            chosen.then(|| CopiedDisk {
                drive: disk
                    .child("alias")
                    .and_then(|a| a.attr("name"))
                    .map(|a| format!("drive-{a}"))
                    .unwrap_or_default(),
                format: disk
                    .child("driver")
                    .and_then(|d| d.attr("type"))
                    .unwrap_or("raw")
                    .to_string(),
                target,
                path,
            })
        })
        .collect()
}

/// Checks the named targets exist (libvirt's begin does).
pub fn check_wanted(def: &DomainDef, wanted: &[String]) -> DriverResult<()> {
    for target in wanted {
        let known = def
            .devices
            .iter()
            .filter(|d| d.name == "disk")
            .any(|d| d.child("target").and_then(|t| t.attr("dev")) == Some(target.as_str()));
        if !known {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                format!("disk target {target} not found"),
            ));
        }
    }
    Ok(())
}

/// The mirrors of each outgoing migration, ended at the switch-over.
fn mirrors() -> std::sync::MutexGuard<'static, HashMap<Uuid, Vec<String>>> {
    static MIRRORS: OnceLock<Mutex<HashMap<Uuid, Vec<String>>>> = OnceLock::new();
    MIRRORS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The virtual size of each drive, from `query-block`.
fn capacities(monitor: &Monitor) -> HashMap<String, u64> {
    let Ok(Value::Array(blocks)) = monitor.execute("query-block", None) else {
        return HashMap::new();
    };
    blocks
        .iter()
        .filter_map(|b| {
            let device = b.get("device")?.as_str()?.to_string();
            let size = b
                .get("inserted")?
                .get("image")?
                .get("virtual-size")?
                .as_u64()?;
            Some((device, size))
        })
        .collect()
}

/// The source's `<nbd>` for the begin cookie: the disks it will copy.
pub fn begin_cookie(monitor: &Monitor, def: &DomainDef, wanted: &[String]) -> NbdCookie {
    let sizes = capacities(monitor);
    NbdCookie {
        port: None,
        disks: copied_disks(def, wanted)
            .into_iter()
            .filter_map(|d| sizes.get(&d.drive).map(|size| (d.target, *size)))
            .collect(),
    }
}

fn job_list(monitor: &Monitor) -> Result<Vec<Value>, QemuError> {
    match monitor.execute("query-block-jobs", None)? {
        Value::Array(jobs) => Ok(jobs),
        _ => Ok(Vec::new()),
    }
}

fn job_of<'a>(jobs: &'a [Value], drive: &str) -> Option<&'a Value> {
    jobs.iter()
        .find(|j| j.get("device").and_then(Value::as_str) == Some(drive))
}

/// Waits until none of `drives` has a block job any more.
fn wait_jobs_gone(monitor: &Monitor, drives: &[String], deadline: Duration) -> bool {
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(5);
    loop {
        match job_list(monitor) {
            Ok(jobs) if drives.iter().all(|d| job_of(&jobs, d).is_none()) => return true,
            Err(_) => return false,
            _ => {}
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Stops the mirrors of a failed migration; the source's disks stay as they were.
pub fn abort_mirrors(monitor: &Monitor, uuid: &Uuid) {
    let drives = mirrors().remove(uuid).unwrap_or_default();
    for drive in &drives {
        let _ = monitor.execute(
            "block-job-cancel",
            Some(json!({ "device": drive, "force": true })),
        );
    }
    wait_jobs_gone(monitor, &drives, MIRROR_END_DEADLINE);
    let _ = set_switchover_pause(monitor, false);
}

/// After the migration: QEMU no longer stops before switching over.
pub fn end_storage_copy(monitor: &Monitor) {
    let _ = set_switchover_pause(monitor, false);
}

fn set_switchover_pause(monitor: &Monitor, on: bool) -> Result<(), QemuError> {
    monitor.execute(
        "migrate-set-capabilities",
        Some(json!({ "capabilities": [{ "capability": "pause-before-switchover", "state": on }] })),
    )?;
    Ok(())
}

/// QEMU reached `pre-switchover` (the guest is paused, its memory sent): the
/// mirrors end, having written the last of the disks, then QEMU switches over.
/// Called again while QEMU has not left that state yet, it does nothing.
pub fn at_switchover(monitor: &Monitor, uuid: &Uuid) -> Result<(), QemuError> {
    let Some(drives) = mirrors().get(uuid).cloned() else {
        return Ok(());
    };
    for drive in &drives {
        monitor.execute("block-job-cancel", Some(json!({ "device": drive })))?;
    }
    if !wait_jobs_gone(monitor, &drives, MIRROR_END_DEADLINE) {
        return Err(QemuError::Timeout(
            "migration out job: disk mirrors did not finish".into(),
        ));
    }
    mirrors().remove(uuid);
    monitor.execute(
        "migrate-continue",
        Some(json!({ "state": "pre-switchover" })),
    )?;
    Ok(())
}

impl Inner {
    /// The source's part before the memory moves: one mirror per copied disk
    /// into the destination's NBD export, waited for until all are ready.
    /// Returns whether any disk is being copied.
    pub(super) fn start_storage_copy(
        &self,
        dom: &DomainRef,
        monitor: &Monitor,
        host: &str,
        dest_cookie: Option<&NbdCookie>,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<bool> {
        if flags & STORAGE_FLAGS == 0 {
            return Ok(false);
        }
        let wanted = wanted_disks(params);
        let disks = {
            let st = self.lock();
            copied_disks(&st.get(dom)?.def, &wanted)
        };
        if disks.is_empty() {
            return Ok(false);
        }
        let Some(port) = dest_cookie.and_then(|c| c.port) else {
            return Err(DriverError::new(
                codes::OPERATION_UNSUPPORTED,
                domains::QEMU,
                "the destination did not start an NBD server for the disks",
            ));
        };
        let sync = if flags & migrate_flags::NON_SHARED_INC != 0 {
            "top"
        } else {
            "full"
        };
        set_switchover_pause(monitor, true)?;
        let mut started = Vec::new();
        let result = (|| {
            for disk in &disks {
                let target = format!("nbd:{host}:{port}:exportname={}", disk.drive);
                monitor
                    .execute(
                        "drive-mirror",
                        Some(json!({
                            "device": disk.drive,
                            "target": target,
                            "format": "raw",
                            "sync": sync,
                            "mode": "existing",
                        })),
                    )
                    .map_err(|e| {
                        QemuError::Failed(format!("migration of disk {} failed: {e}", disk.target))
                    })?;
                started.push(disk.drive.clone());
                mirrors().insert(dom.uuid, started.clone());
            }
            wait_ready(monitor, &disks)
        })();
        if let Err(e) = result {
            abort_mirrors(monitor, &dom.uuid);
            return Err(e.into());
        }
        Ok(true)
    }
}

/// Polls the mirrors until each reports `ready`; one that vanishes failed.
fn wait_ready(monitor: &Monitor, disks: &[CopiedDisk]) -> Result<(), QemuError> {
    let end = Instant::now() + MIRROR_READY_DEADLINE;
    let mut pause = Duration::from_millis(5);
    loop {
        let jobs = job_list(monitor)?;
        let mut ready = true;
        for disk in disks {
            match job_of(&jobs, &disk.drive) {
                None => {
                    return Err(QemuError::Failed(format!(
                        "migration of disk {} failed",
                        disk.target
                    )))
                }
                Some(job) => ready &= job.get("ready").and_then(Value::as_bool) == Some(true),
            }
        }
        if ready {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(QemuError::Timeout(
                "migration out job: disk mirrors did not get ready".into(),
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nbd_element_round_trip() {
        let nbd = NbdCookie {
            port: Some(49153),
            disks: vec![("vda".into(), 67108864)],
        };
        let mut out = String::new();
        nbd.write(&mut out);
        assert!(out.contains("<nbd port='49153'>"), "{out}");
        let doc = roxmltree::Document::parse(&out).unwrap();
        assert_eq!(NbdCookie::read(doc.root_element()).unwrap(), nbd);
        let doc = roxmltree::Document::parse("<nbd port='x'/>").unwrap();
        assert!(NbdCookie::read(doc.root_element()).is_err());
    }

    #[test]
    fn default_disks_skip_shareable_and_readonly() {
        let def = crate::domain_xml::parse_domain_xml(
            "<domain type='qemu'><name>d</name><memory>1024</memory><os><type>hvm</type></os><devices>\
             <disk type='file' device='disk'><source file='/a'/><target dev='vda'/><alias name='virtio-disk0'/></disk>\
             <disk type='file' device='disk'><source file='/b'/><target dev='vdb'/><readonly/></disk>\
             <disk type='file' device='disk'><source file='/c'/><target dev='vdc'/><shareable/></disk>\
             <disk type='file' device='cdrom'><target dev='hdc'/></disk>\
             </devices></domain>",
            &Default::default(),
        )
        .unwrap();
        let all = copied_disks(&def, &[]);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].drive, "drive-virtio-disk0");
        assert_eq!(copied_disks(&def, &["vdb".into()])[0].target, "vdb");
        assert!(check_wanted(&def, &["vdz".into()]).is_err());
    }
}
