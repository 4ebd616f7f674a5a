//! The RPC servers: listeners, client sessions, limits and keepalive.
//!
//! libvirtd runs two servers: `libvirtd` (the rw, ro, tcp and tls services) and
//! `admin` (the admin socket). Each has its own limits and client list, which
//! the admin interface exposes by these names.

pub mod client;
pub mod keepalive;
pub mod listener;
pub mod registry;

use std::sync::{Arc, RwLock};

use tokio::sync::{Notify, Semaphore};

pub use registry::{ClientEntry, ClientRegistry, Transport};

/// Authentication configured for a service (`auth_unix_rw`, `auth_tcp`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthScheme {
    None,
    Sasl,
    Polkit,
}

impl AuthScheme {
    /// The remote_auth_type number AUTH_LIST reports.
    pub fn wire_value(self) -> i32 {
        match self {
            AuthScheme::None => 0,
            AuthScheme::Sasl => 1,
            AuthScheme::Polkit => 2,
        }
    }
}

/// Which programs a listening socket serves and how its clients are admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceKind {
    pub admin: bool,
    pub read_only: bool,
    pub auth: AuthScheme,
    pub transport: Transport,
}

/// Limits of one server; replaced as a whole on SIGHUP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_clients: usize,
    pub max_anonymous_clients: usize,
    pub max_client_requests: usize,
    pub max_workers: usize,
    pub keepalive_interval: i64,
    pub keepalive_count: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: 5000,
            max_anonymous_clients: 20,
            max_client_requests: 5,
            max_workers: 20,
            keepalive_interval: 5,
            keepalive_count: 5,
        }
    }
}

/// One named server (`libvirtd` or `admin`).
pub struct Server {
    pub name: &'static str,
    limits: RwLock<Limits>,
    pub clients: ClientRegistry,
    /// Bounds the calls that run on blocking threads (`max_workers`).
    pub workers: Arc<Semaphore>,
    worker_permits: std::sync::Mutex<usize>,
    /// Woken when a client leaves or authenticates, so a full accept loop retries.
    pub capacity_freed: Notify,
}

impl Server {
    pub fn new(name: &'static str, limits: Limits) -> Arc<Server> {
        let workers = limits.max_workers.max(1);
        Arc::new(Server {
            name,
            limits: RwLock::new(limits),
            clients: ClientRegistry::default(),
            workers: Arc::new(Semaphore::new(workers)),
            worker_permits: std::sync::Mutex::new(workers),
            capacity_freed: Notify::new(),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Applies new limits to this server; running clients pick them up on their next event.
    pub fn set_limits(&self, limits: Limits) {
        let wanted = limits.max_workers.max(1);
        {
            let mut current = self
                .worker_permits
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if wanted > *current {
                self.workers.add_permits(wanted - *current);
            } else if wanted < *current {
                self.workers.forget_permits(*current - wanted);
            }
            *current = wanted;
        }
        *self.limits.write().unwrap_or_else(|e| e.into_inner()) = limits;
        self.capacity_freed.notify_waiters();
    }

    /// Whether one more connection may be accepted now.
    pub fn has_room(&self) -> bool {
        let limits = self.limits();
        self.clients.count() < limits.max_clients
            && self.clients.unauthenticated() < limits.max_anonymous_clients
    }
}
