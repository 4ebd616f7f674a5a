//! The RPC servers: listeners, client sessions, limits and keepalive.
//!
//! libvirtd runs two servers: `libvirtd` (the rw, ro, tcp and tls services) and
//! `admin` (the admin socket). Each has its own limits and client list, which
//! the admin interface exposes by these names.

pub mod client;
pub mod fd_port;
pub mod keepalive;
pub mod listener;
pub mod outbox;
pub mod registry;
pub mod workers;

use std::sync::{Arc, RwLock};

use thiserror::Error;
use tokio::sync::Notify;
use tracing::info;

pub use registry::{
    Activity, Admitted, ClientDetails, ClientEntry, ClientInfo, ClientRegistry, Transport,
};
pub use workers::{WorkerChange, WorkerPool, WorkerPoolError, WorkerStats};

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

/// Limits of one server; replaced as a whole on SIGHUP, and piecewise by
/// the admin interface (`srv-threadpool-set`, `srv-clients-set`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_clients: usize,
    /// Clients still authenticating; 0 means no limit, as in libvirt (the
    /// admin server's setting).
    pub max_anonymous_clients: usize,
    pub max_client_requests: usize,
    pub min_workers: usize,
    pub max_workers: usize,
    /// Reported by `srv-threadpool-info` and settable; calls are not split by
    /// priority here (see the man page).
    pub prio_workers: usize,
    pub keepalive_interval: i64,
    pub keepalive_count: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: 5000,
            max_anonymous_clients: 20,
            max_client_requests: 5,
            min_workers: 5,
            max_workers: 20,
            prio_workers: 5,
            keepalive_interval: 5,
            keepalive_count: 5,
        }
    }
}

/// A client-limit change refused, worded as libvirt words it.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ClientLimitsError {
    #[error("The overall maximum number of clients must not be less than the number of clients waiting for authentication")]
    UnauthAboveMax,
}

/// The client counters `srv-clients-info` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCounts {
    pub max_clients: usize,
    pub clients: usize,
    pub max_unauthenticated: usize,
    pub unauthenticated: usize,
}

/// One named server (`libvirtd` or `admin`).
pub struct Server {
    pub name: &'static str,
    limits: RwLock<Limits>,
    pub clients: ClientRegistry,
    /// Admits the calls that run on blocking threads and counts workers.
    pub workers: Arc<WorkerPool>,
    /// Woken when a client leaves or authenticates, or a limit changes, so a
    /// full accept loop retries.
    pub capacity_freed: Notify,
}

