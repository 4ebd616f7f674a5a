//! Block jobs through QMP: `block-commit` (active commits wait in the ready state
//! for a pivot), `block-stream` (blockpull), `drive-mirror` (blockcopy, in
//! [`super::copy`]), `block-job-complete` (pivot) and `block-job-cancel` (abort),
//! with the BLOCK_JOB and BLOCK_JOB_2 events built from QEMU's job events; the
//! definitions follow a pivot.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::drive_of;
use crate::api::{DomainEvent, DomainEventKind, DomainRef, DriverError, DriverResult, Uuid};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::error::QemuError;
use crate::qemu::qmp::Monitor;
use crate::qemu::state::DomainObj;
use crate::qemu::Inner;

/// `virDomainBlockJobType`.
pub const JOB_PULL: i32 = 1;
pub const JOB_COPY: i32 = 2;
pub const JOB_COMMIT: i32 = 3;
pub const JOB_ACTIVE_COMMIT: i32 = 4;
/// `virConnectDomainEventBlockJobStatus`.
const STATUS_COMPLETED: i32 = 0;
const STATUS_FAILED: i32 = 1;
const STATUS_CANCELED: i32 = 2;
const STATUS_READY: i32 = 3;

/// `VIR_DOMAIN_BLOCK_COMMIT_*` and `VIR_DOMAIN_BLOCK_JOB_ABORT_*` flags used here.
const COMMIT_SHALLOW: u32 = 1;
const COMMIT_ACTIVE: u32 = 4;
const COMMIT_BANDWIDTH_BYTES: u32 = 16;
const PULL_BANDWIDTH_BYTES: u32 = 64;
const ABORT_ASYNC: u32 = 1;
const ABORT_PIVOT: u32 = 2;

/// Where a disk points once its job is pivoted.
#[derive(Clone, Debug, Default)]
pub(super) struct PivotTarget {
    pub path: String,
    pub format: String,
    /// A block device (`<disk type='block'>`, `<source dev=...>`).
    pub block: bool,
    /// The images below `path`, top first: (path, format).
    pub backing: Vec<(String, String)>,
}

/// A job this driver started, by domain and QEMU drive id.
#[derive(Clone, Debug)]
pub(super) struct JobRecord {
    pub kind: i32,
    pub pivot_to: Option<PivotTarget>,
    pub pivot_requested: bool,
    /// QEMU reported the job ready (BLOCK_JOB_READY).
    pub ready: bool,
}

impl JobRecord {
    pub fn new(kind: i32, pivot_to: Option<PivotTarget>) -> Self {
        JobRecord {
            kind,
            pivot_to,
            pivot_requested: false,
            ready: false,
        }
    }
}

type JobTable = HashMap<(Uuid, String), JobRecord>;

pub(super) fn jobs() -> MutexGuard<'static, JobTable> {
    static JOBS: LazyLock<Mutex<JobTable>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    JOBS.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn forget_guest(uuid: &Uuid) {
    jobs().retain(|(u, _), _| u != uuid);
}

pub(super) fn speed_bytes(bandwidth: u64, in_bytes: bool) -> DriverResult<u64> {
    if in_bytes {
        Ok(bandwidth)
    } else {
        bandwidth.checked_mul(1 << 20).ok_or_else(|| {
            DriverError::new(
                crate::api::codes::OVERFLOW,
                crate::api::domains::QEMU,
                format!("bandwidth must be less than {}", u64::MAX >> 20),
            )
        })
    }
}

/// The drive's image chain from `query-block`, active layer first: (path, format).
pub(super) fn chain(monitor: &Monitor, drive: &str) -> DriverResult<Vec<(String, String)>> {
    let blocks = monitor
        .execute("query-block", None)
        .map_err(QemuError::from)?;
    let block = blocks
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b.get("device").and_then(Value::as_str) == Some(drive));
    let mut image = block
        .and_then(|b| b.get("inserted"))
        .and_then(|i| i.get("image"));
    let mut out = Vec::new();
    while let Some(i) = image {
        if let Some(file) = i.get("filename").and_then(Value::as_str) {
            let format = i.get("format").and_then(Value::as_str).unwrap_or("raw");
            out.push((file.to_string(), format.to_string()));
        }
        image = i.get("backing-image");
    }
    Ok(out)
}

