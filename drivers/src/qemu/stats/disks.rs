//! Disk statistics: `query-blockstats` counters, image sizes (from the image file,
//! reading the virtual size of qcow2 images from their header) and I/O errors.

use std::io::Read;
use std::os::unix::fs::MetadataExt;

use serde_json::Value;

use super::alias_of;
use crate::api::{codes, domains, BlockInfo, BlockStats, DriverError, DriverResult};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::qmp::Monitor;

/// The disks of a definition, in order.
pub(super) fn disks(def: &DomainDef) -> impl Iterator<Item = &Element> {
    def.devices.iter().filter(|d| d.name == "disk")
}

pub(super) fn target(disk: &Element) -> &str {
    disk.child("target")
        .and_then(|t| t.attr("dev"))
        .unwrap_or("")
}

/// The host path behind a disk (file or block device), if it has media.
pub(super) fn source_path(disk: &Element) -> Option<&str> {
    let source = disk.child("source")?;
    source.attr("file").or_else(|| source.attr("dev"))
}

/// A disk named by its target (`vda`) or its source path, as libvirt looks it up.
fn find_disk<'a>(def: &'a DomainDef, path: &str) -> DriverResult<&'a Element> {
    disks(def)
        .find(|d| target(d) == path)
        .or_else(|| disks(def).find(|d| source_path(d) == Some(path)))
        .ok_or_else(|| {
            DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                format!("invalid path: {path}"),
            )
        })
}

/// `query-blockstats` entries by QEMU drive id.
pub(super) fn query_blockstats(monitor: &Monitor) -> Vec<(String, Value)> {
    let Ok(reply) = monitor.execute("query-blockstats", None) else {
        return Vec::new();
    };
    reply
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| {
                    let device = e.get("device")?.as_str()?.to_string();
                    Some((device, e.get("stats")?.clone()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The drive id QEMU knows a disk's backend by.
pub(super) fn drive_id(disk: &Element) -> Option<String> {
    alias_of(disk).map(|alias| format!("drive-{alias}"))
}

pub(super) fn counters(stats: &Value) -> BlockStats {
    let n = |key: &str| stats.get(key).and_then(Value::as_i64).unwrap_or(0);
    BlockStats {
        errs: -1,
        rd_req: n("rd_operations"),
        rd_bytes: n("rd_bytes"),
        wr_req: n("wr_operations"),
        wr_bytes: n("wr_bytes"),
        flush_req: n("flush_operations"),
        rd_total_times: n("rd_total_time_ns"),
        wr_total_times: n("wr_total_time_ns"),
        flush_total_times: n("flush_total_time_ns"),
    }
}

pub(super) fn block_stats(
    def: &DomainDef,
    monitor: &Monitor,
    path: &str,
) -> DriverResult<BlockStats> {
    let disk = find_disk(def, path)?;
    let id = drive_id(disk).unwrap_or_default();
    let all = query_blockstats(monitor);
    let stats = all
        .iter()
        .find(|(device, _)| *device == id)
        .ok_or_else(|| {
            DriverError::new(
                codes::INTERNAL_ERROR,
                domains::QEMU,
                format!("cannot find statistics for device '{id}'"),
            )
        })?;
    Ok(counters(&stats.1))
}

/// `virDomainGetBlockInfo`: sizes of the image behind a disk, from the file itself.
pub(super) fn block_info(def: &DomainDef, path: &str) -> DriverResult<BlockInfo> {
    let disk = find_disk(def, path)?;
    let Some(source) = source_path(disk) else {
        return Err(DriverError::new(
            codes::OPERATION_INVALID,
            domains::QEMU,
            format!(
                "disk '{}' does not currently have a source assigned",
                target(disk)
            ),
        ));
    };
    image_info(source, disk_format(disk)).map_err(|e| {
        DriverError::new(
            codes::SYSTEM_ERROR,
            domains::QEMU,
            format!("cannot stat file '{source}': {e}"),
        )
    })
}

pub(super) fn disk_format(disk: &Element) -> &str {
    disk.child("driver")
        .and_then(|d| d.attr("type"))
        .unwrap_or("raw")
}

/// Allocation (blocks in use), capacity (the guest-visible size) and physical size.
pub(super) fn image_info(path: &str, format: &str) -> std::io::Result<BlockInfo> {
    let meta = std::fs::metadata(path)?;
    let (physical, allocation) = if meta.file_type().is_file() {
        (meta.len(), meta.blocks() * 512)
    } else {
        let size = device_size(path)?;
        (size, size)
    };
    let capacity = if format == "qcow2" && meta.file_type().is_file() {
        qcow2_virtual_size(path).unwrap_or(physical)
    } else {
        physical
    };
    Ok(BlockInfo {
        allocation,
        capacity,
        physical,
    })
}

fn device_size(path: &str) -> std::io::Result<u64> {
    use std::io::Seek;
    let mut file = std::fs::File::open(path)?;
    file.seek(std::io::SeekFrom::End(0))
}

/// The virtual size in a qcow2 header (big-endian u64 at offset 24, after the magic).
fn qcow2_virtual_size(path: &str) -> Option<u64> {
    let mut header = [0u8; 32];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    if &header[..4] != b"QFI\xfb" {
        return None;
    }
    Some(u64::from_be_bytes(header[24..32].try_into().ok()?))
}

/// (target, `VIR_DOMAIN_DISK_ERROR_*`) per disk: 0 none, 1 unspecified, 2 no space.
pub(super) fn disk_errors(def: &DomainDef, monitor: &Monitor) -> Vec<(String, i32)> {
    let status: Vec<(String, String)> = monitor
        .execute("query-block", None)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|b| {
            Some((
                b.get("device")?.as_str()?.to_string(),
                b.get("io-status")
                    .and_then(Value::as_str)
                    .unwrap_or("ok")
                    .to_string(),
            ))
        })
        .collect();
    disks(def)
        .map(|disk| {
            let id = drive_id(disk).unwrap_or_default();
            let error = match status
                .iter()
                .find(|(d, _)| *d == id)
                .map(|(_, s)| s.as_str())
            {
                Some("failed") => 1,
                Some("nospace") => 2,
                _ => 0,
            };
            (target(disk).to_string(), error)
        })
        .collect()
}

/// Virtual and on-disk sizes QEMU reports per drive id (`query-block`).
pub(super) fn query_block_sizes(monitor: &Monitor) -> Vec<(String, u64, u64)> {
    monitor
        .execute("query-block", None)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|b| {
            let image = b.get("inserted")?.get("image")?;
            Some((
                b.get("device")?.as_str()?.to_string(),
                image
                    .get("virtual-size")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                image
                    .get("actual-size")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qcow2_header_gives_the_virtual_size() {
        let path = std::env::temp_dir().join(format!("qcow2-hdr-{}", std::process::id()));
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"QFI\xfb");
        header[24..32].copy_from_slice(&(64u64 << 20).to_be_bytes());
        std::fs::write(&path, &header).expect("write");
        let info = image_info(path.to_str().expect("utf-8"), "qcow2").expect("info");
        assert_eq!((info.capacity, info.physical), (64 << 20, 64));
        let raw = image_info(path.to_str().expect("utf-8"), "raw").expect("info");
        assert_eq!(raw.capacity, 64);
        let _ = std::fs::remove_file(&path);
    }
}
