//! The test driver's world: its domains and the id counter, shared by every connection.

use crate::api::{
    domains, event, state, DomainEvent, DomainEventKind, DomainHandle, DomainRef, DriverError,
    DriverResult, Uuid,
};
use crate::domain_xml::{DomainDef, FormatOptions};

/// One domain as the test driver tracks it.
#[derive(Clone, Debug)]
pub struct DomainObj {
    /// The definition in effect: the live one while running, else the persistent one.
    pub def: DomainDef,
    /// The persistent definition while running (it may differ after a redefine).
    pub new_def: Option<DomainDef>,
    pub state: u8,
    pub reason: i32,
    /// -1 while inactive.
    pub id: i32,
    pub persistent: bool,
    pub autostart: bool,
    pub has_managed_save: bool,
    pub snapshot_count: u32,
}

impl DomainObj {
    /// A defined, shut-off domain.
    pub fn inactive(def: DomainDef, persistent: bool) -> Self {
        DomainObj {
            def,
            new_def: None,
            state: state::SHUTOFF,
            reason: crate::api::reason::SHUTOFF_UNKNOWN,
            id: -1,
            persistent,
            autostart: false,
            has_managed_save: false,
            snapshot_count: 0,
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

    /// The persistent configuration (what `--inactive` shows).
    pub fn persistent_def(&self) -> &DomainDef {
        self.new_def.as_ref().unwrap_or(&self.def)
    }

    /// XML for `virDomainGetXMLDesc`.
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
    pub fn matches(&self, flags: u32) -> bool {
        crate::domain_list::matches_list_flags(
            flags,
            &crate::domain_list::ListFacts {
                active: self.is_active(),
                persistent: self.persistent,
                state: self.state,
                managed_save: self.has_managed_save,
                autostart: self.autostart,
                has_snapshot: self.snapshot_count > 0,
                // The test driver keeps no checkpoints.
                has_checkpoint: false,
            },
        )
    }
}

/// All domains plus the next id to hand out. Guarded by one mutex in the driver.
#[derive(Debug)]
pub struct TestState {
    pub domains: Vec<DomainObj>,
    next_id: i32,
}

impl TestState {
    pub fn new() -> Self {
        TestState {
            domains: Vec::new(),
            next_id: 1,
        }
    }

    /// Hands out the next domain id (ids are never reused).
    pub fn allocate_id(&mut self) -> i32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn find_by_uuid(&self, uuid: &Uuid) -> Option<usize> {
        self.domains.iter().position(|d| d.def.uuid == *uuid)
    }

    /// Resolves a client's domain reference, with the test driver's not-found error.
    pub fn resolve(&self, dom: &DomainRef) -> DriverResult<usize> {
        self.find_by_uuid(&dom.uuid)
            .ok_or_else(|| DriverError::no_domain_uuid(domains::TEST, &dom.uuid, &dom.name))
    }

    pub fn get(&self, dom: &DomainRef) -> DriverResult<&DomainObj> {
        let index = self.resolve(dom)?;
        Ok(&self.domains[index])
    }

    pub fn get_mut(&mut self, dom: &DomainRef) -> DriverResult<&mut DomainObj> {
        let index = self.resolve(dom)?;
        Ok(&mut self.domains[index])
    }

    /// Running domains first by id, then inactive ones by name: the order virsh shows.
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

    /// The refusal libvirt gives when a new definition clashes with an existing domain:
    /// same uuid under another name, or same name under another uuid.
    pub fn check_clash(&self, def: &DomainDef) -> DriverResult<Option<usize>> {
        let existing = self
            .domains
            .iter()
            .map(|d| (d.def.name.as_str(), &d.def.uuid));
        crate::domain_list::check_clash(existing, &def.name, &def.uuid, domains::DOMAIN)
    }

    /// Remove a domain entirely (transient domains when they stop, undefined inactive ones).
    pub fn remove(&mut self, index: usize) {
        self.domains.remove(index);
    }
}

impl Default for TestState {
    fn default() -> Self {
        TestState::new()
    }
}

/// Event helper for the common "defined" detail choice.
pub fn defined_detail(updated: bool) -> i32 {
    if updated {
        event::DEFINED_UPDATED
    } else {
        event::DEFINED_ADDED
    }
}
