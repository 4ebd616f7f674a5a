//! The clients connected to one server, for limits and for the admin interface.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tokio::sync::Notify;

/// Transport numbers as the admin protocol reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Unix = 0,
    Tcp = 1,
    Tls = 2,
}

/// What is known about a connected client.
#[derive(Clone, Debug)]
pub struct ClientInfo {
    pub id: u64,
    /// Seconds since the epoch at accept time.
    pub connected_at: i64,
    pub transport: Transport,
    pub read_only: bool,
    pub peer_uid: Option<u32>,
    pub peer_gid: Option<u32>,
    pub peer_pid: Option<i32>,
    pub peer_addr: Option<String>,
}

/// Identity learnt after accept (TLS handshake, SASL, the peer's security
/// label), which `virt-admin client-info` reports when present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientDetails {
    /// Distinguished name of the client's X.509 certificate.
    pub x509_dname: Option<String>,
    /// User name the client authenticated as with SASL.
    pub sasl_username: Option<String>,
    /// Security (SELinux) label of a local peer.
    pub security_label: Option<String>,
}

/// What a session tells the registry about its traffic, so that the
/// `max_anonymous_clients` rule can tell a silent client from a busy one.
#[derive(Debug, Default)]
pub struct Activity {
    /// When a message last arrived (or the client was admitted), in
    /// milliseconds since the first client.
    last_heard_ms: AtomicU64,
    /// The client has proven who it is.
    pub authenticated: AtomicBool,
    /// Calls of this client running on workers.
    pub in_flight: AtomicUsize,
    /// Asked to close to make room; not chosen twice.
    evicting: AtomicBool,
}

impl Activity {
    fn new(authenticated: bool) -> Activity {
        let activity = Activity::default();
        activity
            .authenticated
            .store(authenticated, Ordering::Relaxed);
        activity.heard_at(Instant::now());
        activity
    }

    /// A whole message arrived at `now`.
    pub fn heard_at(&self, now: Instant) {
        let epoch = *EPOCH.get_or_init(Instant::now);
        let ms = now.saturating_duration_since(epoch).as_millis() as u64;
        self.last_heard_ms.store(ms, Ordering::Relaxed);
    }

    fn last_heard_ms(&self) -> u64 {
        self.last_heard_ms.load(Ordering::Relaxed)
    }
}

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// A registered client: its facts and a way to ask its session to close.
pub struct ClientEntry {
    pub info: ClientInfo,
    pub details: ClientDetails,
    pub close: Arc<Notify>,
    pub activity: Arc<Activity>,
}

/// What an admitted session keeps: the close request and its activity record.
#[derive(Clone)]
pub struct Admitted {
    pub close: Arc<Notify>,
    pub activity: Arc<Activity>,
}

#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    unauthenticated: AtomicUsize,
    /// Connections accepted but not yet registered (waiting for room).
    arriving: AtomicUsize,
    clients: Mutex<BTreeMap<u64, ClientEntry>>,
}

impl ClientRegistry {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn insert(&self, info: ClientInfo, authenticated: bool) -> Arc<Notify> {
        let mut clients = self.lock();
        self.insert_locked(&mut clients, info, authenticated).close
    }

    fn insert_locked(
        &self,
        clients: &mut BTreeMap<u64, ClientEntry>,
        info: ClientInfo,
        authenticated: bool,
    ) -> Admitted {
        if !authenticated {
            self.unauthenticated.fetch_add(1, Ordering::Relaxed);
        }
        let admitted = Admitted {
            close: Arc::new(Notify::new()),
            activity: Arc::new(Activity::new(authenticated)),
        };
        let entry = ClientEntry {
            info: info.clone(),
            details: ClientDetails::default(),
            close: admitted.close.clone(),
            activity: admitted.activity.clone(),
        };
        clients.insert(info.id, entry);
        admitted
    }

    /// A connection was accepted and will ask for admission; it counts
    /// against `max_clients` until then (see [`ClientRegistry::arrived`]).
    pub fn arriving(&self) {
        self.arriving.fetch_add(1, Ordering::Relaxed);
    }

    /// The counterpart of [`ClientRegistry::arriving`].
    pub fn arrived(&self) {
        self.arriving.fetch_sub(1, Ordering::Relaxed);
    }

    /// Connections accepted and not yet registered.
    pub fn arriving_count(&self) -> usize {
        self.arriving.load(Ordering::Relaxed)
    }

    /// Asks the unauthenticated client that has gone longest without
    /// sending a message, and has no call running, to close; returns its ID.
    /// This is how a new client gets in when `max_anonymous_clients` are
    /// connected: silent clients cannot lock everybody else out.
    pub fn evict_silent_unauthenticated(&self) -> Option<u64> {
        let clients = self.lock();
        let victim = clients
            .values()
            .filter(|c| {
                !c.activity.authenticated.load(Ordering::Relaxed)
                    && c.activity.in_flight.load(Ordering::Relaxed) == 0
                    && !c.activity.evicting.load(Ordering::Relaxed)
            })
            .min_by_key(|c| (c.activity.last_heard_ms(), c.info.id))?;
        victim.activity.evicting.store(true, Ordering::Relaxed);
        victim.close.notify_one();
        Some(victim.info.id)
    }

    pub fn contains(&self, id: u64) -> bool {
        self.lock().contains_key(&id)
    }

    /// Registers the client only if `max_clients` and `max_anonymous_clients`
    /// (0: no limit) still allow one more, checked and counted under one
    /// lock so that clients accepted at the same moment cannot overshoot.
    pub fn try_insert(
        &self,
        info: ClientInfo,
        authenticated: bool,
        max_clients: usize,
        max_anonymous_clients: usize,
    ) -> Option<Admitted> {
        let mut clients = self.lock();
        let unauthenticated = self.unauthenticated.load(Ordering::Relaxed);
        let full = clients.len() >= max_clients
            || (!authenticated
                && max_anonymous_clients != 0
                && unauthenticated >= max_anonymous_clients);
        if full {
            return None;
        }
        Some(self.insert_locked(&mut clients, info, authenticated))
    }