/// Points disk `dst` of `def` at the pivot target, with its backing chain.
fn retarget(def: &mut DomainDef, dst: &str, to: &PivotTarget) {
    let Some(disk) = def
        .devices
        .iter_mut()
        .find(|e| e.name == "disk" && e.child("target").and_then(|t| t.attr("dev")) == Some(dst))
    else {
        return;
    };
    disk.set_attr("type", if to.block { "block" } else { "file" });
    if disk.child("source").is_none() {
        disk.children.push(Element::new("source"));
    }
    if let Some(source) = disk.child_mut("source") {
        source.remove_attr(if to.block { "file" } else { "dev" });
        source.set_attr(if to.block { "dev" } else { "file" }, &to.path);
    }
    match disk.child_mut("driver") {
        Some(driver) => driver.set_attr("type", &to.format),
        None => disk.children.insert(
            0,
            Element::new("driver")
                .with_attr("name", "qemu")
                .with_attr("type", &to.format),
        ),
    }
    disk.children.retain(|c| c.name != "backingStore");
    let at = disk
        .children
        .iter()
        .position(|c| c.name == "source")
        .map_or(disk.children.len(), |p| p + 1);
    if let Some(chain) = backing_store(&to.backing) {
        disk.children.insert(at, chain);
    }
}

/// libvirt's `<mirror>` of a disk under a copy job.
pub(super) fn mirror_element(to: &PivotTarget, ready: bool) -> Element {
    let (kind, attr) = if to.block {
        ("block", "dev")
    } else {
        ("file", "file")
    };
    let mut mirror = Element::new("mirror").with_attr("type", kind);
    if !to.block {
        mirror.set_attr("file", &to.path);
    }
    mirror.set_attr("format", &to.format);
    mirror.set_attr("job", "copy");
    if ready {
        mirror.set_attr("ready", "yes");
    }
    mirror
        .with_child(Element::new("format").with_attr("type", &to.format))
        .with_child(Element::new("source").with_attr(attr, &to.path))
}

/// Whether the copy job on `drive` of domain `uuid` is still known, and ready.
pub(super) fn copy_state(uuid: &Uuid, drive: &str) -> Option<bool> {
    jobs()
        .get(&(*uuid, drive.to_string()))
        .filter(|r| r.kind == JOB_COPY)
        .map(|r| r.ready)
}

/// libvirt's nested `<backingStore>` elements for a chain, top first.
fn backing_store(chain: &[(String, String)]) -> Option<Element> {
    let ((path, format), rest) = chain.split_first()?;
    let kind = if crate::qemu::blockjob::is_block_device(path) {
        ("block", "dev")
    } else {
        ("file", "file")
    };
    let mut element = Element::new("backingStore")
        .with_attr("type", kind.0)
        .with_child(Element::new("format").with_attr("type", format))
        .with_child(Element::new("source").with_attr(kind.1, path));
    element
        .children
        .push(backing_store(rest).unwrap_or_else(|| Element::new("backingStore")));
    Some(element)
}

impl Inner {
    /// Records the domain's jobs in its status file, for a restarted daemon.
    fn persist_jobs(&self, dom: &DomainRef) {
        let st = self.lock();
        if let Ok(obj) = st.get(dom) {
            self.persist_status(obj);
        }
    }

    pub(super) fn start_block_job(
        &self,
        dom: &DomainRef,
        disk: &str,
        command: &str,
        mut args: Map<String, Value>,
        record: impl FnOnce(&Monitor, &str) -> DriverResult<JobRecord>,
    ) -> DriverResult<()> {
        let (monitor, _, _) = self.running_parts(dom)?;
        let def = self.lock().get(dom)?.def.clone();
        let (drive, _) = drive_of(&def, disk)?;
        let key = (dom.uuid, drive.clone());
        if jobs().contains_key(&key) {
            return Err(DriverError::new(
                crate::api::codes::BLOCK_COPY_ACTIVE,
                crate::api::domains::QEMU,
                format!("disk '{disk}' already in active block job"),
            ));
        }
        let rec = record(&monitor, &drive)?;
        jobs().insert(key.clone(), rec);
        args.insert("device".into(), json!(drive));
        args.insert("job-id".into(), json!(drive));
        if let Err(e) = monitor.execute(command, Some(Value::Object(args))) {
            jobs().remove(&key);
            return Err(QemuError::from(e).into());
        }
        self.persist_jobs(dom);
        Ok(())
    }

