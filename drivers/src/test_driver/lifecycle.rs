//! State transitions of test domains, following libvirt 9.0's test driver: which states
//! allow which operations, the errors it gives otherwise, and the events each emits.

use super::state::TestState;
use crate::api::{
    create_flags, define_flags, domains, event, reason, state, undefine_flags, DomainEvent,
    DomainHandle, DomainRef, DriverError, DriverResult,
};
use crate::domain_xml::DomainDef;

/// Result of an operation plus the events it produced (emitted after the lock is released).
pub type WithEvents<T> = (T, Vec<DomainEvent>);

fn not_running() -> DriverError {
    DriverError::operation_invalid("domain is not running")
}

pub(super) fn check_unsupported_flags(
    flags: u32,
    allowed: u32,
    function: &str,
) -> DriverResult<()> {
    crate::domain_list::check_flags(domains::TEST, flags, allowed, function)
}

impl TestState {
    /// Marks a domain running with a fresh id; a persistent domain keeps its configuration
    /// aside so later redefinitions do not touch the live one.
    pub fn start_domain(&mut self, index: usize, running_reason: i32) {
        let id = self.allocate_id();
        let obj = &mut self.domains[index];
        obj.state = state::RUNNING;
        obj.reason = running_reason;
        obj.id = id;
        if obj.persistent && obj.new_def.is_none() {
            obj.new_def = Some(obj.def.clone());
        }
        obj.extra.has_managed_save = false;
    }

    /// Marks a domain shut off, restoring its persistent configuration. Returns the stop
    /// event, and removes the domain when it was transient.
    pub(super) fn stop_domain(
        &mut self,
        index: usize,
        shutoff_reason: i32,
        detail: i32,
    ) -> DomainEvent {
        self.mark_stopped(index, shutoff_reason, detail).0
    }

    /// `virDomainDefineXMLFlags`.
    pub fn define(&mut self, def: DomainDef, flags: u32) -> DriverResult<WithEvents<DomainHandle>> {
        check_unsupported_flags(flags, define_flags::VALIDATE, "testDomainDefineXMLFlags")?;
        let (handle, ev) = (**self).define(def, |_| Ok(()))?;
        Ok((handle, vec![ev]))
    }

    /// `virDomainCreateXML`: a transient domain, or a run of an existing inactive one with
    /// this definition as its live configuration.
    pub fn create_xml(
        &mut self,
        def: DomainDef,
        flags: u32,
    ) -> DriverResult<WithEvents<DomainHandle>> {
        check_unsupported_flags(flags, create_flags::VALIDATE, "testDomainCreateXML")?;
        let index = self.prepare_transient_start(def)?;
        self.start_domain(index, reason::RUNNING_BOOTED);
        let obj = &self.domains[index];
        let ev = obj.lifecycle_event(event::STARTED, event::STARTED_BOOTED);
        Ok((obj.handle(), vec![ev]))
    }

    /// `virDomainUndefineFlags`: an active domain becomes transient, an inactive one goes.
    pub fn undefine(&mut self, dom: &DomainRef, flags: u32) -> DriverResult<WithEvents<()>> {
        check_unsupported_flags(
            flags,
            undefine_flags::MANAGED_SAVE | undefine_flags::SNAPSHOTS_METADATA,
            "testDomainUndefineFlags",
        )?;
        let index = self.resolve(dom)?;
        let obj = &mut self.domains[index];
        if obj.extra.has_managed_save && flags & undefine_flags::MANAGED_SAVE == 0 {
            return Err(DriverError::operation_invalid(
                "Refusing to undefine while domain managed save image exists",
            ));
        }
        if !obj.is_active()
            && obj.extra.snapshot_count > 0
            && flags & undefine_flags::SNAPSHOTS_METADATA == 0
        {
            return Err(DriverError::operation_invalid(format!(
                "cannot delete inactive domain with {} snapshots",
                obj.extra.snapshot_count
            )));
        }
        obj.extra.has_managed_save = false;
        // The saved configuration stays until the domain stops, as in libvirt: a
        // redefinition before then counts as an update.
        let (ev, _) = (**self).undefine(index, true);
        Ok(((), vec![ev]))
    }

