//! The qemu driver's domain table: definitions, run state and the id counter, guarded by
//! one mutex that is never held across a monitor call or a process wait.

use std::sync::{Arc, Mutex};

use super::process::GuestProcess;
use super::qmp::Monitor;
use crate::api::{
    domains, event, reason, state, DomainEvent, DomainEventKind, DomainHandle, DomainRef,
    DriverError, DriverResult, Uuid,
};
use crate::domain_xml::{DomainDef, FormatOptions};

/// A live QEMU process and its monitor.
pub struct Running {
    pub process: GuestProcess,
    pub monitor: Arc<Monitor>,
    /// Distinguishes one run from the next, so a late exit notice of an old process never
    /// stops a domain that was started again.
    pub token: u64,
    /// Set by whoever asked the process to go (destroy, shutdown): how the stop is reported.
    pub expected_stop: Option<(i32, i32)>,
    /// The guest powered off (QMP SHUTDOWN seen): a following exit is a shutdown.
    pub got_shutdown: bool,
    /// `virDomainReboot` is in progress: the next SHUTDOWN resets instead of stopping.
    pub fake_reboot: bool,
    /// Seconds since the epoch when the guest was started (kept in the status file).
    pub started: u64,
    /// The slow job in progress (a save), for `virDomainGetJobStats`.
    pub job: Option<super::jobs::ActiveJob>,
}

/// One domain of the driver.
pub struct DomainObj {
    /// The definition in effect: the live one while running, else the persistent one.
    pub def: DomainDef,
    /// The persistent definition while running.
    pub new_def: Option<DomainDef>,
    pub persistent: bool,
    pub autostart: bool,
    pub state: u8,
    pub reason: i32,
    pub id: i32,
    pub run: Option<Running>,
    /// Serialises the operations on this domain that wait on QEMU (start, destroy, ...).
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
            id: -1,
            run: None,
            job: Arc::new(Mutex::new(())),
        }
    }

    pub fn is_active(&self) -> bool {
        self.id != -1
    }

    pub fn handle(&self) -> DomainHandle {
        DomainHandle {
            name: self.def.name.clone(),
            uuid: self.def.uuid,
            id: self.id,
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
            let id = self.is_active().then_some(self.id);
            self.def.to_xml(FormatOptions { id, secure })
        }
    }

    /// Does this domain pass a `virConnectListAllDomains` filter?
    pub fn matches(&self, flags: u32, has_managed_save: bool) -> bool {
        crate::domain_list::matches_list_flags(
            flags,
            &crate::domain_list::ListFacts {
                active: self.is_active(),
                persistent: self.persistent,
                state: self.state,
                managed_save: has_managed_save,
                autostart: self.autostart,
                has_snapshot: false,
                has_checkpoint: false,
            },
        )
    }
}

/// All domains plus the id counter.
#[derive(Default)]
pub struct QemuState {
    pub domains: Vec<DomainObj>,
    pub last_id: i32,
    pub next_token: u64,
}

impl QemuState {
    pub fn find_by_uuid(&self, uuid: &Uuid) -> Option<usize> {
        self.domains.iter().position(|d| d.def.uuid == *uuid)
    }

    pub fn resolve(&self, dom: &DomainRef) -> DriverResult<usize> {
        self.find_by_uuid(&dom.uuid)
            .ok_or_else(|| DriverError::no_domain_uuid(domains::QEMU, &dom.uuid, &dom.name))
    }

    pub fn get(&self, dom: &DomainRef) -> DriverResult<&DomainObj> {
        let index = self.resolve(dom)?;
        Ok(&self.domains[index])
    }

    pub fn get_mut(&mut self, dom: &DomainRef) -> DriverResult<&mut DomainObj> {
        let index = self.resolve(dom)?;
        Ok(&mut self.domains[index])
    }

    /// Running domains first by id, then inactive ones by name.
    pub fn sorted(&self) -> Vec<&DomainObj> {
        let mut all: Vec<&DomainObj> = self.domains.iter().collect();
        all.sort_by(|a, b| match (a.is_active(), b.is_active()) {
            (true, true) => a.id.cmp(&b.id),
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            (false, false) => a.def.name.cmp(&b.def.name),
        });
        all
    }

    /// libvirt's refusal for a definition clashing with another domain (same uuid under
    /// another name, or same name under another uuid); `Some(index)` for a redefinition.
    pub fn check_clash(&self, def: &DomainDef) -> DriverResult<Option<usize>> {
        let existing = self
            .domains
            .iter()
            .map(|d| (d.def.name.as_str(), &d.def.uuid));
        crate::domain_list::check_clash(existing, &def.name, &def.uuid, domains::QEMU)
    }

    pub fn allocate_token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }
}

/// `VIR_DOMAIN_EVENT_DEFINED` detail for a new or an updated definition.
pub fn defined_detail(updated: bool) -> i32 {
    if updated {
        event::DEFINED_UPDATED
    } else {
        event::DEFINED_ADDED
    }
}
