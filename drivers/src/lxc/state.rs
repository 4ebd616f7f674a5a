//! The lxc driver's domain table, guarded by one mutex that is never held while waiting
//! on a supervisor.

use std::sync::{Arc, Mutex};

use super::cgroup::ContainerCgroup;
use super::xml::with_console_tty;
use crate::api::{
    domains, event, reason, state, DomainEvent, DomainEventKind, DomainHandle, DomainRef,
    DriverError, DriverResult,
};
use crate::domain_xml::{DomainDef, FormatOptions};

/// A container that runs under a supervisor.
pub struct Running {
    pub init_pid: i32,
    pub supervisor_pid: i32,
    pub cgroup: ContainerCgroup,
    /// Tells one run from the next, so a late exit notice never stops a newer run.
    pub token: u64,
    /// Set by whoever asked the container to go: (shutoff reason, stopped event detail).
    pub expected_stop: Option<(i32, i32)>,
    /// The console's pty on the host, shown in the live XML.
    pub console_tty: Option<String>,
}

/// One domain of the driver.
pub struct DomainObj {
    /// The definition in effect: the live one while running, else the persistent one.
    pub def: DomainDef,
    /// The persistent definition to use after the current run (set by define while running).
    pub new_def: Option<DomainDef>,
    pub persistent: bool,
    pub autostart: bool,
    pub state: u8,
    pub reason: i32,
    pub run: Option<Running>,
    /// Serialises start, stop and other slow operations on this domain.
    pub job: Arc<Mutex<()>>,
}

impl DomainObj {
    pub fn inactive(def: DomainDef, persistent: bool) -> Self {
        DomainObj {
            def,
            new_def: None,
            persistent,
            autostart: false,
            state: state::SHUTOFF,
            reason: reason::SHUTOFF_UNKNOWN,
            run: None,
            job: Arc::new(Mutex::new(())),
        }
    }

    pub fn is_active(&self) -> bool {
        self.run.is_some()
    }

    /// The domain id: init's PID as the host sees it, as in libvirt's LXC driver.
    pub fn id(&self) -> i32 {
        self.run.as_ref().map_or(-1, |r| r.init_pid)
    }

    pub fn handle(&self) -> DomainHandle {
        DomainHandle {
            name: self.def.name.clone(),
            uuid: self.def.uuid,
            id: self.id(),
        }
    }

    pub fn lifecycle_event(&self, event: i32, detail: i32) -> DomainEvent {
        DomainEvent {
            domain: self.handle(),
            kind: DomainEventKind::Lifecycle { event, detail },
        }
    }

    pub fn persistent_def(&self) -> &DomainDef {
        self.new_def.as_ref().unwrap_or(&self.def)
    }

    pub fn xml(&self, inactive: bool, secure: bool) -> String {
        if inactive {
            self.persistent_def()
                .to_xml(FormatOptions { id: None, secure })
        } else {
            let id = self.is_active().then_some(self.id());
            self.live_def().to_xml(FormatOptions { id, secure })
        }
    }

    /// The definition in effect with what only a running container has (its console pty).
    pub fn live_def(&self) -> DomainDef {
        let tty = self.run.as_ref().and_then(|r| r.console_tty.as_deref());
        with_console_tty(&self.def, tty)
    }

    /// Does this domain pass a `virConnectListAllDomains` filter?
    pub fn matches(&self, flags: u32) -> bool {
        crate::domain_list::matches_list_flags(
            flags,
            &crate::domain_list::ListFacts {
                active: self.is_active(),
                persistent: self.persistent,
                state: self.state,
                managed_save: false,
                autostart: self.autostart,
                has_snapshot: false,
                has_checkpoint: false,
            },
        )
    }
}

/// All domains of the driver.
#[derive(Default)]
pub struct LxcState {
    pub domains: Vec<DomainObj>,
    next_token: u64,
}

impl LxcState {
    pub fn next_token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    pub fn find_by_uuid(&self, uuid: &[u8; 16]) -> Option<usize> {
        self.domains.iter().position(|d| d.def.uuid == *uuid)
    }

    pub fn find_by_name(&self, name: &str) -> Option<usize> {
        self.domains.iter().position(|d| d.def.name == name)
    }

    /// The domain a client refers to, or libvirt's "Domain not found" error.
    pub fn get(&self, dom: &DomainRef) -> DriverResult<&DomainObj> {
        self.find_by_uuid(&dom.uuid)
            .map(|i| &self.domains[i])
            .ok_or_else(|| DriverError::no_domain_uuid(domains::LXC, &dom.uuid, &dom.name))
    }

    pub fn get_mut(&mut self, dom: &DomainRef) -> DriverResult<&mut DomainObj> {
        match self.find_by_uuid(&dom.uuid) {
            Some(i) => Ok(&mut self.domains[i]),
            None => Err(DriverError::no_domain_uuid(
                domains::LXC,
                &dom.uuid,
                &dom.name,
            )),
        }
    }

    /// Domains sorted by name, as libvirt lists them.
    pub fn sorted(&self) -> Vec<&DomainObj> {
        let mut all: Vec<&DomainObj> = self.domains.iter().collect();
        all.sort_by(|a, b| a.def.name.cmp(&b.def.name));
        all
    }

    /// Marks a domain stopped; drops it when transient. Returns its stopped event.
    pub fn mark_stopped(&mut self, index: usize, shutoff_reason: i32, detail: i32) -> DomainEvent {
        let obj = &mut self.domains[index];
        obj.run = None;
        let event = obj.lifecycle_event(event::STOPPED, detail);
        obj.state = state::SHUTOFF;
        obj.reason = shutoff_reason;
        if let Some(next) = obj.new_def.take() {
            obj.def = next;
        }
        if !obj.persistent {
            self.domains.remove(index);
        }
        event
    }
}

/// "domain is not running".
pub fn not_running() -> DriverError {
    DriverError::new(
        crate::api::codes::OPERATION_INVALID,
        domains::LXC,
        "domain is not running",
    )
}

impl LxcState {
    /// The existing domain a new definition replaces, or libvirt's clash errors when the
    /// name or the uuid belongs to another domain.
    pub fn check_clash(&self, def: &DomainDef) -> DriverResult<Option<usize>> {
        let existing = self
            .domains
            .iter()
            .map(|d| (d.def.name.as_str(), &d.def.uuid));
        crate::domain_list::check_clash(existing, &def.name, &def.uuid, domains::LXC)
    }
}
