//! Backups of the qemu driver (`virDomainBackupBegin`): one QMP
//! `drive-backup` job per disk into a target file the daemon creates (qcow2 or raw),
//! copying the whole disk or, for an incremental backup, only the clusters the
//! checkpoint's bitmap marks. The backup is the domain's job (`domjobinfo`) until
//! every copy has concluded; `domjobabort` cancels it and removes the targets.
//! Pull mode exports the disks over QEMU's NBD server ([`pull`]) until
//! `domjobabort` ends the backup.

mod def;
mod pull;
mod saved;

pub(super) use saved::status_element;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::checkpoint::{self, meta as chk_meta};
use super::error::QemuError;
use super::jobs::ActiveJob;
use super::qmp::Monitor;
use super::Inner;
use crate::api::{codes, domains, job_operation, DomainRef, DriverError, DriverResult, Uuid};
use def::BackupDef;

/// `VIR_DOMAIN_BACKUP_BEGIN_REUSE_EXTERNAL`.
const REUSE_EXTERNAL: u32 = 1;
/// How often the copy jobs' progress is read.
const POLL: Duration = Duration::from_millis(100);

/// A backup in progress: its definition and QEMU's job ids.
struct RunningBackup {
    def: BackupDef,
    job_ids: Vec<String>,
    monitor: Arc<Monitor>,
    /// Milliseconds since the epoch when the backup began.
    started_ms: u64,
}

/// QEMU's job id of the copy of one disk.
fn job_id(disk: &str) -> String {
    format!("backup-{disk}-libvirt")
}

/// The NBD export of one disk of a pull-mode backup.
fn export_of(disk: &def::BackupDisk) -> pull::Export {
    pull::Export {
        id: job_id(&disk.name),
        node: format!("backup-{}-scratch", disk.name),
        name: disk
            .export_name
            .clone()
            .unwrap_or_else(|| disk.name.clone()),
        bitmap: disk.export_bitmap.clone(),
    }
}

/// Everything a backup set up that its end has to take down again.
#[derive(Default)]
struct Teardown {
    created: Vec<String>,
    pull: pull::PullState,
}

fn running() -> MutexGuard<'static, HashMap<Uuid, RunningBackup>> {
    static RUNNING: OnceLock<Mutex<HashMap<Uuid, RunningBackup>>> = OnceLock::new();
    RUNNING
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn qemu_err(e: impl Into<QemuError>) -> DriverError {
    e.into().into()
}

/// Virtual sizes of the guest's block devices, by QMP device name.
fn virtual_sizes(monitor: &Monitor) -> DriverResult<HashMap<String, u64>> {
    let reply = monitor.execute("query-block", None).map_err(qemu_err)?;
    Ok(reply
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|dev| {
            Some((
                dev.get("device")?.as_str()?.to_string(),
                dev.get("inserted")?
                    .get("image")?
                    .get("virtual-size")?
                    .as_u64()?,
            ))
        })
        .collect())
}

/// Fills in the disks a document leaves out: every writable disk is backed up,
/// read-only ones and CD-ROMs are not; default targets sit beside the source.
fn align(
    def: &mut BackupDef,
    dom_def: &crate::domain_xml::DomainDef,
    now: u64,
) -> DriverResult<()> {
    for disk in dom_def.devices.iter().filter(|d| d.name == "disk") {
        let target = disk
            .child("target")
            .and_then(|t| t.attr("dev"))
            .unwrap_or_default()
            .to_string();
        let source = disk
            .child("source")
            .and_then(|s| s.attr("file"))
            .map(str::to_string);
        let writable =
            disk.attr("device").unwrap_or("disk") == "disk" && disk.child("readonly").is_none();
        let listed = def.disks.iter().position(|d| d.name == target);
        let index = match listed {
            Some(i) => i,
            None => {
                def.disks.push(def::BackupDisk {
                    name: target.clone(),
                    backup: writable && source.is_some(),
                    incremental: def.incremental.clone(),
                    target: None,
                    format: "qcow2".into(),
                    export_name: None,
                    export_bitmap: None,
                });
                def.disks.len() - 1
            }
        };
        let entry = &mut def.disks[index];
        if entry.backup && entry.target.is_none() {
            let Some(source) = &source else {
                return Err(DriverError::new(
                    codes::CONFIG_UNSUPPORTED,
                    domains::QEMU,
                    format!("backup of disk '{target}' without a source file is not supported"),
                ));
            };
            entry.target = Some(format!("{source}.{now}"));
        }
    }
    if let Some(unknown) = def.disks.iter().find(|d| {
        !dom_def.devices.iter().any(|x| {
            x.name == "disk" && x.child("target").and_then(|t| t.attr("dev")) == Some(&d.name)
        })
    }) {
        return Err(DriverError::invalid_arg(format!(
            "no disk named '{}'",
            unknown.name
        )));
    }
    Ok(())
}

