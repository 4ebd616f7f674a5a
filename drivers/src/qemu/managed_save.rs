//! Managed save: the guest's state is migrated into `<statedir>/qemu/save/NAME.save`,
//! the process stops, and the next start restores from the image (`-incoming`).

use std::fs;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::direct_io::DirectWriter;
use super::error::QemuError;
use super::fsutil::remove_if_exists;
use super::jobs::ActiveJob;
use super::lifecycle::{check_flags, stop_process, StartSource};
use super::restore_hook::check_same_guest;
use super::save_image::{create_image, mark_complete, read_header, write_header};
use super::Inner;
use crate::api::{
    create_flags, event, job_operation, reason, state, DomainHandle, DomainRef, DriverError,
    DriverResult,
};
use crate::domain_list::StartFrom;

impl Inner {
    pub(super) fn managed_save(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0x7, "qemuDomainManagedSave")?;
        let state_after = state_after_restore(flags)?;
        let job = self.job_of(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(crate::api::domains::QEMU, &dom.uuid, &dom.name)
        })?;
        let _job = super::jobs::lock_job_bounded(&job)?;
        let (name, persistent) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            (obj.def.name.clone(), obj.persistent)
        };
        if !persistent {
            return Err(QemuError::InvalidState(
                "cannot do managed save for transient domain".into(),
            )
            .into());
        }
        let saves = self.paths.managed_saves();
        saves.prepare_dir().map_err(QemuError::from)?;
        self.save_guest(
            dom,
            &saves.image(&name),
            state_after,
            flags & SAVE_BYPASS_CACHE != 0,
        )
    }

    /// `virDomainSave(Flags)`: the guest's XML and state into a file of the caller's.
    pub(super) fn save(
        &self,
        dom: &DomainRef,
        to: &str,
        dxml: Option<&str>,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, 0x7, "qemuDomainSaveFlags")?;
        let state_after = state_after_restore(flags)?;
        if dxml.is_some() {
            return Err(QemuError::Unsupported(
                "changing the domain XML while saving is not supported".into(),
            )
            .into());
        }
        let job = self.job_of(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(crate::api::domains::QEMU, &dom.uuid, &dom.name)
        })?;
        let _job = super::jobs::lock_job_bounded(&job)?;
        self.save_guest(
            dom,
            Path::new(to),
            state_after,
            flags & SAVE_BYPASS_CACHE != 0,
        )
    }

    /// Pauses the guest, migrates its state into `target` after a header with its XML
    /// and whether it is to run once restored (`state_after`, or as it is now), then
    /// stops it with reason "saved". On failure the guest runs on as before. `bypass`:
    /// written with direct I/O. The caller holds the domain's job.
    fn save_guest(
        &self,
        dom: &DomainRef,
        target: &Path,
        state_after: Option<bool>,
        bypass: bool,
    ) -> DriverResult<()> {
        let (monitor, process, token, live_xml) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let Some(run) = obj.run.as_ref() else {
                return Err(QemuError::InvalidState("domain is not running".into()).into());
            };
            (
                Arc::clone(&run.monitor),
                run.process.clone(),
                run.token,
                obj.xml(false, true),
            )
        };
        let partial = PathBuf::from(format!("{}.partial", target.display()));
        // Lets a stopping daemon cancel this save; the rollback below then runs.
        let ticket = self.in_flight.begin_save(token, partial.clone());
        self.set_job(&dom.uuid, Some(ActiveJob::new(job_operation::SAVE)));
        let previous = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let previous = (obj.state, obj.reason);
            // Paused for the save without a Suspended event: the guest's next visible
            // change is the Stopped (saved) event.
            obj.state = state::PAUSED;
            obj.reason = reason::PAUSED_SAVE;
            previous
        };
        let was_running = previous.0 == state::RUNNING;
        let run_after = state_after.unwrap_or(was_running);
        let saved = write_image(&monitor, target, &partial, bypass, |image| {
            write_header(image, &partial, &live_xml, run_after)
        })
        .and_then(|(image, direct)| {
            let migrated = wait_migration(
                &monitor,
                |status| self.record_migration_progress(&dom.uuid, status),
                || ticket.cancelled(),
            );
            match (migrated, direct) {
                // A failed copy is what made the migration fail: its error says why.
                (Err(e), Some(direct)) => return Err(direct.failure().unwrap_or(e)),
                (Err(e), None) => return Err(e),
                // QEMU closed the pipe after the last byte: the copy is ending.
                (Ok(()), Some(direct)) => direct.finish().map(|_| ())?,
                (Ok(()), None) => {}
            }
            mark_complete(&image, &partial)?;
            finish_image(&image, &partial, target, bypass)
        });
        self.set_job(&dom.uuid, None);
        if let Err(e) = saved {
            // Whatever failed, the partial image goes: a failed save leaves
            // neither guest RAM on disk nor QEMU writing to it.
            let _ = monitor.execute("migrate_cancel", None);
            let _ = monitor.execute("closefd", Some(json!({ "fdname": SAVE_FD_NAME })));
            let _ = remove_if_exists(&partial);
            if was_running {
                let _ = monitor.execute("cont", None);
            }
            let mut st = self.lock();
            if let Ok(obj) = st.get_mut(dom) {
                (obj.state, obj.reason) = previous;
                // On disk too: a daemon restarted after a rolled-back save
                // finds the guest as it was.
                self.persist_status(obj);
            }
            return Err(e.into());
        }
        {
            let mut st = self.lock();
            if let Ok(obj) = st.get_mut(dom) {
                if let Some(run) = obj.run.as_mut() {
                    run.expected_stop = Some((reason::SHUTOFF_SAVED, event::STOPPED_SAVED));
                }
            }
        }
        stop_process(&process, false)?;
        self.handle_exit(&dom.uuid, token);
        Ok(())
    }

    /// `virDomainRestore(Flags)`: starts the guest saved in `from` (as a transient
    /// domain unless it is defined), paused if it was paused when saved.
    pub(super) fn restore(
        self: &Arc<Self>,
        from: &str,
        dxml: Option<&str>,
        flags: u32,
    ) -> DriverResult<()> {
        // Bypass-cache, running and paused.
        check_flags(flags, 0x7, "qemuDomainRestoreFlags")?;
        state_after_restore(flags)?;
        let bypass = if flags & SAVE_BYPASS_CACHE != 0 {
            create_flags::BYPASS_CACHE
        } else {
            0
        };
        let path = Path::new(from);
        let header = read_header(path)?;
        let xml = dxml.unwrap_or(&header.xml);
        let parsed = self.parse_def(xml)?;
        if dxml.is_some() {
            // The memory in the image only fits the guest it was saved from.
            let saved = self.parse_def(&header.xml)?;
            check_same_guest(&saved, &parsed, "the new definition")?;
        }
        let def = self.filter_restore_def(&parsed, xml)?.unwrap_or(parsed);
        let uuid = def.uuid;
        self.lock().prepare_transient_start(def)?;
        let paused =
            flags & RESTORE_PAUSED != 0 || (!header.was_running && flags & RESTORE_RUNNING == 0);
        let start_flags = bypass
            | match (paused, flags & RESTORE_PAUSED != 0) {
                (true, true) => create_flags::START_PAUSED,
                (true, false) => create_flags::START_PAUSED | PAUSED_BY_IMAGE,
                (false, _) => 0,
            };
        let result = self.start(
            &uuid,
            start_flags,
            StartSource::Restore(path.to_path_buf(), header.stream_offset),
        );
        if result.is_err() {
            self.lock().undo_transient_start(&uuid);
        }
        result.map(|_| ())
    }

    pub(super) fn has_managed_save(&self, name: &str) -> bool {
        self.paths.managed_saves().has(name)
    }

    pub(super) fn managed_save_remove(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainManagedSaveRemove")?;
        let name = self.lock().get(dom)?.def.name.clone();
        self.paths
            .managed_saves()
            .remove(&name)
            .map_err(QemuError::from)?;
        Ok(())
    }

    /// `virDomainCreateWithFlags`: restores the managed save image when there is one
    /// (unless FORCE_BOOT), and removes it after a successful restore.
    pub(super) fn create_defined(
        self: &Arc<Self>,
        dom: &DomainRef,
        flags: u32,
    ) -> DriverResult<DomainHandle> {
        let allowed = create_flags::START_PAUSED
            | create_flags::BYPASS_CACHE
            | create_flags::FORCE_BOOT
            | create_flags::RESET_NVRAM;
        check_flags(flags, allowed, "qemuDomainCreateWithFlags")?;
        let name = self.lock().get(dom)?.def.name.clone();
        match self
            .paths
            .managed_saves()
            .start_from(&name, flags)
            .map_err(QemuError::from)?
        {
            StartFrom::Image(image) => {
                let handle = self.start_from_managed_save(dom, flags, &image)?;
                remove_if_exists(&image)?;
                Ok(handle)
            }
            StartFrom::Boot => self.start(&dom.uuid, flags, StartSource::Boot),
        }
    }
}