    pub(in crate::qemu) fn block_commit(
        &self,
        dom: &DomainRef,
        disk: &str,
        base: Option<&str>,
        top: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(
            flags,
            COMMIT_SHALLOW | COMMIT_ACTIVE | COMMIT_BANDWIDTH_BYTES,
            "qemuDomainBlockCommit",
        )?;
        let mut args = Map::new();
        args.insert(
            "speed".into(),
            json!(speed_bytes(bandwidth, flags & COMMIT_BANDWIDTH_BYTES != 0)?),
        );
        if let Some(base) = base {
            args.insert("base".into(), json!(base));
        }
        if let Some(top) = top {
            args.insert("top".into(), json!(top));
        }
        let active = flags & COMMIT_ACTIVE != 0;
        self.start_block_job(dom, disk, "block-commit", args, |monitor, drive| {
            let images = chain(monitor, drive)?;
            if images.is_empty() {
                return Err(DriverError::internal(format!("disk '{disk}' has no image")));
            }
            let top_at = match top {
                Some(t) => images.iter().position(|(p, _)| p == t).ok_or_else(|| {
                    DriverError::invalid_arg(format!(
                        "could not find image '{t}' in chain for '{disk}'"
                    ))
                })?,
                None => 0,
            };
            let base_at = match base {
                Some(b) => images
                    .iter()
                    .skip(top_at + 1)
                    .position(|(p, _)| p == b)
                    .map(|p| p + top_at + 1)
                    .ok_or_else(|| {
                        DriverError::invalid_arg(format!(
                            "could not find image '{b}' beneath '{}' in chain for '{disk}'",
                            images[top_at].0
                        ))
                    })?,
                None if images.len() > top_at + 1 => images.len() - 1,
                None => {
                    return Err(DriverError::invalid_arg(format!(
                        "top '{}' in chain for '{disk}' has no backing file",
                        images[top_at].0
                    )))
                }
            };
            let (path, format) = images[base_at].clone();
            Ok(JobRecord::new(
                if active {
                    JOB_ACTIVE_COMMIT
                } else {
                    JOB_COMMIT
                },
                Some(PivotTarget {
                    block: super::is_block_device(&path),
                    path,
                    format,
                    backing: images[base_at + 1..].to_vec(),
                }),
            ))
        })
    }

    pub(in crate::qemu) fn block_pull(
        &self,
        dom: &DomainRef,
        disk: &str,
        bandwidth: u64,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(flags, PULL_BANDWIDTH_BYTES, "qemuDomainBlockPull")?;
        self.stream(dom, disk, None, bandwidth, flags)
    }

