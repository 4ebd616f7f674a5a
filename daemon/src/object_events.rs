//! The registration table behind the network, storage pool, secret and node
//! device event hubs: callback IDs, the per-client cap, removal at disconnect, and the
//! sending of one event message per matching registration. Each hub keeps
//! only what differs: its event IDs and the messages it encodes.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use drivers::api::Uuid;
use protocol::header::{Header, MessageType};
use protocol::programs::{PROTOCOL_VERSION, REMOTE_PROGRAM};

use crate::events::{TooManyCallbacks, MAX_CALLBACKS_PER_CLIENT};
use crate::server::client::{Outgoing, OutgoingSender};

struct Registration<K> {
    callback_id: i32,
    client_id: u64,
    event_id: i32,
    /// The one object the client asked about, or every object.
    object: Option<K>,
    sender: OutgoingSender,
}

/// Registrations keyed by an object's UUID (or, for node devices, its name).
pub struct ObjectEventRegistry<K = Uuid> {
    next_id: AtomicI32,
    registrations: Mutex<Vec<Registration<K>>>,
}

impl<K> Default for ObjectEventRegistry<K> {
    fn default() -> Self {
        ObjectEventRegistry {
            next_id: AtomicI32::new(0),
            registrations: Mutex::new(Vec::new()),
        }
    }
}

impl<K: PartialEq> ObjectEventRegistry<K> {
    pub fn register(
        &self,
        client_id: u64,
        event_id: i32,
        object: Option<K>,
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
            object,
            sender,
        });
        Ok(callback_id)
    }

    /// Removes one registration of this client; false when it has none with that ID.
    pub fn deregister(&self, client_id: u64, callback_id: i32) -> bool {
        let mut regs = self.lock();
        let before = regs.len();
        regs.retain(|r| !(r.client_id == client_id && r.callback_id == callback_id));
        regs.len() != before
    }

    pub fn forget_client(&self, client_id: u64) {
        self.lock().retain(|r| r.client_id != client_id);
    }

    /// Sends an event of `event_id` about `object` to every registration that
    /// covers it; `message` gives the procedure and body for a callback ID.
    pub fn send(&self, event_id: i32, object: K, mut message: impl FnMut(i32) -> (i32, Vec<u8>)) {
        for reg in self.lock().iter() {
            if reg.event_id != event_id || reg.object.as_ref().is_some_and(|u| *u != object) {
                continue;
            }
            let (proc_, body) = message(reg.callback_id);
            // Event messages carry serial 1, as libvirtd sends them.
            let header = Header {
                prog: REMOTE_PROGRAM,
                vers: PROTOCOL_VERSION,
                proc_,
                mtype: MessageType::Message as u32,
                serial: 1,
                status: 0,
            };
            let frame = protocol::frame::encode_message(&header, &body);
            let _ = reg.sender.send(Outgoing::Message(frame));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Registration<K>>> {
        self.registrations.lock().unwrap_or_else(|e| e.into_inner())
    }
}
