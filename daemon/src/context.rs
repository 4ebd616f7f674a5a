//! What every session shares: the drivers, the event fan-out, the servers and
//! the daemon-wide facts the admin interface reports.

use std::sync::Arc;

use drivers::api::DriverRegistry;

use crate::events::EventHub;
use crate::server::Server;

pub struct Daemon {
    pub drivers: DriverRegistry,
    pub events: Arc<EventHub>,
    /// The `libvirtd` server: rw, ro, tcp and tls services.
    pub main: Arc<Server>,
    /// The `admin` server: the admin socket.
    pub admin: Arc<Server>,
}

impl Daemon {
    pub fn servers(&self) -> [&Arc<Server>; 2] {
        [&self.main, &self.admin]
    }

    pub fn server(&self, name: &str) -> Option<&Arc<Server>> {
        self.servers().into_iter().find(|s| s.name == name)
    }
}
