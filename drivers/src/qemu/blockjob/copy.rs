//! `virDomainBlockCopy` and `virDomainBlockRebase` with the COPY flag: a QMP
//! `drive-mirror` of the disk into a file or block device that stays in the ready
//! state until it is pivoted to (`block-job-complete`) or finished
//! (`block-job-cancel`, the source stays in use).

use std::os::unix::fs::FileTypeExt;

use serde_json::{json, Map};

use super::drive_of;
use super::jobs::{
    chain, copy_state, mirror_element, speed_bytes, JobRecord, PivotTarget, JOB_COPY,
};
use crate::api::{codes, domains, BlockCopyParams, DomainRef, DriverError, DriverResult};
use crate::qemu::Inner;

/// `VIR_DOMAIN_BLOCK_COPY_*`.
const COPY_SHALLOW: u32 = 1;
const COPY_REUSE_EXT: u32 = 2;
const COPY_TRANSIENT_JOB: u32 = 4;
const COPY_SYNCHRONOUS_WRITES: u32 = 8;
/// `VIR_DOMAIN_BLOCK_REBASE_*`.
const REBASE_SHALLOW: u32 = 1;
const REBASE_REUSE_EXT: u32 = 2;
const REBASE_COPY_RAW: u32 = 4;
const REBASE_COPY: u32 = 8;
const REBASE_RELATIVE: u32 = 16;
const REBASE_COPY_DEV: u32 = 32;
const REBASE_BANDWIDTH_BYTES: u32 = 64;

/// Image formats a copy may be written in.
const FORMATS: &[&str] = &["raw", "qcow2", "qed", "vmdk", "vdi", "vpc", "vhdx"];

/// Where a copy goes.
#[derive(Debug, PartialEq, Eq)]
struct CopyDest {
    path: String,
    block: bool,
    format: Option<String>,
}

/// Reads the `<disk>` XML of `virDomainBlockCopy`.
fn parse_dest(xml: &str) -> DriverResult<CopyDest> {
    if xml.len() > crate::domain_xml::MAX_BYTES {
        return Err(DriverError::xml_error("disk XML too large"));
    }
    let doc = roxmltree::Document::parse(xml).map_err(|e| {
        DriverError::new(
            codes::XML_DETAIL,
            domains::XML,
            format!("(disk_definition):1: {e}"),
        )
    })?;
    let disk = doc.root_element();
    if disk.tag_name().name() != "disk" {
        return Err(DriverError::xml_error(format!(
            "unexpected root element <{}>, expecting <disk>",
            disk.tag_name().name()
        )));
    }
    let kind = disk.attribute("type").unwrap_or("file");
    let block = match kind {
        "file" => false,
        "block" => true,
        other => {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                format!("unsupported disk type '{other}' for block copy"),
            ))
        }
    };
    let child = |name: &str| disk.children().find(|c| c.tag_name().name() == name);
    let path = child("source")
        .and_then(|s| s.attribute(if block { "dev" } else { "file" }))
        .ok_or_else(|| DriverError::xml_error("missing source of the block copy target"))?;
    let format = child("driver")
        .and_then(|d| d.attribute("type"))
        .map(str::to_string);
    Ok(CopyDest {
        path: path.to_string(),
        block,
        format,
    })
}

fn system_error(detail: String) -> DriverError {
    DriverError::new(codes::SYSTEM_ERROR, domains::QEMU, detail)
}

/// The format `qemu-img info` finds in an existing image.
fn probe_format(path: &str) -> DriverResult<String> {
    let out = std::process::Command::new("qemu-img")
        .args(["info", "-U", "--output=json", "--", path])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .map_err(|e| {
            DriverError::internal(format!(
                "cannot run qemu-img (Debian package qemu-utils): {e}"
            ))
        })?;
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    Ok(info
        .get("format")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("raw")
        .to_string())
}