    /// `virDomainCreateWithFlags`.
    pub fn create(
        &mut self,
        dom: &DomainRef,
        flags: u32,
    ) -> DriverResult<WithEvents<DomainHandle>> {
        check_unsupported_flags(flags, 0, "testDomainCreateWithFlags")?;
        let index = self.resolve(dom)?;
        if self.domains[index].state != state::SHUTOFF {
            return Err(DriverError::internal(format!(
                "Domain '{}' is already running",
                dom.name
            )));
        }
        self.start_domain(index, reason::RUNNING_BOOTED);
        let obj = &self.domains[index];
        let ev = obj.lifecycle_event(event::STARTED, event::STARTED_BOOTED);
        Ok((obj.handle(), vec![ev]))
    }

    /// `virDomainDestroyFlags`.
    pub fn destroy(&mut self, dom: &DomainRef, flags: u32) -> DriverResult<WithEvents<()>> {
        // VIR_DOMAIN_DESTROY_GRACEFUL is accepted and means nothing here.
        check_unsupported_flags(flags, 1, "testDomainDestroyFlags")?;
        let index = self.resolve(dom)?;
        if !self.domains[index].is_active() {
            return Err(not_running());
        }
        let ev = self.stop_domain(index, reason::SHUTOFF_DESTROYED, event::STOPPED_DESTROYED);
        Ok(((), vec![ev]))
    }

    /// `virDomainSuspend`.
    pub fn suspend(&mut self, dom: &DomainRef) -> DriverResult<WithEvents<()>> {
        let obj = self.get_mut(dom)?;
        if matches!(obj.state, state::SHUTOFF | state::PAUSED) {
            return Err(DriverError::internal(format!(
                "domain '{}' not running",
                dom.name
            )));
        }
        obj.state = state::PAUSED;
        obj.reason = reason::PAUSED_USER;
        Ok((
            (),
            vec![obj.lifecycle_event(event::SUSPENDED, event::SUSPENDED_PAUSED)],
        ))
    }

    /// `virDomainResume`.
    pub fn resume(&mut self, dom: &DomainRef) -> DriverResult<WithEvents<()>> {
        let obj = self.get_mut(dom)?;
        if obj.state != state::PAUSED {
            return Err(DriverError::internal(format!(
                "domain '{}' not paused",
                dom.name
            )));
        }
        obj.state = state::RUNNING;
        obj.reason = reason::RUNNING_UNPAUSED;
        Ok((
            (),
            vec![obj.lifecycle_event(event::RESUMED, event::RESUMED_UNPAUSED)],
        ))
    }

    /// Applies an `on_poweroff`/`on_reboot` action; stops the domain when the action
    /// leaves it shut off.
    fn lifecycle_action(&mut self, index: usize, action: &str) -> Vec<DomainEvent> {
        if matches!(action, "restart" | "rename-restart") {
            let obj = &mut self.domains[index];
            obj.state = state::RUNNING;
            obj.reason = reason::RUNNING_BOOTED;
            return Vec::new();
        }
        vec![self.stop_domain(index, reason::SHUTOFF_SHUTDOWN, event::STOPPED_SHUTDOWN)]
    }

    /// `virDomainShutdownFlags`: the guest "powers off" and `on_poweroff` decides.
    pub fn shutdown(&mut self, dom: &DomainRef, flags: u32) -> DriverResult<WithEvents<()>> {
        check_unsupported_flags(flags, 0, "testDomainShutdownFlags")?;
        let index = self.resolve(dom)?;
        if self.domains[index].state == state::SHUTOFF {
            return Err(DriverError::internal(format!(
                "domain '{}' not running",
                dom.name
            )));
        }
        let action = self.domains[index].def.on_poweroff.clone();
        Ok(((), self.lifecycle_action(index, &action)))
    }

    /// `virDomainReboot`: `on_reboot` decides; the default restarts in place silently.
    pub fn reboot(&mut self, dom: &DomainRef, flags: u32) -> DriverResult<WithEvents<()>> {
        // default, ACPI power button, guest agent, initctl, signal, paravirt.
        check_unsupported_flags(flags, 0x1f, "testDomainReboot")?;
        let index = self.resolve(dom)?;
        if !self.domains[index].is_active() {
            return Err(not_running());
        }
        let action = self.domains[index].def.on_reboot.clone();
        Ok(((), self.lifecycle_action(index, &action)))
    }

    /// `virDomainReset`: nothing happens to a running test domain.
    pub fn reset(&mut self, dom: &DomainRef, flags: u32) -> DriverResult<WithEvents<()>> {
        check_unsupported_flags(flags, 0, "testDomainReset")?;
        if !self.get(dom)?.is_active() {
            return Err(not_running());
        }
        Ok(((), Vec::new()))
    }
}
