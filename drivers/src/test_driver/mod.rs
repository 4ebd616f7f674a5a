//! The `test` driver: libvirt's `test:///default`, a fake hypervisor with one predefined
//! running domain, used by clients to exercise the API without real guests.
//!
//! Differences from libvirt 9.0, on purpose:
//! - libvirt frees the default state when the last connection closes and starts afresh on
//!   the next open; here it lives as long as the driver (the daemon), shared by all
//!   connections.
//! - libvirt also accepts `test:///path/to/node.xml` to load a custom world from a file;
//!   this driver refuses such URIs with a "no connection driver" error naming the path.
//! - Running domains keep the daemon's idle timeout from firing, like real guests do,
//!   except the built-in `test` domain in the run it starts with: it runs from the start
//!   in every daemon, so counting it would make `-t` useless with this driver. Once it is
//!   stopped and started again through the API it counts like any other domain.

mod connection;
mod defaults;
mod lifecycle;
mod managed_save;
mod metadata;
mod query;
mod state;
mod stats;

use std::sync::{Arc, Mutex};

use crate::api::{
    codes, domains, reason, Connection, Driver, DriverError, DriverResult, EventSink, Uuid,
};
use crate::domain_xml::{parse_domain_xml, ParseOptions};
use connection::TestConnection;
use state::{DomainObj, TestState};

/// Parse options matching the test driver's: i686 guests, interfaces named testnetN.
pub fn parse_options() -> ParseOptions {
    ParseOptions {
        default_arch: "i686".to_string(),
        ifname_prefix: Some("testnet".to_string()),
        default_video: "cirrus".to_string(),
        status: false,
    }
}

/// The test hypervisor driver (scheme "test").
pub struct TestDriver {
    state: Arc<Mutex<TestState>>,
    events: EventSink,
    /// The built-in domain's first run (uuid, id): not counted by `inhibits_idle`.
    boot_run: Option<(Uuid, i32)>,
}

impl TestDriver {
    /// Builds the default world: domain "test" running with id 1. Events of every
    /// connection go to `events`.
    pub fn new(events: EventSink) -> TestDriver {
        let mut state = TestState::new();
        let mut boot_run = None;
        // The built-in definition is valid; should it ever fail to parse, the driver still
        // works with an empty domain list.
        if let Ok(def) = parse_domain_xml(defaults::DEFAULT_DOMAIN_XML, &parse_options()) {
            state.domains.push(DomainObj::inactive(def, true));
            state.start_domain(0, reason::RUNNING_BOOTED);
            // libvirt then overwrites the state with the configured run state, reason 0.
            state.domains[0].reason = reason::RUNNING_UNKNOWN;
            boot_run = Some((state.domains[0].def.uuid, state.domains[0].id));
        }
        TestDriver {
            state: Arc::new(Mutex::new(state)),
            events,
            boot_run,
        }
    }
}

impl Driver for TestDriver {
    fn scheme(&self) -> &'static str {
        "test"
    }

    fn open(&self, uri: &str, _read_only: bool) -> DriverResult<Arc<dyn Connection>> {
        match crate::domain_list::uri_path(uri) {
            "" | "/" => Err(DriverError::new(
                codes::INVALID_ARG,
                domains::TEST,
                "testOpen: supply a path or use test:///default",
            )),
            "/default" => Ok(Arc::new(TestConnection::new(
                Arc::clone(&self.state),
                Arc::clone(&self.events),
            ))),
            other => Err(connection::unsupported_path(other)),
        }
    }

    fn inhibits_idle(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .domains
            .iter()
            .filter(|d| d.is_active())
            .any(|d| Some((d.def.uuid, d.id)) != self.boot_run)
    }
}

#[cfg(test)]
mod tests;
