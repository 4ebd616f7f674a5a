//! Block operations on running guests through QMP: `block_resize` for
//! `virsh blockresize`, `query-block-jobs` for `virsh blockjob --info`, the jobs
//! themselves ([`jobs`], [`copy`]) and write thresholds ([`threshold`]).
//! Disks are named by target (`vda`) or source path, as libvirt accepts them.

mod copy;
mod jobs;
mod saved;
mod threshold;

use serde_json::{json, Value};

pub use jobs::qmp_event;
pub(super) use saved::{restore, status_element};
pub use threshold::qmp_threshold_event;

use super::connection::QemuConnection;
use super::error::QemuError;
use super::Inner;
use crate::api::{
    codes, BlockCopyParams, BlockJobInfo, DomainBlockJobs, DomainRef, DriverError, DriverResult,
    BLOCK_RESIZE_BYTES,
};
use crate::domain_xml::{DomainDef, Element};

impl DomainBlockJobs for QemuConnection {
    fn block_resize(&self, dom: &DomainRef, disk: &str, size: u64, flags: u32) -> DriverResult<()> {
        self.inner.block_resize(dom, disk, size, flags)
    }

    fn block_job_info(
        &self,
        dom: &DomainRef,
        disk: &str,
        flags: u32,
    ) -> DriverResult<Option<BlockJobInfo>> {
        self.inner.block_job_info(dom, disk, flags)
    }

    fn block_commit(
        &self,
        dom: &DomainRef,
        disk: &str,
        base: Option<&str>,
        top: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner
            .block_commit(dom, disk, base, top, bandwidth, flags)
    }

    fn block_pull(
        &self,
        dom: &DomainRef,
        disk: &str,
        bandwidth: u64,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.block_pull(dom, disk, bandwidth, flags)
    }

    fn block_job_abort(&self, dom: &DomainRef, disk: &str, flags: u32) -> DriverResult<()> {
        self.inner.block_job_abort(dom, disk, flags)
    }

    fn block_job_set_speed(
        &self,
        dom: &DomainRef,
        disk: &str,
        bandwidth: u64,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.block_job_set_speed(dom, disk, bandwidth, flags)
    }

    fn block_copy(
        &self,
        dom: &DomainRef,
        disk: &str,
        destxml: &str,
        params: &BlockCopyParams,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.block_copy(dom, disk, destxml, params, flags)
    }

    fn block_rebase(
        &self,
        dom: &DomainRef,
        disk: &str,
        base: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.block_rebase(dom, disk, base, bandwidth, flags)
    }

    fn set_block_threshold(
        &self,
        dom: &DomainRef,
        dev: &str,
        threshold: u64,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_block_threshold(dom, dev, threshold, flags)
    }
}

/// Drops the jobs and thresholds of a guest whose QEMU ended: they ended with it.
pub(super) fn forget_guest(uuid: &crate::api::Uuid) {
    jobs::forget_guest(uuid);
    threshold::forget_guest(uuid);
}

/// Whether `path` names a block device.
pub(super) fn is_block_device(path: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_block_device())
}

/// The `<disk>` named `disk` by target or source.
fn find_disk<'a>(def: &'a DomainDef, disk: &str) -> DriverResult<&'a Element> {
    def.devices
        .iter()
        .filter(|d| d.name == "disk")
        .find(|d| {
            d.child("target").and_then(|t| t.attr("dev")) == Some(disk)
                || d.child("source")
                    .is_some_and(|s| s.attr("file") == Some(disk) || s.attr("dev") == Some(disk))
        })
        .ok_or_else(|| DriverError::invalid_arg(format!("disk '{disk}' not found in domain")))
}

/// The QEMU drive id (`drive-<alias>`) and format of the disk named `disk`.
fn drive_of(def: &DomainDef, disk: &str) -> DriverResult<(String, String)> {
    let device = find_disk(def, disk)?;
    let alias = device
        .child("alias")
        .and_then(|a| a.attr("name"))
        .ok_or_else(|| DriverError::internal(format!("disk '{disk}' has no alias")))?;
    let format = device
        .child("driver")
        .and_then(|d| d.attr("type"))
        .unwrap_or("raw");
    Ok((format!("drive-{alias}"), format.to_string()))
}

/// `virDomainBlockJobType` of a QEMU job type.
fn job_kind(qemu: &str, device_is_top: bool) -> i32 {
    match qemu {
        "stream" => 1,
        "mirror" => 2,
        "commit" if device_is_top => 4,
        "commit" => 3,
        _ => 0,
    }
}

impl Inner {
    fn block_resize(&self, dom: &DomainRef, disk: &str, size: u64, flags: u32) -> DriverResult<()> {
        super::lifecycle::check_flags(flags, BLOCK_RESIZE_BYTES, "qemuDomainBlockResize")?;
        let bytes = if flags & BLOCK_RESIZE_BYTES != 0 {
            Some(size)
        } else {
            size.checked_mul(1024)
        }
        .ok_or_else(|| {
            DriverError::new(
                codes::OVERFLOW,
                crate::api::domains::QEMU,
                format!("size {size} is too big"),
            )
        })?;
        let (monitor, _, _) = self.running_parts(dom)?;
        let def = self.lock().get(dom)?.def.clone();
        let (drive, format) = drive_of(&def, disk)?;
        // qcow2 and raw images grow in whole sectors, as libvirt rounds them.
        let bytes = if matches!(format.as_str(), "qcow2" | "raw") {
            bytes.div_ceil(512).saturating_mul(512)
        } else {
            bytes
        };
        monitor
            .execute(
                "block_resize",
                Some(json!({ "device": drive, "size": bytes })),
            )
            .map_err(QemuError::from)?;
        Ok(())
    }

    fn block_job_info(
        &self,
        dom: &DomainRef,
        disk: &str,
        flags: u32,
    ) -> DriverResult<Option<BlockJobInfo>> {
        // VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES
        super::lifecycle::check_flags(flags, 1, "qemuDomainGetBlockJobInfo")?;
        let (monitor, _, _) = self.running_parts(dom)?;
        let def = self.lock().get(dom)?.def.clone();
        let (drive, _) = drive_of(&def, disk)?;
        let jobs = monitor
            .execute("query-block-jobs", None)
            .map_err(QemuError::from)?;
        let job = jobs
            .as_array()
            .into_iter()
            .flatten()
            .find(|j| j.get("device").and_then(Value::as_str) == Some(drive.as_str()));
        Ok(job.map(|j| {
            let num = |key: &str| j.get(key).and_then(Value::as_u64).unwrap_or_default();
            let speed = num("speed");
            BlockJobInfo {
                kind: job_kind(
                    j.get("type").and_then(Value::as_str).unwrap_or_default(),
                    true,
                ),
                // MiB/s unless bytes were asked for.
                bandwidth: if flags & 1 != 0 { speed } else { speed >> 20 },
                cur: num("offset"),
                end: num("len"),
            }
        }))
    }
}
