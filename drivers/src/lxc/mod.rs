//! The `lxc` driver: containers in Linux namespaces through `lxc:///system`, each run by a
//! supervisor process of its own so that containers survive daemon restarts and crashes.
//!
//! Layout: [`xml`] checks definitions, [`store`] keeps them on disk, [`supervisor`] is the
//! per-container process (namespaces, root filesystem, console, reaping), [`cgroup`] and
//! [`cgroup_layout`] place containers in the host's cgroups (v1, v2 or hybrid),
//! [`lifecycle`] drives the state machine, [`status`] and [`reconnect`] let a restarted
//! daemon find its containers again.
//!
//! Locking: one mutex guards the domain table and is never held while waiting on a
//! supervisor; a per-domain job mutex serialises the slow operations of one domain.

pub mod cgroup;
pub mod cgroup_layout;
mod conf;
mod connection;
pub mod control;
mod definitions;
mod error;
mod fsutil;
mod hook;
mod lifecycle;
mod network_ports;
mod paths;
mod process;
mod reconnect;
mod signals;
mod state;
pub mod status;
mod store;
pub mod supervisor;
mod volumes;
pub mod xml;
mod xml_defaults;

use crate::domain_list::{lock_unpoisoned, lock_unpoisoned as lock_job};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

pub use conf::LxcConfig;
pub use error::LxcError;
pub use paths::LxcPaths;

use crate::api::{domains, Connection, DomainEvent, Driver, DriverResult, EventSink, Uuid};
use cgroup_layout::CgroupLayout;
use connection::LxcConnection;
use state::LxcState;

/// The lxc driver (scheme "lxc").
pub struct LxcDriver {
    inner: Arc<Inner>,
}

/// State shared by the driver, its connections and its watcher threads.
pub(crate) struct Inner {
    paths: LxcPaths,
    state: Mutex<LxcState>,
    /// Signalled whenever a container stops, for callers waiting on a destroy.
    stopped: Condvar,
    events: EventSink,
    hooks: Option<hooks::Hooks>,
    layout: CgroupLayout,
    /// The storage driver, for filesystems that name a volume.
    storage: std::sync::OnceLock<Arc<dyn crate::api::StorageDriver>>,
    /// The network driver, for `<interface type='network'>`.
    network: std::sync::OnceLock<Arc<dyn crate::api::NetworkDriver>>,
}

impl LxcDriver {
    /// Loads the definitions, re-attaches to containers that kept running while the daemon
    /// was away and, once per host boot, starts the autostart containers (in the
    /// background). Problems with single files are returned for logging.
    pub fn new(
        paths: LxcPaths,
        events: EventSink,
        hooks: Option<hooks::Hooks>,
    ) -> (LxcDriver, Vec<String>) {
        let mut problems = Vec::new();
        if let Err(e) = LxcConfig::load(&paths.lxc_conf) {
            problems.push(e.to_string());
        }
        let inner = Arc::new(Inner {
            paths,
            state: Mutex::new(state::new_state()),
            stopped: Condvar::new(),
            events,
            hooks,
            layout: CgroupLayout::detect(),
            storage: std::sync::OnceLock::new(),
            network: std::sync::OnceLock::new(),
        });
        problems.extend(reconnect::load_and_reconnect(&inner));
        reconnect::autostart_once(&inner);
        (LxcDriver { inner }, problems)
    }
}

impl LxcDriver {
    /// Gives the driver the network driver that plugs containers' network interfaces.
    pub fn set_network_driver(&self, network: Arc<dyn crate::api::NetworkDriver>) {
        let _ = self.inner.network.set(network);
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, LxcState> {
        lock_unpoisoned(&self.state)
    }

    fn emit(&self, events: Vec<DomainEvent>) {
        for event in events {
            (self.events)(event);
        }
    }

    fn job_of(&self, uuid: &Uuid) -> Option<Arc<Mutex<()>>> {
        self.lock().job_of(uuid)
    }
}

impl Driver for LxcDriver {
    fn scheme(&self) -> &'static str {
        "lxc"
    }

    fn open(&self, uri: &str, _read_only: bool) -> DriverResult<Arc<dyn Connection>> {
        crate::domain_list::open_system_uri(
            uri,
            &["", "/", "/system"],
            "LXC",
            "lxc",
            domains::LXC,
        )?;
        Ok(Arc::new(LxcConnection::new(Arc::clone(&self.inner))))
    }

    fn reload(&self) -> Vec<String> {
        reconnect::reload_configs(&self.inner)
    }

    /// Running containers keep the daemon up, as in libvirt.
    fn inhibits_idle(&self) -> bool {
        self.inner.lock().domains.iter().any(|d| d.is_active())
    }
}
