//! The `qemu` driver: real guests run by `qemu-system-x86_64`, managed through
//! `qemu:///system`, that keep running across daemon restarts.
//!
//! Layout: [`store`] keeps definitions on disk, [`command`] builds QEMU's command line,
//! [`process`] spawns and watches the process through a pidfd, [`qmp`] talks to its
//! monitor, [`lifecycle`] and [`monitor_events`] drive the state machine, [`status`] and
//! [`reconnect`] let a restarted daemon find its guests again.
//!
//! Locking: one mutex guards the domain table and is never held while waiting on QEMU;
//! a per-domain job mutex serialises the slow operations of one domain.

mod agent;
mod auto_shutdown;
mod backup;
mod bandwidth;
mod blockjob;
mod bus_addresses;
mod cgroup;
mod channel_stream;
mod checkpoint;
mod command;
mod conf;
mod connection;
mod console;
mod core_dump;
mod defaults;
mod definitions;
mod direct_io;
mod disk_secrets;
mod display;
mod domcaps;
mod error;
mod fsutil;
mod graphics_events;
mod graphics_fd;
mod guest_control;
mod hook_calls;
mod host_memory;
mod host_page_pools;
mod hotplug;
mod in_flight;
mod jobs;
mod lifecycle;
mod live_tuning;
mod live_xml;
mod managed_save;
mod metadata;
mod metadata_files;
mod migration;
mod monitor_events;
mod native_argv;
mod network_ports;
mod paths;
mod peek;
mod perf_counters;
mod process;
mod q35;
pub mod qmp;
mod reconnect;
mod rename;
mod resource_cgroup;
mod restore_hook;
mod save_image;
mod save_image_xml;
mod scheduler;
mod snapshot;
mod state;
mod stats;
mod status;
mod store;
mod tap;
mod vcpu_list;
mod vcpus;
mod volumes;

use crate::domain_list::{lock_unpoisoned, lock_unpoisoned as lock_job};
use hotplug::qemu_refused as hotplug_refusal;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

pub use error::QemuError;
pub use paths::QemuPaths;
pub use qmp::COMMAND_TIMEOUT as MONITOR_TIMEOUT;

use crate::api::{domains, Connection, DomainEvent, Driver, DriverResult, EventSink, Uuid};
use connection::QemuConnection;
use defaults::HostFacts;
use state::QemuState;

/// The qemu hypervisor driver (scheme "qemu").
pub struct QemuDriver {
    inner: Arc<Inner>,
}

/// State shared by the driver, its connections and its watcher threads.
pub(crate) struct Inner {
    paths: QemuPaths,
    state: Mutex<QemuState>,
    events: EventSink,
    host: OnceLock<HostFacts>,
    capabilities: OnceLock<String>,
    /// The daemon's hook scripts (rescanned by the daemon on SIGHUP).
    hooks: Option<hooks::Hooks>,
    /// qemu.conf; re-read on SIGHUP, applies to guests started afterwards.
    conf: RwLock<conf::QemuConf>,
    /// Saves and starts running, for an orderly daemon exit.
    in_flight: in_flight::InFlight,
    /// The network driver that plugs `<interface type='network'>` NICs.
    network: OnceLock<Arc<dyn crate::api::NetworkDriver>>,
    /// The storage driver, for disks that name a volume.
    storage: OnceLock<Arc<dyn crate::api::StorageDriver>>,
    /// Guest agent response timeouts and call serialisation, per domain.
    agent_table: agent::AgentTable,
    /// The secret driver, for the passphrases of encrypted disks.
    secrets: OnceLock<Arc<dyn crate::api::SecretDriver>>,
}