    /// A client passed authentication: it no longer counts as anonymous.
    pub fn authenticated(&self) {
        self.unauthenticated.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn remove(&self, id: u64, was_authenticated: bool) {
        if !was_authenticated {
            self.unauthenticated.fetch_sub(1, Ordering::Relaxed);
        }
        self.lock().remove(&id);
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    pub fn unauthenticated(&self) -> usize {
        self.unauthenticated.load(Ordering::Relaxed)
    }

    pub fn list(&self) -> Vec<ClientInfo> {
        self.lock().values().map(|c| c.info.clone()).collect()
    }

    pub fn get(&self, id: u64) -> Option<ClientInfo> {
        self.lock().get(&id).map(|c| c.info.clone())
    }

    /// A client's facts together with the identity learnt since accept.
    pub fn get_with_details(&self, id: u64) -> Option<(ClientInfo, ClientDetails)> {
        self.lock()
            .get(&id)
            .map(|c| (c.info.clone(), c.details.clone()))
    }

    /// Records identity learnt after accept (called by the TLS and SASL
    /// code once a client has proven who it is); false when no such client.
    pub fn update_details(&self, id: u64, update: impl FnOnce(&mut ClientDetails)) -> bool {
        match self.lock().get_mut(&id) {
            Some(entry) => {
                update(&mut entry.details);
                true
            }
            None => false,
        }
    }

    /// Asks a client's session to close; false when no such client.
    pub fn close(&self, id: u64) -> bool {
        match self.lock().get(&id) {
            Some(entry) => {
                entry.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Asks every session to close (daemon shutdown).
    pub fn close_all(&self) {
        for entry in self.lock().values() {
            entry.close.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, ClientEntry>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64) -> ClientInfo {
        ClientInfo {
            id,
            connected_at: 1_795_568_144,
            transport: Transport::Tls,
            read_only: false,
            peer_uid: None,
            peer_gid: None,
            peer_pid: None,
            peer_addr: Some("127.0.0.1:40000".into()),
        }
    }

    #[test]
    fn details_are_kept_per_client_and_listed_in_id_order() {
        let registry = ClientRegistry::default();
        let first = registry.next_id();
        let second = registry.next_id();
        registry.insert(info(second), true);
        registry.insert(info(first), false);
        assert!(registry.update_details(second, |d| d.x509_dname = Some("CN=client".into())));
        assert!(!registry.update_details(99, |d| d.sasl_username = Some("x".into())));
        let ids: Vec<u64> = registry.list().iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![first, second]);
        let (_, details) = registry.get_with_details(second).expect("second client");
        assert_eq!(details.x509_dname.as_deref(), Some("CN=client"));
        assert_eq!(
            registry.get_with_details(first).map(|(_, d)| d),
            Some(ClientDetails::default())
        );
        assert_eq!(registry.unauthenticated(), 1);
        registry.remove(first, false);
        assert_eq!((registry.count(), registry.unauthenticated()), (1, 0));
    }

    #[test]
    fn try_insert_respects_both_limits() {
        let registry = ClientRegistry::default();
        assert!(registry.try_insert(info(1), false, 3, 1).is_some());
        assert!(
            registry.try_insert(info(2), false, 3, 1).is_none(),
            "anonymous limit"
        );
        assert!(
            registry.try_insert(info(2), true, 3, 1).is_some(),
            "an authenticated client is not anonymous"
        );
        assert!(
            registry.try_insert(info(3), false, 3, 0).is_some(),
            "0: no anonymous limit"
        );
        assert!(
            registry.try_insert(info(4), true, 3, 0).is_none(),
            "client limit"
        );
        assert_eq!((registry.count(), registry.unauthenticated()), (3, 2));
    }

    #[test]
    fn eviction_picks_the_longest_silent_idle_anonymous_client() {
        let registry = ClientRegistry::default();
        let t0 = Instant::now();
        let quiet = registry.try_insert(info(1), false, 10, 0).unwrap();
        let talking = registry.try_insert(info(2), false, 10, 0).unwrap();
        let busy = registry.try_insert(info(3), false, 10, 0).unwrap();
        let authenticated = registry.try_insert(info(4), true, 10, 0).unwrap();
        quiet.activity.heard_at(t0);
        talking
            .activity
            .heard_at(t0 + std::time::Duration::from_secs(5));
        busy.activity.heard_at(t0);
        busy.activity.in_flight.store(1, Ordering::Relaxed);
        authenticated.activity.heard_at(t0);
        assert_eq!(registry.evict_silent_unauthenticated(), Some(1));
        let notified = quiet.close.notified();
        tokio::pin!(notified);
        assert!(notified.as_mut().enable(), "the victim is asked to close");
        assert_eq!(
            registry.evict_silent_unauthenticated(),
            Some(2),
            "a client already asked to close is not chosen again"
        );
        assert_eq!(registry.evict_silent_unauthenticated(), None);
    }

    #[test]
    fn close_reaches_only_existing_clients() {
        let registry = ClientRegistry::default();
        let id = registry.next_id();
        assert_eq!(id, 1, "client ids start at 1, as in libvirtd");
        let close = registry.insert(info(id), true);
        assert!(registry.close(id));
        assert!(!registry.close(id + 1));
        // The notification is stored for the session to pick up.
        let notified = close.notified();
        tokio::pin!(notified);
        assert!(notified.as_mut().enable());
    }
}