impl Inner {
    pub(in crate::qemu) fn backup_begin(
        self: &Arc<Self>,
        dom: &DomainRef,
        backup_xml: &str,
        checkpoint_xml: Option<&str>,
        flags: u32,
    ) -> DriverResult<()> {
        super::lifecycle::check_flags(flags, REUSE_EXTERNAL, "qemuDomainBackupBegin")?;
        let mut def = def::parse(backup_xml)?;
        let is_pull = def.mode == "pull";
        let new_checkpoint = checkpoint_xml.map(chk_meta::parse).transpose()?;
        let job = self
            .job_of(&dom.uuid)
            .ok_or_else(|| DriverError::no_domain_uuid(domains::QEMU, &dom.uuid, &dom.name))?;
        let _job = super::jobs::lock_job_bounded(&job)?;
        let (dom_def, monitor) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let Some(run) = &obj.run else {
                return Err(super::lifecycle::not_running());
            };
            if run.job.is_some() || running().contains_key(&dom.uuid) {
                return Err(DriverError::operation_invalid(
                    "another job is already active on the domain",
                ));
            }
            (obj.def.clone(), Arc::clone(&run.monitor))
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        align(&mut def, &dom_def, now)?;
        if is_pull {
            for d in def.disks.iter_mut().filter(|d| d.backup) {
                d.export_name.get_or_insert_with(|| d.name.clone());
                if d.incremental.is_some() {
                    let bitmap = format!("backup-{}", d.name);
                    d.export_bitmap.get_or_insert(bitmap);
                }
            }
        }
        let dir = chk_meta::dir(&self.paths.lib_dir, &dom_def.name);
        let existing = chk_meta::load_all(&dir)?;
        let bitmaps = checkpoint::bitmap_counts(&monitor)?;
        let sizes = virtual_sizes(&monitor)?;
        let sources = if is_pull {
            pull::source_nodes(&monitor)?
        } else {
            HashMap::new()
        };
        let mut actions = Vec::new();
        let mut job_ids = Vec::new();
        let mut made = Teardown::default();
        let mut prepare = || -> DriverResult<()> {
            for disk in def.disks.iter().filter(|d| d.backup) {
                let node = checkpoint::disk_node(&dom_def, &disk.name).ok_or_else(|| {
                    DriverError::internal(format!("disk '{}' has no alias", disk.name))
                })?;
                if let Some(inc) = &disk.incremental {
                    if !existing.iter().any(|c| &c.name == inc) {
                        return Err(DriverError::new(
                            codes::NO_DOMAIN_CHECKPOINT,
                            domains::QEMU,
                            format!(
                                "Checkpoint '{inc}' for incremental backup of disk '{}' not found",
                                disk.name
                            ),
                        ));
                    }
                    if !bitmaps.contains_key(&(node.clone(), inc.clone())) {
                        return Err(DriverError::new(
                            codes::CHECKPOINT_INCONSISTENT,
                            domains::QEMU,
                            format!("missing or broken bitmap '{inc}' for disk '{}'", disk.name),
                        ));
                    }
                }
                let target = disk.target.clone().unwrap_or_default();
                if is_pull && disk.format != "qcow2" {
                    return Err(DriverError::new(
                        codes::CONFIG_UNSUPPORTED,
                        domains::QEMU,
                        format!(
                            "pull mode backup for disk '{}' requires qcow2 driver",
                            disk.name
                        ),
                    ));
                }
                if flags & REUSE_EXTERNAL == 0 || is_pull {
                    if std::path::Path::new(&target).exists() {
                        return Err(DriverError::invalid_arg(format!(
                            "store '{target}' for backup of '{}' exists",
                            disk.name
                        )));
                    }
                    let size = sizes.get(&node).copied().unwrap_or(0).to_string();
                    qemu_img_create(&disk.format, &target, &size)?;
                    made.created.push(target.clone());
                }
                let job_id = job_id(&disk.name);
                if is_pull {
                    let source = sources.get(&node).ok_or_else(|| {
                        DriverError::internal(format!("no block node for disk '{}'", disk.name))
                    })?;
                    let export = export_of(disk);
                    pull::add_scratch(&monitor, &export.node, &target, source)?;
                    actions.extend(pull::actions(
                        &job_id,
                        &node,
                        &export,
                        source,
                        disk.incremental.as_deref(),
                    ));
                    made.pull.exports.push(export);
                    made.pull.scratch_files.push(target.clone());
                    job_ids.push(job_id);
                    continue;
                }
                let mut data = json!({
                    "job-id": job_id,
                    "device": node,
                    "target": target,
                    "format": disk.format,
                    "mode": "existing",
                    "sync": "full",
                    "auto-dismiss": false,
                });
                if let Some(inc) = &disk.incremental {
                    // "bitmap" with mode "never" copies the marked clusters and
                    // leaves the checkpoint's bitmap as it is.
                    data["sync"] = json!("bitmap");
                    data["bitmap"] = json!(inc);
                    data["bitmap-mode"] = json!("never");
                }
                actions.push(json!({ "type": "drive-backup", "data": data }));
                job_ids.push(job_id);
            }
            Ok(())
        };
        let prepared = prepare();
        let undo = |made: &Teardown| {
            pull::teardown(&monitor, &made.pull);
            for path in &made.created {
                let _ = std::fs::remove_file(path);
            }
        };
        if let Err(e) = prepared {
            undo(&made);
            return Err(e);
        }
        let checkpoint = match new_checkpoint {
            Some(chk) => match checkpoint::create::prepare(chk, &existing, &dom_def) {
                Ok(p) => {
                    actions.splice(0..0, p.actions.clone());
                    Some(p.chk)
                }
                Err(e) => {
                    undo(&made);
                    return Err(e);
                }
            },
            None => None,
        };
        if let Err(e) = monitor
            .execute("transaction", Some(json!({ "actions": actions })))
            .map_err(qemu_err)
        {
            undo(&made);
            return Err(e);
        }
        if let (true, Some(server)) = (is_pull, &def.server) {
            if let Err(e) = pull::start(&monitor, server, &mut made.pull) {
                for id in &job_ids {
                    let _ = monitor.execute("job-cancel", Some(json!({ "id": id })));
                    let _ = monitor.execute("job-dismiss", Some(json!({ "id": id })));
                }
                undo(&made);
                return Err(e);
            }
        }
        if let Some(chk) = &checkpoint {
            chk_meta::save(&dir, chk)?;
        }
        self.set_job(&dom.uuid, Some(ActiveJob::new(job_operation::BACKUP)));
        running().insert(
            dom.uuid,
            RunningBackup {
                def,
                job_ids: job_ids.clone(),
                monitor: Arc::clone(&monitor),
                started_ms: saved::now_ms(),
            },
        );
        {
            // A restarted daemon follows the backup from the status file.
            let st = self.lock();
            if let Ok(obj) = st.get(dom) {
                self.persist_status(obj);
            }
        }
        self.watch_backup(dom.uuid, monitor, job_ids, made.pull)
    }

