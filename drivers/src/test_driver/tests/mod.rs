//! Unit tests of the test driver, checked against what libvirt 9.0's own test driver
//! answers through virsh and python3-libvirt.

mod errors;
mod lifecycle;
mod listing;
mod managed_save;
mod node;

use std::sync::{Arc, Mutex};

use super::TestDriver;
use crate::api::{Connection, DomainEvent, DomainEventKind, DomainRef, Driver, EventSink};

/// A driver, one connection to it, and every event it emitted.
pub struct Harness {
    pub driver: TestDriver,
    pub conn: Arc<dyn Connection>,
    events: Arc<Mutex<Vec<DomainEvent>>>,
}

impl Harness {
    pub fn new() -> Harness {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink_events = Arc::clone(&events);
        let sink: EventSink = Arc::new(move |event| {
            sink_events.lock().expect("event list lock").push(event);
        });
        let driver = TestDriver::new(sink);
        let conn = driver.open("test:///default", false).expect("open default");
        Harness {
            driver,
            conn,
            events,
        }
    }

    /// Events emitted since the last call, as (name, id, event, detail).
    pub fn take_events(&self) -> Vec<(String, i32, i32, i32)> {
        let mut events = self.events.lock().expect("event list lock");
        events
            .drain(..)
            .map(|e| match e.kind {
                DomainEventKind::Lifecycle { event, detail } => {
                    (e.domain.name, e.domain.id, event, detail)
                }
                DomainEventKind::Reboot => (e.domain.name, e.domain.id, -1, -1),
                DomainEventKind::DeviceRemoved { .. }
                | DomainEventKind::DeviceRemovalFailed { .. }
                | DomainEventKind::AgentLifecycle { .. }
                | DomainEventKind::BlockJob { .. }
                | DomainEventKind::BlockThreshold { .. }
                | DomainEventKind::MigrationIteration { .. }
                | DomainEventKind::JobCompleted { .. }
                | DomainEventKind::Graphics { .. }
                | DomainEventKind::QemuMonitor { .. }
                | DomainEventKind::PmSuspend { .. }
                | DomainEventKind::PmWakeup { .. } => (e.domain.name, e.domain.id, -2, -2),
                DomainEventKind::MetadataChange { kind, .. } => {
                    (e.domain.name, e.domain.id, -2, kind)
                }
            })
            .collect()
    }

    pub fn dom(&self, name: &str) -> DomainRef {
        let handle = self.conn.lookup_by_name(name).expect("domain exists");
        DomainRef::from(&handle)
    }

    /// Defines a small domain and returns its reference.
    pub fn define_small(&self, name: &str) -> DomainRef {
        let xml = format!(
            "<domain type='test'><name>{name}</name><memory>65536</memory><os><type>hvm</type></os></domain>"
        );
        let handle = self.conn.define_xml(&xml, 0).expect("define");
        DomainRef::from(&handle)
    }

    pub fn state(&self, dom: &DomainRef) -> (i32, i32) {
        self.conn.get_state(dom, 0).expect("state")
    }
}

pub const TEST_UUID: [u8; 16] = [
    0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e, 0x19, 0x3f,
];