/// `VIR_DOMAIN_SAVE_BYPASS_CACHE`: the image is written and read with direct I/O.
const SAVE_BYPASS_CACHE: u32 = 1;
/// `VIR_DOMAIN_SAVE_RUNNING` / `VIR_DOMAIN_SAVE_PAUSED` (restore flags).
const RESTORE_RUNNING: u32 = 2;
const RESTORE_PAUSED: u32 = 4;

/// A start flag of ours only: the guest starts paused because its image says it was
/// paused when saved (its Suspended event then says "restored", as libvirt's does).
pub(super) const PAUSED_BY_IMAGE: u32 = 1 << 31;

/// What the RUNNING / PAUSED flags of a save or restore ask for: run, stay paused,
/// or (`None`) as the guest was when saved. Both at once is an error, as in libvirt.
pub(super) fn state_after_restore(flags: u32) -> DriverResult<Option<bool>> {
    match (flags & RESTORE_RUNNING != 0, flags & RESTORE_PAUSED != 0) {
        (true, true) => Err(DriverError::invalid_arg(
            "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive",
        )
        .in_domain(crate::api::domains::QEMU)),
        (true, false) => Ok(Some(true)),
        (false, true) => Ok(Some(false)),
        (false, false) => Ok(None),
    }
}

/// The name under which QEMU holds the descriptor of the image being written.
pub(super) const SAVE_FD_NAME: &str = "libvirt-save";

