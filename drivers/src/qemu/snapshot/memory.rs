//! The memory part of an external snapshot (`--memspec file=...,snapshot=external`):
//! the running guest's state is migrated into a save image, as `virsh save` writes
//! it, with the CPUs paused; they stay paused while the caller puts overlays on
//! the disks, and then run again.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::meta::Snapshot;
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult};
use crate::qemu::error::QemuError;
use crate::qemu::fsutil::remove_if_exists;
use crate::qemu::managed_save::{finish_image, wait_migration, write_image, SAVE_FD_NAME};
use crate::qemu::qmp::Monitor;
use crate::qemu::save_image::{mark_complete, write_header};
use crate::qemu::Inner;

fn unsupported(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::CONFIG_UNSUPPORTED, domains::QEMU, detail)
}

/// The memory file an external snapshot asks for, checked as libvirt checks it.
pub fn memory_target(
    snap: &Snapshot,
    running: bool,
    disk_only: bool,
) -> DriverResult<Option<PathBuf>> {
    match (snap.memory.as_str(), &snap.memory_file) {
        ("external", None) => Err(unsupported("external memory snapshots require a filename")),
        ("external", Some(file)) => {
            if !file.starts_with('/') {
                return Err(unsupported(format!(
                    "memory snapshot file path ({file}) must be absolute"
                )));
            }
            if !running || disk_only {
                return Err(unsupported(
                    "memory state cannot be saved with offline or disk-only snapshot",
                ));
            }
            Ok(Some(PathBuf::from(file)))
        }
        ("manual", _) => Err(unsupported("'manual' memory snapshot mode not supported")),
        (_, Some(file)) => Err(unsupported(format!(
            "memory filename '{file}' requires external snapshot"
        ))),
        _ => Ok(None),
    }
}

impl Inner {
    /// Pauses the guest and migrates its state into `target`; the guest stays
    /// paused (QEMU's post-migration state) until [`Inner::resume_after_memory`].
    pub(super) fn save_memory(
        &self,
        dom: &DomainRef,
        monitor: &Monitor,
        target: &Path,
        was_running: bool,
    ) -> DriverResult<()> {
        let live_xml = self.lock().get(dom)?.xml(false, true);
        let partial = PathBuf::from(format!("{}.partial", target.display()));
        let saved = write_image(monitor, target, &partial, false, |image| {
            write_header(image, &partial, &live_xml, was_running)
        })
        .and_then(|(image, _)| {
            wait_migration(
                monitor,
                |status| self.record_migration_progress(&dom.uuid, status),
                || false,
            )?;
            mark_complete(&image, &partial)?;
            finish_image(&image, &partial, target, false)
        });
        if let Err(e) = saved {
            let _ = monitor.execute("migrate_cancel", None);
            let _ = monitor.execute("closefd", Some(json!({ "fdname": SAVE_FD_NAME })));
            let _ = remove_if_exists(&partial);
            self.resume_after_memory(monitor, was_running);
            return Err(e.into());
        }
        Ok(())
    }

    /// Lets a guest paused for its memory snapshot run again.
    pub(super) fn resume_after_memory(&self, monitor: &Monitor, was_running: bool) {
        if was_running {
            if let Err(e) = monitor.execute("cont", None).map_err(QemuError::from) {
                tracing::warn!("cannot resume the guest after its memory snapshot: {e}");
            }
        }
    }
}