impl Server {
    pub fn new(name: &'static str, limits: Limits) -> Arc<Server> {
        let workers = WorkerPool::new(limits.min_workers, limits.max_workers, limits.prio_workers);
        Arc::new(Server {
            name,
            limits: RwLock::new(limits),
            clients: ClientRegistry::default(),
            workers: Arc::new(workers),
            capacity_freed: Notify::new(),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn limits_mut(&self) -> std::sync::RwLockWriteGuard<'_, Limits> {
        self.limits.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies new limits to this server (SIGHUP); running clients pick them
    /// up on their next event.
    pub fn set_limits(&self, limits: Limits) {
        self.workers
            .reconfigure(limits.min_workers, limits.max_workers, limits.prio_workers);
        *self.limits_mut() = limits;
        self.capacity_freed.notify_waiters();
    }

    /// `srv-threadpool-set`: changes the worker pool live.
    pub fn change_workers(&self, change: WorkerChange) -> Result<(), WorkerPoolError> {
        self.workers.change(change)?;
        let stats = self.workers.stats();
        let mut limits = self.limits_mut();
        limits.min_workers = stats.min_workers;
        limits.max_workers = stats.max_workers;
        limits.prio_workers = stats.priority_workers;
        Ok(())
    }

    /// `srv-clients-set`: `None` keeps a value. The overall maximum may not
    /// end up below the maximum of clients still authenticating; clients
    /// already connected stay, new ones wait until the counts allow them.
    pub fn change_client_limits(
        &self,
        max_clients: Option<usize>,
        max_anonymous_clients: Option<usize>,
    ) -> Result<(), ClientLimitsError> {
        {
            let mut limits = self.limits_mut();
            let max = max_clients.unwrap_or(limits.max_clients);
            let max_unauth = max_anonymous_clients.unwrap_or(limits.max_anonymous_clients);
            if max < max_unauth {
                return Err(ClientLimitsError::UnauthAboveMax);
            }
            limits.max_clients = max;
            limits.max_anonymous_clients = max_unauth;
        }
        self.capacity_freed.notify_waiters();
        Ok(())
    }

    pub fn client_counts(&self) -> ClientCounts {
        let limits = self.limits();
        ClientCounts {
            max_clients: limits.max_clients,
            clients: self.clients.count(),
            max_unauthenticated: limits.max_anonymous_clients,
            unauthenticated: self.clients.unauthenticated(),
        }
    }

    /// Registers a newly accepted client (announced with
    /// [`ClientRegistry::arriving`]), waiting while the server is full: such
    /// a client is not read from (it sees no reply), as a client left in
    /// libvirtd's listen queue.
    ///
    /// An unauthenticated client that finds `max_anonymous_clients`
    /// unauthenticated clients connected closes the one that has gone
    /// longest without sending anything (and has no call running) and takes
    /// its place, so silent or stuck connections cannot lock out a client
    /// that is about to authenticate. libvirtd 9.0 stops accepting instead.
    pub async fn admit(&self, info: ClientInfo, authenticated: bool) -> Admitted {
        struct Arrival<'a>(&'a ClientRegistry);
        impl Drop for Arrival<'_> {
            fn drop(&mut self) {
                self.0.arrived();
            }
        }
        let _arrival = Arrival(&self.clients);
        let mut victim: Option<u64> = None;
        loop {
            let freed = self.capacity_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let limits = self.limits();
            let admitted = self.clients.try_insert(
                info.clone(),
                authenticated,
                limits.max_clients,
                limits.max_anonymous_clients,
            );
            if let Some(admitted) = admitted {
                return admitted;
            }
            let anonymous_full = !authenticated
                && limits.max_anonymous_clients != 0
                && self.clients.count() < limits.max_clients
                && self.clients.unauthenticated() >= limits.max_anonymous_clients;
            if anonymous_full && victim.is_none_or(|id| !self.clients.contains(id)) {
                victim = self.clients.evict_silent_unauthenticated();
                if let Some(id) = victim {
                    info!(
                        client = id,
                        new_client = info.id,
                        "max_anonymous_clients reached: closing the longest silent unauthenticated client"
                    );
                }
            }
            freed.await;
        }
    }

    /// Whether one more connection may be accepted now.
    pub fn has_room(&self) -> bool {
        self.has_room_with_pending(0)
    }

    /// Whether one more connection fits when `pending` connections (TLS
    /// handshakes in progress followed by polkit; with `auth_tls = "none"`
    /// handshakes are bounded by `crate::tls::handshakes` instead) are held
    /// besides the registered clients and those waiting for admission.
    /// Such handshakes may use at most `max_anonymous_clients` slots;
    /// registered unauthenticated clients do not stop accepting (see
    /// [`Server::admit`]).
    pub fn has_room_with_pending(&self, pending: usize) -> bool {
        let limits = self.limits();
        let held = self.clients.count() + self.clients.arriving_count() + pending;
        held < limits.max_clients
            && (limits.max_anonymous_clients == 0 || pending < limits.max_anonymous_clients)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_limits_are_validated_against_each_other() {
        let server = Server::new("libvirtd", Limits::default());
        assert_eq!(
            server.change_client_limits(Some(10), None),
            Err(ClientLimitsError::UnauthAboveMax)
        );
        server
            .change_client_limits(Some(30), Some(0))
            .expect("no anonymous limit");
        let counts = server.client_counts();
        assert_eq!((counts.max_clients, counts.max_unauthenticated), (30, 0));
        server.change_client_limits(Some(2), None).expect("max 2");
        assert_eq!(server.limits().max_clients, 2);
    }

    #[test]
    fn zero_anonymous_limit_means_unlimited() {
        let limits = Limits {
            max_clients: 1,
            max_anonymous_clients: 0,
            ..Limits::default()
        };
        let server = Server::new("admin", limits);
        assert!(server.has_room());
    }

    #[test]
    fn threadpool_changes_show_in_the_limits() {
        let server = Server::new("libvirtd", Limits::default());
        let change = WorkerChange {
            max_workers: Some(30),
            priority_workers: Some(2),
            ..WorkerChange::default()
        };
        server.change_workers(change).expect("valid change");
        let limits = server.limits();
        assert_eq!(
            (limits.min_workers, limits.max_workers, limits.prio_workers),
            (5, 30, 2)
        );
    }
}