/// Opens `partial` as a new 0600 file (never through a symlink), lets `prepare`
/// write what precedes the stream, pauses the guest and starts QEMU's
/// migration into the open descriptor (with `bypass`, into a pipe copied into it
/// with direct I/O). A leftover `partial` of an interrupted save is unlinked first,
/// never followed.
pub(super) fn write_image(
    monitor: &super::qmp::Monitor,
    target: &Path,
    partial: &Path,
    bypass: bool,
    prepare: impl FnOnce(&mut fs::File) -> Result<(), QemuError>,
) -> Result<(fs::File, Option<DirectWriter>), QemuError> {
    if target.is_dir() {
        return Err(QemuError::io(
            "cannot store save image",
            target,
            std::io::Error::from_raw_os_error(libc::EISDIR),
        ));
    }
    remove_if_exists(partial)?;
    let mut image = create_image(partial)?;
    prepare(&mut image)?;
    let (direct, pipe) = if bypass {
        let (writer, pipe) = DirectWriter::start(&image, partial)?;
        (Some(writer), Some(pipe))
    } else {
        (None, None)
    };
    let qmp = QemuError::from;
    monitor.execute("stop", None).map_err(qmp)?;
    let stream_fd = pipe.as_ref().map_or(image.as_fd(), |pipe| pipe.as_fd());
    monitor
        .execute_with_fd("getfd", Some(json!({ "fdname": SAVE_FD_NAME })), stream_fd)
        .map_err(qmp)?;
    // QEMU holds the only write end now: its close ends the copy.
    drop(pipe);
    let uri = format!("fd:{SAVE_FD_NAME}");
    monitor
        .execute("migrate", Some(json!({ "uri": uri })))
        .map_err(qmp)?;
    Ok((image, direct))
}

/// Makes the finished image durable and gives it its name. `bypass`: what went
/// through the page cache (the header, the completion mark) leaves it once on disk.
pub(super) fn finish_image(
    image: &fs::File,
    partial: &Path,
    target: &Path,
    bypass: bool,
) -> Result<(), QemuError> {
    image
        .sync_all()
        .map_err(|e| QemuError::io("cannot write save image", partial, e))?;
    if bypass {
        let _ = nix::fcntl::posix_fadvise(
            image,
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        );
    }
    fs::rename(partial, target).map_err(|e| QemuError::io("cannot store save image", target, e))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = crate::fsutil::sync_dir(dir);
    }
    Ok(())
}

/// Waits for an outgoing migration (the save) to finish. Once `cancelled`
/// says so the migration is cancelled; a save that completes meanwhile counts.
pub(super) fn wait_migration(
    monitor: &super::qmp::Monitor,
    on_status: impl Fn(&serde_json::Value),
    cancelled: impl Fn() -> bool,
) -> Result<(), QemuError> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut pause = Duration::from_millis(2);
    let mut cancel_sent = false;
    loop {
        if !cancel_sent && cancelled() {
            monitor.execute("migrate_cancel", None)?;
            cancel_sent = true;
        }
        let status = monitor
            .execute("query-migrate", None)
            .map_err(QemuError::from)?;
        on_status(&status);
        match status.get("status").and_then(|s| s.as_str()) {
            Some("completed") => return Ok(()),
            Some("cancelled") if cancel_sent => {
                return Err(QemuError::Failed(
                    "the save was cancelled: the daemon is shutting down".into(),
                ));
            }
            Some("failed") | Some("cancelled") => {
                let detail = status
                    .get("error-desc")
                    .and_then(|d| d.as_str())
                    .unwrap_or("migration failed");
                return Err(QemuError::Monitor(format!(
                    "saving the guest failed: {detail}"
                )));
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(QemuError::Monitor("saving the guest timed out".into()));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
