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

/// A registered client: its facts and a way to ask its session to close.
pub struct ClientEntry {
    pub info: ClientInfo,
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
            close: close.clone(),
        };
        self.lock().insert(info.id, entry);
        close
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