impl QemuDriver {
    /// Loads the persistent definitions, re-attaches to guests that survived a daemon
    /// restart and, once per host boot, starts the autostart guests (in the background).
    /// Problems with single files are returned for logging; they never stop the driver.
    pub fn new(
        paths: QemuPaths,
        events: EventSink,
        hooks: Option<hooks::Hooks>,
    ) -> (QemuDriver, Vec<String>) {
        let (conf, mut problems) = conf::QemuConf::load(&paths.qemu_conf);
        let inner = Arc::new(Inner {
            paths,
            state: Mutex::new(state::new_state()),
            events,
            host: OnceLock::new(),
            capabilities: OnceLock::new(),
            hooks,
            conf: RwLock::new(conf),
            in_flight: in_flight::InFlight::default(),
            network: OnceLock::new(),
            storage: OnceLock::new(),
            agent_table: agent::AgentTable::default(),
            secrets: OnceLock::new(),
        });
        problems.extend(reconnect::load_and_reconnect(&inner));
        problems.extend(migration::recover(&inner));
        problems.extend(auto_shutdown::restore_saved(&inner));
        reconnect::autostart_once(&inner);
        (QemuDriver { inner }, problems)
    }
}

impl QemuDriver {
    /// Gives the driver the network driver for guests' network interfaces.
    pub fn set_network_driver(&self, network: Arc<dyn crate::api::NetworkDriver>) {
        let _ = self.inner.network.set(network);
    }

    /// Gives the driver the secret driver for the passphrases of encrypted disks.
    pub fn set_secret_driver(&self, secrets: Arc<dyn crate::api::SecretDriver>) {
        let _ = self.inner.secrets.set(secrets);
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, QemuState> {
        lock_unpoisoned(&self.state)
    }

    /// The qemu.conf settings in effect.
    fn conf(&self) -> conf::QemuConf {
        self.conf
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Re-reads qemu.conf (SIGHUP); a file with errors keeps the values it could give.
    fn reload_conf(&self) -> Vec<String> {
        let (conf, problems) = conf::QemuConf::load(&self.paths.qemu_conf);
        *self
            .conf
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = conf;
        problems
    }

    fn emit(&self, events: Vec<DomainEvent>) {
        for event in events {
            (self.events)(event);
        }
    }

    /// The host's capabilities document (QEMU binaries are probed once).
    fn capabilities(&self) -> &str {
        self.capabilities.get_or_init(|| {
            let uuid = crate::host::default_host_uuid(crate::host::HostUuidSource::Smbios);
            crate::host::capabilities_xml(&crate::host::CapsOptions::new(uuid))
        })
    }

    fn host(&self) -> &HostFacts {
        self.host
            .get_or_init(|| HostFacts::from_capabilities(self.capabilities()))
    }

    /// The per-domain job lock of a domain, to take before a slow operation.
    fn job_of(&self, uuid: &Uuid) -> Option<Arc<Mutex<()>>> {
        self.lock().job_of(uuid)
    }
}

impl Driver for QemuDriver {
    fn scheme(&self) -> &'static str {
        "qemu"
    }

    fn open(&self, uri: &str, _read_only: bool) -> DriverResult<Arc<dyn Connection>> {
        crate::domain_list::open_system_uri(uri, &["/system"], "QEMU", "qemu", domains::QEMU)?;
        Ok(Arc::new(QemuConnection::new(Arc::clone(&self.inner))))
    }

    /// SIGHUP: new and changed definitions on disk are picked up, as in libvirt.
    fn reload(&self) -> Vec<String> {
        reconnect::reload_configs(&self.inner)
    }

    /// qemu.conf's `auto_shutdown_*` stages.
    fn host_shutdown(&self) -> Vec<String> {
        self.inner.host_shutdown()
    }

    fn handles_host_shutdown(&self) -> bool {
        self.inner.conf().auto_shutdown.is_enabled()
    }

    /// Saves still running when the daemon stops roll back.
    fn abort_jobs(&self) {
        self.inner.in_flight.abort();
        migration::abort_outgoing(&self.inner);
    }

    fn jobs_running(&self) -> bool {
        self.inner.in_flight.busy()
    }

    /// Starts still running when the daemon exits lose their QEMU process.
    fn abandon_jobs(&self) -> Vec<String> {
        self.inner.in_flight.abandon()
    }

    /// Running guests keep the daemon up, as in libvirt.
    fn inhibits_idle(&self) -> bool {
        self.inner.lock().domains.iter().any(|d| d.is_active())
    }
}
