//! Fan-out of storage pool events (lifecycle and refresh) to the clients that
//! registered for them; bounded per client like the domain events.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use drivers::api::{PoolEvent, PoolEventKind, Uuid};
use protocol::header::{Header, MessageType};
use protocol::programs::{remote_proc, PROTOCOL_VERSION, REMOTE_PROGRAM};
use protocol::remote::{
    NonnullStoragePool, StoragePoolEventLifecycleMsg, StoragePoolEventRefreshMsg,
};
use protocol::xdr::Xdr;

use crate::events::{TooManyCallbacks, MAX_CALLBACKS_PER_CLIENT};
use crate::server::client::{Outgoing, OutgoingSender};

/// `VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE` and `_REFRESH`.
pub const POOL_EVENT_ID_LIFECYCLE: i32 = 0;
pub const POOL_EVENT_ID_REFRESH: i32 = 1;
pub const POOL_EVENT_ID_LAST: i32 = 2;

struct Registration {
    callback_id: i32,
    client_id: u64,
    event_id: i32,
    pool: Option<Uuid>,
    sender: OutgoingSender,
}

#[derive(Default)]
pub struct StorageEventHub {
    next_id: AtomicI32,
    registrations: Mutex<Vec<Registration>>,
}

impl StorageEventHub {
    pub fn register(
        &self,
        client_id: u64,
        event_id: i32,
        pool: Option<Uuid>,
        sender: OutgoingSender,
    ) -> Result<i32, TooManyCallbacks> {
        let mut regs = self.lock();
        if regs.iter().filter(|r| r.client_id == client_id).count() >= MAX_CALLBACKS_PER_CLIENT {
            return Err(TooManyCallbacks);
        }
        let callback_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        regs.push(Registration {
            callback_id,
            client_id,
            event_id,
            pool,
            sender,
        });
        Ok(callback_id)
    }

    pub fn deregister(&self, client_id: u64, callback_id: i32) -> bool {
        let mut regs = self.lock();
        let before = regs.len();
        regs.retain(|r| !(r.client_id == client_id && r.callback_id == callback_id));
        regs.len() != before
    }

    pub fn forget_client(&self, client_id: u64) {
        self.lock().retain(|r| r.client_id != client_id);
    }

    pub fn publish(&self, event: &PoolEvent) {
        let event_id = match event.kind {
            PoolEventKind::Lifecycle { .. } => POOL_EVENT_ID_LIFECYCLE,
            PoolEventKind::Refresh => POOL_EVENT_ID_REFRESH,
        };
        let pool = NonnullStoragePool {
            name: event.pool.name.clone(),
            uuid: event.pool.uuid,
        };
        for reg in self.lock().iter() {
            if reg.event_id != event_id || reg.pool.is_some_and(|u| u != event.pool.uuid) {
                continue;
            }
            let (proc_, body) = match event.kind {
                PoolEventKind::Lifecycle { event, detail } => (
                    remote_proc::STORAGE_POOL_EVENT_LIFECYCLE,
                    encode(&StoragePoolEventLifecycleMsg {
                        callback_id: reg.callback_id,
                        pool: pool.clone(),
                        event,
                        detail,
                    }),
                ),
                PoolEventKind::Refresh => (
                    remote_proc::STORAGE_POOL_EVENT_REFRESH,
                    encode(&StoragePoolEventRefreshMsg {
                        callback_id: reg.callback_id,
                        pool: pool.clone(),
                    }),
                ),
            };
            // Event messages carry serial 1, as libvirtd sends them.
            let header = Header {
                prog: REMOTE_PROGRAM,
                vers: PROTOCOL_VERSION,
                proc_,
                mtype: MessageType::Message as u32,
                serial: 1,
                status: 0,
            };
            let message = protocol::frame::encode_message(&header, &body);
            let _ = reg.sender.send(Outgoing::Message(message));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Registration>> {
        self.registrations.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn encode<T: Xdr>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode(&mut out);
    out
}