    /// Starts the thread that follows the backup's copies to their end.
    fn watch_backup(
        self: &Arc<Self>,
        uuid: Uuid,
        monitor: Arc<Monitor>,
        job_ids: Vec<String>,
        pulled: pull::PullState,
    ) -> DriverResult<()> {
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("backup-watch".into())
            .spawn(move || watch(&weak, uuid, &monitor, &job_ids, &pulled))
            .map_err(|e| DriverError::internal(format!("cannot start backup watcher: {e}")))?;
        Ok(())
    }

    pub(in crate::qemu) fn backup_xml(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainBackupGetXMLDesc")?;
        self.lock().get(dom)?;
        running()
            .get(&dom.uuid)
            .map(|b| b.def.to_xml())
            .ok_or_else(no_backup)
    }

    /// `virDomainAbortJob` of a backup: cancels its copies; `false` when no backup
    /// runs on the domain.
    pub(in crate::qemu) fn backup_abort(&self, dom: &DomainRef) -> DriverResult<bool> {
        let jobs = running()
            .get(&dom.uuid)
            .map(|b| (b.job_ids.clone(), Arc::clone(&b.monitor)));
        let Some((ids, monitor)) = jobs else {
            return Ok(false);
        };
        for id in ids {
            // A copy that already concluded cannot be cancelled any more.
            let _ = monitor.execute("job-cancel", Some(json!({ "id": id })));
        }
        Ok(true)
    }
}

