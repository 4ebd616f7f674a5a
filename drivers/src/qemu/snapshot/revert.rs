//! `virDomainRevertToSnapshot` for internal snapshots: HMP `loadvm` into a running
//! guest (or one started paused for it), `qemu-img snapshot -a` for a guest that is
//! off, then the state the snapshot (or the RUNNING / PAUSED flags) asks for.

use std::sync::Arc;

use super::create::{hmp_checked, internal_disk_paths, qemu_img};
use crate::api::{
    codes, create_flags, event, snapshot_revert_flags as rf, state, DomainRef, DriverError,
    DriverResult,
};
use crate::qemu::error::QemuError;
use crate::qemu::lifecycle::{stop_process, StartSource};
use crate::qemu::Inner;

/// libvirt's `VIR_DOMAIN_*_FROM_SNAPSHOT` state reasons.
const RUNNING_FROM_SNAPSHOT: i32 = 4;
const PAUSED_FROM_SNAPSHOT: i32 = 9;
const SHUTOFF_FROM_SNAPSHOT: i32 = 7;

impl Inner {
    pub(in crate::qemu) fn snapshot_revert(
        self: &Arc<Self>,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(
            flags,
            rf::RUNNING | rf::PAUSED | rf::FORCE,
            "qemuDomainRevertToSnapshot",
        )?;
        if flags & rf::RUNNING != 0 && flags & rf::PAUSED != 0 {
            return Err(DriverError::invalid_arg(
                "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive".to_string(),
            ));
        }
        let dir = self.snapshot_dir(dom)?;
        let snap = self.snapshot_get(dom, name)?;
        if snap.is_external() {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                crate::api::domains::QEMU,
                "revert to external snapshot not supported yet",
            ));
        }
        let def = self.lock().get(dom)?.def.clone();
        let paths = internal_disk_paths(&def, &snap)?;
        let want_running = match flags & (rf::RUNNING | rf::PAUSED) {
            rf::RUNNING => Some(true),
            rf::PAUSED => Some(false),
            _ if snap.is_active() => Some(snap.state == "running"),
            _ => None,
        };
        let active = self.running_parts(dom).is_ok();
        match (active, snap.is_active()) {
            (_, false) => {
                if active {
                    self.stop_for_snapshot(dom)?;
                }
                for path in &paths {
                    qemu_img(&["snapshot", "-a", &snap.name, path])?;
                }
                if let Some(run) = want_running {
                    self.start(&dom.uuid, create_flags::START_PAUSED, StartSource::Boot)?;
                    if run {
                        self.finish_revert(dom, true, false)?;
                    }
                }
            }
            (false, true) => {
                self.start(&dom.uuid, create_flags::START_PAUSED, StartSource::Boot)?;
                let (monitor, _, _) = self.running_parts(dom)?;
                hmp_checked(&monitor, &format!("loadvm {}", snap.name))?;
                self.finish_revert(dom, want_running.unwrap_or(true), true)?;
            }
            (true, true) => {
                let (monitor, _, _) = self.running_parts(dom)?;
                // QEMU stops the CPUs for the load; they stay stopped until the
                // state the snapshot asks for is set below.
                monitor.execute("stop", None).map_err(QemuError::from)?;
                hmp_checked(&monitor, &format!("loadvm {}", snap.name))?;
                self.finish_revert(dom, want_running.unwrap_or(true), true)?;
            }
        }
        self.set_current(&dir, Some(&snap.name))?;
        Ok(())
    }

    /// Leaves the reverted guest running or paused, with libvirt's reasons and events.
    fn finish_revert(&self, dom: &DomainRef, run: bool, loaded: bool) -> DriverResult<()> {
        let (monitor, _, _) = self.running_parts(dom)?;
        if run {
            monitor.execute("cont", None).map_err(QemuError::from)?;
        }
        let events = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            if run {
                obj.state = state::RUNNING;
                obj.reason = RUNNING_FROM_SNAPSHOT;
            } else {
                obj.state = state::PAUSED;
                obj.reason = PAUSED_FROM_SNAPSHOT;
            }
            self.persist_status(obj);
            // A guest just started for the revert was reported as started already.
            match (run, loaded) {
                (true, _) => {
                    vec![obj.lifecycle_event(event::RESUMED, event::RESUMED_FROM_SNAPSHOT)]
                }
                (false, true) => {
                    vec![obj.lifecycle_event(event::SUSPENDED, event::SUSPENDED_FROM_SNAPSHOT)]
                }
                (false, false) => Vec::new(),
            }
        };
        self.emit(events);
        Ok(())
    }

    /// Stops the guest for a revert to a snapshot taken while it was off.
    fn stop_for_snapshot(&self, dom: &DomainRef) -> DriverResult<()> {
        let (process, token) = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let Some(run) = obj.run.as_mut() else {
                return Ok(());
            };
            run.expected_stop = Some((SHUTOFF_FROM_SNAPSHOT, event::STOPPED_FROM_SNAPSHOT));
            (run.process.clone(), run.token)
        };
        stop_process(&process, false)?;
        self.handle_exit(&dom.uuid, token);
        Ok(())
    }
}