impl Inner {
    pub(in crate::qemu) fn block_copy(
        &self,
        dom: &DomainRef,
        disk: &str,
        destxml: &str,
        params: &BlockCopyParams,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(
            flags,
            COPY_SHALLOW | COPY_REUSE_EXT | COPY_TRANSIENT_JOB | COPY_SYNCHRONOUS_WRITES,
            "qemuDomainBlockCopy",
        )?;
        let dest = parse_dest(destxml)?;
        self.copy_common(dom, disk, dest, params, flags)
    }

    pub(in crate::qemu) fn block_rebase(
        &self,
        dom: &DomainRef,
        disk: &str,
        base: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(
            flags,
            REBASE_SHALLOW
                | REBASE_REUSE_EXT
                | REBASE_COPY_RAW
                | REBASE_COPY
                | REBASE_RELATIVE
                | REBASE_COPY_DEV
                | REBASE_BANDWIDTH_BYTES,
            "qemuDomainBlockRebase",
        )?;
        if flags & REBASE_COPY == 0 {
            if flags & !REBASE_BANDWIDTH_BYTES != 0 {
                return Err(DriverError::new(
                    codes::ARGUMENT_UNSUPPORTED,
                    domains::QEMU,
                    "only the bandwidth flag is supported for a block pull",
                ));
            }
            return self.stream(dom, disk, base, bandwidth, flags);
        }
        let Some(base) = base else {
            return Err(DriverError::invalid_arg(
                "base in virDomainBlockRebase must not be NULL".to_string(),
            ));
        };
        if flags & REBASE_RELATIVE != 0 {
            return Err(DriverError::new(
                codes::ARGUMENT_UNSUPPORTED,
                domains::QEMU,
                "Relative backing during copy not supported yet",
            ));
        }
        let dest = CopyDest {
            path: base.to_string(),
            block: flags & REBASE_COPY_DEV != 0,
            format: (flags & REBASE_COPY_RAW != 0).then(|| "raw".to_string()),
        };
        let params = BlockCopyParams {
            bandwidth: speed_bytes(bandwidth, flags & REBASE_BANDWIDTH_BYTES != 0)?,
            ..BlockCopyParams::default()
        };
        // The shallow and reuse flags have the values of the block copy ones.
        self.copy_common(
            dom,
            disk,
            dest,
            &params,
            flags & (REBASE_SHALLOW | REBASE_REUSE_EXT),
        )
    }