fn no_backup() -> DriverError {
    DriverError::new(
        codes::NO_DOMAIN_BACKUP,
        domains::QEMU,
        "no domain backup job present",
    )
}

fn qemu_img_create(format: &str, path: &str, size: &str) -> DriverResult<()> {
    let out = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", format, path, size])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .map_err(|e| {
            DriverError::internal(format!(
                "cannot run qemu-img (Debian package qemu-utils): {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(DriverError::new(
            codes::OPERATION_FAILED,
            domains::QEMU,
            format!(
                "failed to create image file '{path}': {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    // The daemon's files are private to it, as libvirt's images are.
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    Ok(())
}

/// Follows the copies until every one has concluded, recording progress in the
/// domain's job; then dismisses them and ends the job. Targets of a backup that
/// failed or was cancelled are removed, as libvirt does.
fn watch(
    inner: &Weak<Inner>,
    uuid: Uuid,
    monitor: &Monitor,
    ids: &[String],
    pulled: &pull::PullState,
) {
    let mut failed = false;
    // Copies QEMU no longer knows (a daemon stopped after dismissing them but
    // before recording the end): their outcome is unknown, their targets stay.
    let mut vanished = false;
    loop {
        std::thread::sleep(POLL);
        let Ok(reply) = monitor.execute("query-jobs", None) else {
            failed = true;
            break;
        };
        let ours: Vec<&Value> = reply
            .as_array()
            .into_iter()
            .flatten()
            .filter(|j| {
                j.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| ids.iter().any(|i| i == id))
            })
            .collect();
        let field = |j: &Value, f: &str| j.get(f).and_then(Value::as_u64).unwrap_or(0);
        let total: u64 = ours.iter().map(|j| field(j, "total-progress")).sum();
        let done: u64 = ours.iter().map(|j| field(j, "current-progress")).sum();
        if let Some(inner) = inner.upgrade() {
            inner.record_job_progress(&uuid, total, done);
        }
        let concluded = ours
            .iter()
            .all(|j| j.get("status").and_then(Value::as_str) == Some("concluded"));
        if concluded {
            vanished = ours.len() < ids.len();
            failed |= ours.iter().any(|j| j.get("error").is_some()) || vanished;
            for id in ids {
                let _ = monitor.execute("job-dismiss", Some(json!({ "id": id })));
            }
            break;
        }
    }
    pull::teardown(monitor, pulled);
    let finished = running().remove(&uuid);
    if let Some(inner) = inner.upgrade() {
        inner.backup_ended(&uuid, !failed);
    }
    if failed && !vanished && pulled.exports.is_empty() {
        if let Some(backup) = finished {
            for disk in backup.def.disks.iter().filter(|d| d.backup) {
                if let Some(t) = &disk.target {
                    let _ = std::fs::remove_file(t);
                }
            }
        }
    }
}
