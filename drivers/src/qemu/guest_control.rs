//! Changes to a running guest through its monitor: power button, fake reboot, reset,
//! pause and resume, and raw monitor commands.

use std::sync::Arc;

use super::error::QemuError;
use super::lifecycle::{check_flags, not_running};
use super::Inner;
use crate::api::{event, reason, state, DomainRef, DriverError, DriverResult};

/// `VIR_DOMAIN_SHUTDOWN_*` / `VIR_DOMAIN_REBOOT_*` methods.
const ACPI_POWER_BTN: u32 = 1;
const GUEST_AGENT: u32 = 2;

impl Inner {
    /// libvirt's choice between the guest agent and the power button: the agent when
    /// asked for, or by default when it is connected; the button when asked for, by
    /// default, or after a failed agent unless only the agent was asked for.
    fn power_request(&self, dom: &DomainRef, flags: u32, agent_mode: &str) -> DriverResult<bool> {
        let agent_requested = flags & GUEST_AGENT != 0;
        let use_agent = agent_requested || (flags == 0 && self.agent_connected(dom));
        if use_agent {
            match self.agent_shutdown(dom, agent_mode) {
                Ok(()) => return Ok(true),
                Err(_) if flags & ACPI_POWER_BTN != 0 || flags == 0 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    pub(super) fn shutdown(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(
            flags,
            ACPI_POWER_BTN | GUEST_AGENT,
            "qemuDomainShutdownFlags",
        )?;
        if self.power_request(dom, flags, "powerdown")? {
            return Ok(());
        }
        let (monitor, _, _) = self.running_parts(dom)?;
        monitor
            .execute("system_powerdown", None)
            .map_err(QemuError::from)?;
        Ok(())
    }

    /// `virDomainGetHostname`: from the guest agent (the default); lease lookups are
    /// not available.
    pub(super) fn hostname_of(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        const LEASE: u32 = 1;
        const AGENT: u32 = 2;
        check_flags(flags, LEASE | AGENT, "qemuDomainGetHostname")?;
        if flags & LEASE != 0 && flags & AGENT != 0 {
            return Err(DriverError::new(
                crate::api::codes::INVALID_ARG,
                crate::api::domains::QEMU,
                "Flags 'VIR_DOMAIN_GET_HOSTNAME_LEASE' and 'VIR_DOMAIN_GET_HOSTNAME_AGENT' are mutually exclusive",
            ));
        }
        if flags & LEASE != 0 {
            return Err(DriverError::new(
                crate::api::codes::OPERATION_UNSUPPORTED,
                crate::api::domains::QEMU,
                "hostname source 'lease' is not supported by this daemon",
            ));
        }
        self.agent_hostname(dom)
    }

    /// Fake reboot: an ACPI power-down whose SHUTDOWN is answered with a reset, so the
    /// domain never leaves the running state.
    pub(super) fn reboot(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, ACPI_POWER_BTN | GUEST_AGENT, "qemuDomainReboot")?;
        // The guest reboots itself: its reset follows on_reboot as any guest reset.
        if self.power_request(dom, flags, "reboot")? {
            return Ok(());
        }
        let (monitor, _, _) = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let Some(run) = obj.run.as_mut() else {
                return Err(not_running());
            };
            // As libvirt: a guest that must not reboot is shut down instead.
            run.fake_reboot = !matches!(obj.def.on_reboot.as_str(), "destroy" | "preserve");
            let parts = (Arc::clone(&run.monitor), run.process.clone(), run.token);
            // Recorded before the guest is asked: a daemon restarted before the
            // guest powers off still turns its power-off into the reboot.
            self.persist_status(obj);
            parts
        };
        if let Err(e) = monitor.execute("system_powerdown", None) {
            let mut st = self.lock();
            if let Ok(obj) = st.get_mut(dom) {
                if let Some(run) = obj.run.as_mut() {
                    run.fake_reboot = false;
                    self.persist_status(obj);
                }
            }
            return Err(QemuError::from(e).into());
        }
        Ok(())
    }

    pub(super) fn reset(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainReset")?;
        let (monitor, _, _) = self.running_parts(dom)?;
        monitor
            .execute("system_reset", None)
            .map_err(QemuError::from)?;
        Ok(())
    }

    /// Pause or resume the vCPUs. The state changes before the monitor call so the
    /// STOP/RESUME event QEMU sends finds it already done and adds no second event.
    pub(super) fn set_paused(&self, dom: &DomainRef, pause: bool) -> DriverResult<()> {
        if pause && self.pause_outgoing(dom)? {
            return Ok(());
        }
        let job = self.job_of(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(crate::api::domains::QEMU, &dom.uuid, &dom.name)
        })?;
        let _job = super::jobs::lock_job_bounded(&job)?;
        let (monitor, previous) = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let Some(run) = obj.run.as_ref() else {
                return Err(not_running());
            };
            let monitor = Arc::clone(&run.monitor);
            let previous = (obj.state, obj.reason);
            match (pause, obj.state) {
                (true, state::PAUSED) => return Ok(()),
                (false, state::RUNNING) => {
                    return Err(QemuError::InvalidState("domain is already running".into()).into())
                }
                (true, _) => {
                    obj.state = state::PAUSED;
                    obj.reason = reason::PAUSED_USER;
                }
                (false, _) => {
                    obj.state = state::RUNNING;
                    obj.reason = reason::RUNNING_UNPAUSED;
                }
            }
            (monitor, previous)
        };
        let command = if pause { "stop" } else { "cont" };
        if let Err(e) = monitor.execute(command, None) {
            let mut st = self.lock();
            if let Ok(obj) = st.get_mut(dom) {
                (obj.state, obj.reason) = previous;
            }
            return Err(QemuError::from(e).into());
        }
        let events = {
            let st = self.lock();
            let obj = st.get(dom)?;
            self.persist_status(obj);
            vec![if pause {
                obj.lifecycle_event(event::SUSPENDED, event::SUSPENDED_PAUSED)
            } else {
                obj.lifecycle_event(event::RESUMED, event::RESUMED_UNPAUSED)
            }]
        };
        self.emit(events);
        Ok(())
    }

    /// `virDomainQemuMonitorCommand`: HMP text or QMP JSON passed through.
    pub(super) fn monitor_command(
        &self,
        dom: &DomainRef,
        command: &str,
        hmp: bool,
    ) -> DriverResult<String> {
        self.monitor_command_passing(dom, command, hmp, None)
    }

    /// [`Inner::monitor_command`] with `fd` passed to QEMU along the
    /// command (SCM_RIGHTS on the monitor socket).
    pub(super) fn monitor_command_passing(
        &self,
        dom: &DomainRef,
        command: &str,
        hmp: bool,
        fd: Option<std::os::fd::OwnedFd>,
    ) -> DriverResult<String> {
        use std::os::fd::AsFd;
        let (monitor, _, _) = self.running_parts(dom)?;
        let fd = fd.as_ref().map(|f| f.as_fd());
        let result = if hmp {
            monitor.execute_hmp_passing(command, fd)
        } else {
            monitor.execute_raw_passing(command, fd)
        };
        result.map_err(|e| QemuError::from(e).into())
    }

    /// `virDomainSetMemoryFlags`: the balloon target of a running guest and/or the
    /// `currentMemory` (or, with MAXIMUM, `memory`) of the persistent definition.
    pub(super) fn set_memory(&self, dom: &DomainRef, kib: u64, flags: u32) -> DriverResult<()> {
        const LIVE: u32 = 1;
        const CONFIG: u32 = 2;
        const MAXIMUM: u32 = 4;
        check_flags(flags, LIVE | CONFIG | MAXIMUM, "qemuDomainSetMemoryFlags")?;
        let (active, persistent, max_live, max_config) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            (
                obj.is_active(),
                obj.persistent,
                obj.def.max_memory_kib,
                obj.persistent_def().max_memory_kib,
            )
        };
        let (live, config) = match flags & (LIVE | CONFIG) {
            0 => (active, !active),
            f => (f & LIVE != 0, f & CONFIG != 0),
        };
        if live && !active {
            return Err(not_running());
        }
        if config && !persistent {
            return Err(QemuError::InvalidState(
                "transient domains do not have any persistent config".into(),
            )
            .into());
        }
        if flags & MAXIMUM != 0 {
            if live {
                return Err(QemuError::InvalidState(
                    "cannot resize the maximum memory on an active domain".into(),
                )
                .into());
            }
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let def = obj.new_def.as_mut().unwrap_or(&mut obj.def);
            def.max_memory_kib = kib;
            def.current_memory_kib = def.current_memory_kib.min(kib);
            super::store::save_config(&self.paths, def)?;
            return Ok(());
        }
        let max = if live { max_live } else { max_config };
        if kib > max || kib == 0 {
            return Err(DriverError::new(
                crate::api::codes::INVALID_ARG,
                crate::api::domains::QEMU,
                "cannot set memory higher than max memory",
            ));
        }
        if live {
            let (monitor, _, _) = self.running_parts(dom)?;
            monitor
                .execute("balloon", Some(serde_json::json!({ "value": kib * 1024 })))
                .map_err(QemuError::from)?;
            let mut st = self.lock();
            st.get_mut(dom)?.def.current_memory_kib = kib;
        }
        if config {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let def = obj.new_def.as_mut().unwrap_or(&mut obj.def);
            def.current_memory_kib = kib;
            super::store::save_config(&self.paths, def)?;
        }
        Ok(())
    }
}
