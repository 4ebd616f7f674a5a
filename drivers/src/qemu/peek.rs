//! `virDomainBlockPeek` (`virsh` has no command; python3-libvirt's `blockPeek`):
//! bytes of a raw disk's source, and `virDomainMemoryPeek`: bytes of guest
//! memory that QEMU saves (`memsave`/`pmemsave`) into a private file of the
//! daemon's, read back and removed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;

use super::error::QemuError;
use super::fsutil::remove_if_exists;
use super::lifecycle::check_flags;
use super::Inner;
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult};

/// `VIR_MEMORY_VIRTUAL` / `VIR_MEMORY_PHYSICAL`.
const MEMORY_VIRTUAL: u32 = 1;
const MEMORY_PHYSICAL: u32 = 2;
/// Makes the names of concurrent peeks' files unique.
static PEEK_COUNTER: AtomicU64 = AtomicU64::new(0);

fn invalid_arg(message: String) -> DriverError {
    DriverError::new(codes::INVALID_ARG, domains::QEMU, message)
}

/// Reads `size` bytes at `offset` of `path`; fewer bytes available is an error.
fn read_at(path: &Path, offset: u64, size: u32, name: &str) -> DriverResult<Vec<u8>> {
    let mut file = File::open(path).map_err(|e| QemuError::io("unable to open", path, e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| QemuError::io("unable to seek", path, e))?;
    let mut buffer = Vec::with_capacity(size as usize);
    file.take(u64::from(size))
        .read_to_end(&mut buffer)
        .map_err(|e| QemuError::io("unable to read", path, e))?;
    if buffer.len() < size as usize {
        return Err(invalid_arg(format!(
            "'{name}' starting from {offset} has only {} bytes available",
            buffer.len()
        )));
    }
    Ok(buffer)
}

impl Inner {
    pub(super) fn block_peek(
        &self,
        dom: &DomainRef,
        path: &str,
        offset: u64,
        size: u32,
        flags: u32,
    ) -> DriverResult<Vec<u8>> {
        check_flags(flags, 0, "qemuDomainBlockPeek")?;
        let disk = {
            let st = self.lock();
            let def = &st.get(dom)?.def;
            def.devices
                .iter()
                .filter(|d| d.name == "disk")
                .find(|d| {
                    d.child("target").and_then(|t| t.attr("dev")) == Some(path)
                        || d.child("source")
                            .and_then(|s| s.attr("file").or_else(|| s.attr("dev")))
                            == Some(path)
                })
                .cloned()
                .ok_or_else(|| invalid_arg(format!("invalid disk or path '{path}'")))?
        };
        let format = disk
            .child("driver")
            .and_then(|d| d.attr("type"))
            .unwrap_or("raw")
            .to_string();
        if format != "raw" {
            return Err(DriverError::new(
                codes::OPERATION_UNSUPPORTED,
                domains::QEMU,
                format!("peeking is only supported for disk with 'raw' format not '{format}'"),
            ));
        }
        let Some(source) = disk
            .child("source")
            .and_then(|s| s.attr("file").or_else(|| s.attr("dev")))
        else {
            return Err(invalid_arg(format!("disk '{path}' does not have a source")));
        };
        read_at(Path::new(source), offset, size, path)
    }

    pub(super) fn memory_peek(
        &self,
        dom: &DomainRef,
        offset: u64,
        size: u32,
        flags: u32,
    ) -> DriverResult<Vec<u8>> {
        check_flags(
            flags,
            MEMORY_VIRTUAL | MEMORY_PHYSICAL,
            "qemuDomainMemoryPeek",
        )?;
        if flags != MEMORY_VIRTUAL && flags != MEMORY_PHYSICAL {
            return Err(invalid_arg(
                "flags parameter must be VIR_MEMORY_VIRTUAL or VIR_MEMORY_PHYSICAL".into(),
            ));
        }
        let (monitor, _, token) = self.running_parts(dom)?;
        let file = self.paths.lib_dir.join(format!(
            "qemu.mem.{token}.{}",
            PEEK_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = remove_if_exists(&file);
        let target = file.display().to_string();
        let (command, args) = if flags == MEMORY_VIRTUAL {
            (
                "memsave",
                json!({ "val": offset, "size": size, "filename": target, "cpu-index": 0 }),
            )
        } else {
            (
                "pmemsave",
                json!({ "val": offset, "size": size, "filename": target }),
            )
        };
        let result = monitor
            .execute(command, Some(args))
            .map_err(|e| super::hotplug_refusal(command, e))
            .and_then(|_| read_at(&file, 0, size, &target));
        let _ = remove_if_exists(&file);
        result
    }
}
