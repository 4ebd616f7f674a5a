//! Fan-out of storage pool events (lifecycle and refresh) to the clients that
//! registered for them; bounded per client like the domain events.

use drivers::api::{PoolEvent, PoolEventKind, Uuid};
use protocol::programs::remote_proc;
use protocol::remote::{
    NonnullStoragePool, StoragePoolEventLifecycleMsg, StoragePoolEventRefreshMsg,
};
use protocol::xdr::Xdr;

use crate::events::TooManyCallbacks;
use crate::object_events::ObjectEventRegistry;
use crate::server::client::OutgoingSender;

/// `VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE` and `_REFRESH`.
pub const POOL_EVENT_ID_LIFECYCLE: i32 = 0;
pub const POOL_EVENT_ID_REFRESH: i32 = 1;
pub const POOL_EVENT_ID_LAST: i32 = 2;

#[derive(Default)]
pub struct StorageEventHub {
    registry: ObjectEventRegistry,
}

impl StorageEventHub {
    pub fn register(
        &self,
        client_id: u64,
        event_id: i32,
        pool: Option<Uuid>,
        sender: OutgoingSender,
    ) -> Result<i32, TooManyCallbacks> {
        self.registry.register(client_id, event_id, pool, sender)
    }

    /// Removes one registration of this client; false when it has none with that ID.
    pub fn deregister(&self, client_id: u64, callback_id: i32) -> bool {
        self.registry.deregister(client_id, callback_id)
    }

    pub fn forget_client(&self, client_id: u64) {
        self.registry.forget_client(client_id);
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
        self.registry
            .send(event_id, event.pool.uuid, |callback_id| match event.kind {
                PoolEventKind::Lifecycle { event, detail } => (
                    remote_proc::STORAGE_POOL_EVENT_LIFECYCLE,
                    encode(&StoragePoolEventLifecycleMsg {
                        callback_id,
                        pool: pool.clone(),
                        event,
                        detail,
                    }),
                ),
                PoolEventKind::Refresh => (
                    remote_proc::STORAGE_POOL_EVENT_REFRESH,
                    encode(&StoragePoolEventRefreshMsg {
                        callback_id,
                        pool: pool.clone(),
                    }),
                ),
            });
    }
}

fn encode<T: Xdr>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode(&mut out);
    out
}