    /// `block-stream` into the top image, from `base` (or the whole chain).
    pub(super) fn stream(
        &self,
        dom: &DomainRef,
        disk: &str,
        base: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> DriverResult<()> {
        let mut args = Map::new();
        args.insert(
            "speed".into(),
            json!(speed_bytes(bandwidth, flags & PULL_BANDWIDTH_BYTES != 0)?),
        );
        if let Some(base) = base {
            args.insert("base".into(), json!(base));
        }
        let base = base.map(str::to_string);
        self.start_block_job(dom, disk, "block-stream", args, |monitor, drive| {
            if let Some(base) = &base {
                let images = chain(monitor, drive)?;
                if !images.iter().skip(1).any(|(p, _)| p == base) {
                    return Err(DriverError::invalid_arg(format!(
                        "could not find image '{base}' beneath '{}' in chain for '{disk}'",
                        images.first().map(|i| i.0.as_str()).unwrap_or_default()
                    )));
                }
            }
            Ok(JobRecord::new(JOB_PULL, None))
        })
    }

    pub(in crate::qemu) fn block_job_set_speed(
        &self,
        dom: &DomainRef,
        disk: &str,
        bandwidth: u64,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(flags, 1, "qemuDomainBlockJobSetSpeed")?;
        let (monitor, _, _) = self.running_parts(dom)?;
        let def = self.lock().get(dom)?.def.clone();
        let (drive, _) = drive_of(&def, disk)?;
        let speed = speed_bytes(bandwidth, flags & 1 != 0)?;
        monitor
            .execute(
                "block-job-set-speed",
                Some(json!({"device": drive, "speed": speed})),
            )
            .map_err(|e| no_job_or(disk, e))?;
        Ok(())
    }

    /// `virDomainBlockJobAbort`: cancels the job, or pivots a ready active commit;
    /// waits for QEMU to finish unless asked not to.
    pub(in crate::qemu) fn block_job_abort(
        &self,
        dom: &DomainRef,
        disk: &str,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(
            flags,
            ABORT_ASYNC | ABORT_PIVOT,
            "qemuDomainBlockJobAbort",
        )?;
        let (monitor, _, _) = self.running_parts(dom)?;
        let def = self.lock().get(dom)?.def.clone();
        let (drive, _) = drive_of(&def, disk)?;
        let key = (dom.uuid, drive.clone());
        let pivot = flags & ABORT_PIVOT != 0;
        if pivot {
            let record = jobs().get(&key).cloned();
            if record.is_none() && !qemu_has_job(&monitor, &drive) {
                return Err(DriverError::invalid_arg(format!(
                    "disk {disk} does not have an active block job"
                )));
            }
            let ready = match &record {
                Some(r) if matches!(r.kind, JOB_ACTIVE_COMMIT | JOB_COPY) => {
                    r.ready || qemu_says_ready(&monitor, &drive)
                }
                _ => false,
            };
            if !ready {
                return Err(DriverError::new(
                    crate::api::codes::BLOCK_COPY_ACTIVE,
                    crate::api::domains::QEMU,
                    format!("block job '{drive}' not ready for pivot yet"),
                ));
            }
            if let Some(r) = jobs().get_mut(&key) {
                r.pivot_requested = true;
            }
            if let Err(e) = monitor.execute("block-job-complete", Some(json!({"device": drive}))) {
                if let Some(r) = jobs().get_mut(&key) {
                    r.pivot_requested = false;
                }
                return Err(no_job_or(disk, e));
            }
            self.persist_jobs(dom);
        } else {
            monitor
                .execute("block-job-cancel", Some(json!({"device": drive})))
                .map_err(|e| no_job_or(disk, e))?;
        }
        if flags & ABORT_ASYNC == 0 {
            let deadline = Instant::now() + Duration::from_secs(60);
            while jobs().contains_key(&key) {
                if Instant::now() > deadline {
                    return Err(
                        QemuError::Timeout("waiting for the block job to end".into()).into(),
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

/// Whether `query-block-jobs` shows a job on the drive.
fn qemu_has_job(monitor: &Monitor, drive: &str) -> bool {
    monitor
        .execute("query-block-jobs", None)
        .ok()
        .and_then(|jobs| {
            jobs.as_array()?
                .iter()
                .find(|j| j.get("device").and_then(Value::as_str) == Some(drive))
                .map(|_| true)
        })
        .unwrap_or(false)
}

/// Whether `query-block-jobs` shows the drive's job ready for completion.
fn qemu_says_ready(monitor: &Monitor, drive: &str) -> bool {
    monitor
        .execute("query-block-jobs", None)
        .ok()
        .and_then(|jobs| {
            jobs.as_array()?
                .iter()
                .find(|j| j.get("device").and_then(Value::as_str) == Some(drive))?
                .get("ready")?
                .as_bool()
        })
        .unwrap_or(false)
}

fn no_job_or(disk: &str, e: crate::qemu::qmp::QmpError) -> DriverError {
    let text = e.to_string();
    if text.contains("No active block job") || text.contains("not found") {
        DriverError::invalid_arg(format!("disk {disk} does not have an active block job"))
    } else {
        QemuError::from(e).into()
    }
}

/// Handles QEMU's BLOCK_JOB_* events on the monitor thread (table lock held):
/// the libvirt events to send and whether the live definition changed.
pub fn qmp_event(
    paths: &crate::qemu::paths::QemuPaths,
    uuid: &Uuid,
    obj: &mut DomainObj,
    name: &str,
    data: &Value,
) -> (Vec<DomainEvent>, bool) {
    let Some(drive) = data.get("device").and_then(Value::as_str) else {
        return (Vec::new(), false);
    };
    let key = (*uuid, drive.to_string());
    let qemu_type = data.get("type").and_then(Value::as_str).unwrap_or_default();
    let record = jobs().get(&key).cloned();
    let kind = record.as_ref().map(|r| r.kind).unwrap_or(match qemu_type {
        "stream" => JOB_PULL,
        "commit" => JOB_COMMIT,
        _ => JOB_COPY,
    });
    // The job table is part of the status file.
    let mut changed = record.is_some() && name != "BLOCK_JOB_ERROR";
    let status = match name {
        "BLOCK_JOB_READY" => {
            if let Some(r) = jobs().get_mut(&key) {
                r.ready = true;
            }
            STATUS_READY
        }
        "BLOCK_JOB_CANCELLED" => {
            jobs().remove(&key);
            STATUS_CANCELED
        }
        "BLOCK_JOB_ERROR" => return (Vec::new(), false),
        _ => {
            jobs().remove(&key);
            if data.get("error").is_some() {
                STATUS_FAILED
            } else if matches!(kind, JOB_ACTIVE_COMMIT | JOB_COPY)
                && !record.as_ref().is_some_and(|r| r.pivot_requested)
            {
                // A ready two-phase job that was cancelled ends as "completed" in QEMU.
                STATUS_CANCELED
            } else {
                STATUS_COMPLETED
            }
        }
    };
    let alias = drive.strip_prefix("drive-").unwrap_or(drive);
    if kind == JOB_COPY {
        if let Some(disk) = obj.def.devices.iter_mut().find(|d| {
            d.name == "disk" && d.child("alias").and_then(|a| a.attr("name")) == Some(alias)
        }) {
            if status == STATUS_READY {
                if let Some(mirror) = disk.child_mut("mirror") {
                    mirror.set_attr("ready", "yes");
                }
            } else {
                disk.children.retain(|c| c.name != "mirror");
            }
            changed = true;
        }
    }
    let Some(disk) =
        obj.def.devices.iter().find(|d| {
            d.name == "disk" && d.child("alias").and_then(|a| a.attr("name")) == Some(alias)
        })
    else {
        return (Vec::new(), changed);
    };
    let dst = disk
        .child("target")
        .and_then(|t| t.attr("dev"))
        .unwrap_or_default()
        .to_string();
    let mut path = disk
        .child("source")
        .and_then(|s| s.attr("file").or(s.attr("dev")))
        .unwrap_or_default()
        .to_string();
    if status == STATUS_COMPLETED && matches!(kind, JOB_ACTIVE_COMMIT | JOB_COPY) {
        if let Some(to) = record.and_then(|r| r.pivot_to) {
            let config = obj.persistent.then(|| obj.persistent_def().clone());
            retarget(&mut obj.def, &dst, &to);
            if let Some(mut config) = config {
                retarget(&mut config, &dst, &to);
                if let Err(e) = crate::qemu::store::save_config(paths, &config) {
                    tracing::warn!("cannot save the definition after a pivot: {e}");
                }
                obj.new_def = Some(config);
            }
            path = to.path;
            changed = true;
        }
    }
    let event = |disk: String, v2: bool| DomainEvent {
        domain: obj.handle(),
        kind: DomainEventKind::BlockJob {
            disk,
            kind,
            status,
            v2,
        },
    };
    (vec![event(path, false), event(dst, true)], changed)
}
