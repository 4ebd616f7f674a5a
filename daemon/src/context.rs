//! What every session shares: the drivers, the event fan-out, the servers and
//! the daemon-wide controls the admin interface uses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use drivers::api::DriverRegistry;
use tokio::sync::mpsc;

use crate::events::EventHub;
use crate::logging::LogHandle;
use crate::network_events::NetworkEventHub;
use crate::secret_events::SecretEventHub;
use crate::server::Server;
use crate::storage_events::StorageEventHub;

/// Requests to the daemon's main loop from inside (admin calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlRequest {
    /// Set the idle timeout in seconds; 0 disables it.
    SetIdleTimeout(u32),
    /// Shut down; with `preserve`, leave running guests running.
    Shutdown { preserve: bool },
}

pub struct Daemon {
    pub drivers: DriverRegistry,
    pub events: Arc<EventHub>,
    /// Network lifecycle event registrations.
    pub network_events: Arc<NetworkEventHub>,
    /// Storage pool event registrations.
    pub storage_events: Arc<StorageEventHub>,
    /// Secret event registrations.
    pub secret_events: Arc<SecretEventHub>,
    /// Node device event registrations.
    pub nodedev_events: Arc<crate::nodedev_events::NodeDeviceEventHub>,
    /// virtproxyd: where the per-driver daemons its clients go to listen.
    pub proxy: Option<crate::proxy::ProxyTargets>,
    /// virtqemud, virtlxcd: where the secondary drivers' daemons listen.
    pub secondary: Option<crate::proxy::secondary::SecondaryTargets>,
    /// The `libvirtd` server: rw, ro, tcp and tls services.
    pub main: Arc<Server>,
    /// The `admin` server: the admin socket.
    pub admin: Arc<Server>,
    /// The logging setup, changed live by SIGHUP and the admin interface.
    pub log: Option<LogHandle>,
    pub control: mpsc::UnboundedSender<ControlRequest>,
    /// Calls running on worker threads, daemon-wide (the idle timeout waits for them).
    pub calls_in_flight: AtomicUsize,
    /// Reloads the TLS material from the configured paths; set when a TLS
    /// service exists (used by SIGHUP and `virt-admin server-update-tls`).
    pub tls_reload: OnceLock<TlsReloadFn>,
    /// The hook scripts, for the drivers' calls (`qemu`, `lxc`, `network`)
    /// and the daemon's own; re-scanned on SIGHUP.
    pub hooks: hooks::Hooks,
}

pub type TlsReloadFn = Box<dyn Fn() -> Result<(), String> + Send + Sync>;

impl Daemon {
    pub fn servers(&self) -> [&Arc<Server>; 2] {
        [&self.main, &self.admin]
    }

    pub fn server(&self, name: &str) -> Option<&Arc<Server>> {
        self.servers().into_iter().find(|s| s.name == name)
    }

    /// No client on any server and no call running.
    pub fn is_idle(&self) -> bool {
        self.servers().iter().all(|s| s.clients.count() == 0)
            && self.calls_in_flight.load(Ordering::Relaxed) == 0
    }
}
