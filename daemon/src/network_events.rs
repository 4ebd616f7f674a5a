//! Fan-out of network lifecycle events to the clients that registered for them
//! (`virConnectNetworkEventRegisterAny`). Network events only exist in the callback
//! style; callback IDs are daemon-wide counters, as for domain events.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use drivers::api::{NetworkEvent, Uuid};
use protocol::header::{Header, MessageType};
use protocol::programs::{remote_proc, PROTOCOL_VERSION, REMOTE_PROGRAM};
use protocol::remote::{NetworkEventLifecycleMsg, NonnullNetwork};
use protocol::xdr::Xdr;

pub use crate::events::{TooManyCallbacks, MAX_CALLBACKS_PER_CLIENT};
use crate::server::client::{Outgoing, OutgoingSender};

/// `VIR_NETWORK_EVENT_ID_LIFECYCLE`, the only network event of libvirt 9.0.
pub const NETWORK_EVENT_ID_LIFECYCLE: i32 = 0;
pub const NETWORK_EVENT_ID_LAST: i32 = 1;

struct Registration {
    callback_id: i32,
    client_id: u64,
    network: Option<Uuid>,
    sender: OutgoingSender,
}

#[derive(Default)]
pub struct NetworkEventHub {
    next_id: AtomicI32,
    registrations: Mutex<Vec<Registration>>,
}

impl NetworkEventHub {
    pub fn register(
        &self,
        client_id: u64,
        network: Option<Uuid>,
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
            network,
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

    /// Sends `event` to every registration that covers its network.
    pub fn publish(&self, event: &NetworkEvent) {
        let regs = self.lock();
        for reg in regs.iter() {
            if reg.network.is_some_and(|u| u != event.network.uuid) {
                continue;
            }
            let msg = NetworkEventLifecycleMsg {
                callback_id: reg.callback_id,
                net: NonnullNetwork {
                    name: event.network.name.clone(),
                    uuid: event.network.uuid,
                },
                event: event.event,
                detail: event.detail,
            };
            let mut body = Vec::with_capacity(64);
            msg.encode(&mut body);
            let header = Header {
                prog: REMOTE_PROGRAM,
                vers: PROTOCOL_VERSION,
                proc_: remote_proc::NETWORK_EVENT_LIFECYCLE,
                mtype: MessageType::Message as u32,
                serial: 1,
                status: 0,
            };
            let _ = reg
                .sender
                .send(Outgoing::Message(protocol::frame::encode_message(
                    &header, &body,
                )));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Registration>> {
        self.registrations.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_capped_per_client_and_forgotten_at_disconnect() {
        let hub = NetworkEventHub::default();
        for _ in 0..MAX_CALLBACKS_PER_CLIENT {
            hub.register(1, None, OutgoingSender::detached())
                .expect("under the cap");
        }
        assert!(hub.register(1, None, OutgoingSender::detached()).is_err());
        assert!(hub.register(2, None, OutgoingSender::detached()).is_ok());
        hub.forget_client(1);
        let id = hub
            .register(1, None, OutgoingSender::detached())
            .expect("freed");
        assert!(hub.deregister(1, id));
        assert!(!hub.deregister(1, id));
    }
}
