//! One domain of a driver's list: what every driver tracks, plus the run `R`
//! of a live guest and driver marks `X` that outlive a run.

use std::sync::{Arc, Mutex};

use crate::api::{reason, state, DomainEvent, DomainEventKind, DomainHandle, DomainState};
use crate::domain_xml::{DomainDef, FormatOptions};

pub struct DomainObj<R, X = ()> {
    /// The definition in effect: the live one while running, else the persistent one.
    pub def: DomainDef,
    /// The persistent definition while running (it may differ after a redefine).
    pub new_def: Option<DomainDef>,
    pub persistent: bool,
    pub autostart: bool,
    /// `VIR_DOMAIN_*` state and its reason (a `VIR_DOMAIN_<STATE>_*` value).
    pub state: DomainState,
    pub reason: i32,
    /// -1 while inactive.
    pub id: i32,
    /// What only a running guest has (process, monitor, supervisor ...).
    pub run: Option<R>,
    /// Driver marks kept across runs.
    pub extra: X,
    /// Serialises the slow operations on this domain (start, destroy, save ...).
    pub job: Arc<Mutex<()>>,
}

impl<R, X: Default> DomainObj<R, X> {
    /// A defined, shut-off domain.
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
            extra: X::default(),
            job: Arc::new(Mutex::new(())),
        }
    }
}

impl<R, X> DomainObj<R, X> {
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

    /// XML for `virDomainGetXMLDesc` of `live` (the definition in effect,
    /// possibly with what only the running guest has) or the inactive one.
    pub fn xml_of(&self, live: &DomainDef, inactive: bool, secure: bool) -> String {
        if inactive {
            self.persistent_def()
                .to_xml(FormatOptions { id: None, secure })
        } else {
            let id = self.is_active().then_some(self.id);
            live.to_xml(FormatOptions { id, secure })
        }
    }

    /// XML for `virDomainGetXMLDesc`.
    pub fn xml(&self, inactive: bool, secure: bool) -> String {
        self.xml_of(&self.def, inactive, secure)
    }
}

impl<R, X: std::fmt::Debug> std::fmt::Debug for DomainObj<R, X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainObj")
            .field("name", &self.def.name)
            .field("persistent", &self.persistent)
            .field("state", &self.state)
            .field("reason", &self.reason)
            .field("id", &self.id)
            .field("running", &self.run.is_some())
            .field("extra", &self.extra)
            .finish()
    }
}