    fn copy_common(
        &self,
        dom: &DomainRef,
        disk: &str,
        dest: CopyDest,
        params: &BlockCopyParams,
        mut flags: u32,
    ) -> DriverResult<()> {
        let (monitor, _, _) = self.running_parts(dom)?;
        let (def, persistent) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            (obj.def.clone(), obj.persistent)
        };
        if persistent && flags & COPY_TRANSIENT_JOB == 0 {
            return Err(DriverError::operation_invalid(
                "domain is not transient".to_string(),
            ));
        }
        if params.granularity != 0 && !params.granularity.is_power_of_two() {
            return Err(DriverError::invalid_arg(
                "granularity must be power of 2".to_string(),
            ));
        }
        let (drive, _) = drive_of(&def, disk)?;
        let dst = super::find_disk(&def, disk)?
            .child("target")
            .and_then(|t| t.attr("dev"))
            .unwrap_or(disk)
            .to_string();
        if !dest.path.starts_with('/') || dest.path.contains('\0') {
            return Err(DriverError::invalid_arg(
                "absolute path must be used as block copy target".to_string(),
            ));
        }
        if let Some(format) = &dest.format {
            if !FORMATS.contains(&format.as_str()) {
                return Err(DriverError::xml_error(format!(
                    "unknown driver format value '{format}'"
                )));
            }
        }
        let images = chain(&monitor, &drive)?;
        let Some((_, source_format)) = images.first().cloned() else {
            return Err(DriverError::operation_invalid(format!(
                "disk '{dst}' does not currently have a source assigned"
            )));
        };
        if images.len() < 2 {
            flags &= !COPY_SHALLOW;
        }
        let shallow = flags & COPY_SHALLOW != 0;
        let reuse = flags & COPY_REUSE_EXT != 0;
        match std::fs::metadata(&dest.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if reuse || dest.block {
                    return Err(system_error(format!(
                        "missing destination file for disk {dst}: {}: No such file or directory",
                        dest.path
                    )));
                }
            }
            Err(e) => {
                return Err(system_error(format!(
                    "unable to stat for disk {dst}: {}: {e}",
                    dest.path
                )))
            }
            Ok(meta) if !meta.file_type().is_block_device() => {
                if meta.len() > 0 && !reuse {
                    return Err(DriverError::new(
                        codes::CONFIG_UNSUPPORTED,
                        domains::QEMU,
                        format!(
                            "external destination file for disk {dst} already exists and is not a block device: {}",
                            dest.path
                        ),
                    ));
                }
                if dest.block {
                    return Err(DriverError::invalid_arg(format!(
                        "blockdev flag requested for disk {dst}, but file '{}' is not a block device",
                        dest.path
                    )));
                }
            }
            Ok(_) => {}
        }
        let format = match (&dest.format, reuse) {
            (Some(f), _) => f.clone(),
            (None, true) => probe_format(&dest.path)?,
            (None, false) => source_format,
        };
        if shallow && !reuse && format == "raw" {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                format!("shallow copy of disk '{dst}' into a raw file is not possible"),
            ));
        }
        let mut args = Map::new();
        args.insert("target".into(), json!(dest.path));
        args.insert("format".into(), json!(format));
        args.insert("sync".into(), json!(if shallow { "top" } else { "full" }));
        args.insert(
            "mode".into(),
            json!(if reuse { "existing" } else { "absolute-paths" }),
        );
        args.insert("speed".into(), json!(params.bandwidth));
        if params.granularity != 0 {
            args.insert("granularity".into(), json!(params.granularity));
        }
        if params.buf_size != 0 {
            args.insert("buf-size".into(), json!(params.buf_size));
        }
        if flags & COPY_SYNCHRONOUS_WRITES != 0 {
            args.insert("copy-mode".into(), json!("write-blocking"));
        }
        let target = PivotTarget {
            path: dest.path.clone(),
            format,
            block: dest.block || super::is_block_device(&dest.path),
            backing: if shallow {
                images[1..].to_vec()
            } else {
                Vec::new()
            },
        };
        let mirror = target.clone();
        self.start_block_job(dom, disk, "drive-mirror", args, |_, _| {
            Ok(JobRecord::new(JOB_COPY, Some(target)))
        })?;
        // The live XML shows the copy as libvirt does, unless the job already ended.
        let mut st = self.lock();
        let obj = st.get_mut(dom)?;
        let Some(ready) = copy_state(&dom.uuid, &drive) else {
            return Ok(());
        };
        if let Some(device) = obj.def.devices.iter_mut().find(|d| {
            d.name == "disk" && d.child("target").and_then(|t| t.attr("dev")) == Some(dst.as_str())
        }) {
            let at = device
                .children
                .iter()
                .rposition(|c| c.name == "source" || c.name == "backingStore")
                .map_or(device.children.len(), |p| p + 1);
            device.children.insert(at, mirror_element(&mirror, ready));
        }
        self.persist_status(obj);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_xml() {
        let d =
            parse_dest("<disk type='block'><source dev='/dev/loop7'/><driver type='raw'/></disk>")
                .expect("parses");
        assert_eq!(
            d,
            CopyDest {
                path: "/dev/loop7".into(),
                block: true,
                format: Some("raw".into())
            }
        );
        let d = parse_dest("<disk><source file='/tmp/x.qcow2'/></disk>").expect("parses");
        assert!(!d.block && d.format.is_none());
        assert!(parse_dest("<disk type='network'><source/></disk>").is_err());
        assert!(parse_dest("<domain/>").is_err());
        assert!(parse_dest("<disk><source dev='/dev/x'/></disk>").is_err());
        assert!(parse_dest("<disk").is_err());
    }
}
