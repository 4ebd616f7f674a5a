//! The clients connected to one server, for limits and for the admin interface.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// A registered client: its facts and a way to ask its session to close.
pub struct ClientEntry {
    pub info: ClientInfo,
    pub details: ClientDetails,
    pub close: Arc<Notify>,
}

#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    unauthenticated: AtomicUsize,
    clients: Mutex<BTreeMap<u64, ClientEntry>>,
}

impl ClientRegistry {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn insert(&self, info: ClientInfo, authenticated: bool) -> Arc<Notify> {
        let close = Arc::new(Notify::new());
        if !authenticated {
            self.unauthenticated.fetch_add(1, Ordering::Relaxed);
        }
        let entry = ClientEntry {
            info: info.clone(),
            details: ClientDetails::default(),
            close: close.clone(),
        };
        self.lock().insert(info.id, entry);
        close
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
    ) -> Option<Arc<Notify>> {
        let mut clients = self.lock();
        let unauthenticated = self.unauthenticated.load(Ordering::Relaxed);
        let full = clients.len() >= max_clients
            || (max_anonymous_clients != 0 && unauthenticated >= max_anonymous_clients);
        if full {
            return None;
        }
        let close = Arc::new(Notify::new());
        if !authenticated {
            self.unauthenticated.fetch_add(1, Ordering::Relaxed);
        }
        let entry = ClientEntry {
            info: info.clone(),
            details: ClientDetails::default(),
            close: close.clone(),
        };
        clients.insert(info.id, entry);
        Some(close)
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
        assert!(registry.try_insert(info(1), false, 2, 1).is_some());
        assert!(
            registry.try_insert(info(2), true, 2, 1).is_none(),
            "anonymous limit"
        );
        assert!(
            registry.try_insert(info(2), true, 2, 0).is_some(),
            "0: no anonymous limit"
        );
        assert!(
            registry.try_insert(info(3), true, 2, 0).is_none(),
            "client limit"
        );
        assert_eq!((registry.count(), registry.unauthenticated()), (2, 1));
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
