//! Fan-out of secret events to the clients that registered for them
//! (`virConnectSecretEventRegisterAny`): lifecycle (defined, undefined) and
//! value-changed. Callback IDs are daemon-wide counters, as for domain events;
//! registrations are capped per client and dropped when the client leaves.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use drivers::api::{SecretEvent, SecretEventKind, Uuid};
use protocol::header::{Header, MessageType};
use protocol::programs::{remote_proc, PROTOCOL_VERSION, REMOTE_PROGRAM};
use protocol::remote::{NonnullSecret, SecretEventLifecycleMsg, SecretEventValueChangedMsg};
use protocol::xdr::Xdr;

pub use crate::events::{TooManyCallbacks, MAX_CALLBACKS_PER_CLIENT};
use crate::server::client::{Outgoing, OutgoingSender};

/// `VIR_SECRET_EVENT_ID_LIFECYCLE` and `VIR_SECRET_EVENT_ID_VALUE_CHANGED`.
pub const SECRET_EVENT_ID_LIFECYCLE: i32 = 0;
pub const SECRET_EVENT_ID_VALUE_CHANGED: i32 = 1;
pub const SECRET_EVENT_ID_LAST: i32 = 2;

struct Registration {
    callback_id: i32,
    client_id: u64,
    event_id: i32,
    secret: Option<Uuid>,
    sender: OutgoingSender,
}

#[derive(Default)]
pub struct SecretEventHub {
    next_id: AtomicI32,
    registrations: Mutex<Vec<Registration>>,
}

impl SecretEventHub {
    pub fn register(
        &self,
        client_id: u64,
        event_id: i32,
        secret: Option<Uuid>,
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
            secret,
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

    /// Sends `event` to every registration for its kind that covers its secret.
    pub fn publish(&self, event: &SecretEvent) {
        let wanted = match event.kind {
            SecretEventKind::Lifecycle { .. } => SECRET_EVENT_ID_LIFECYCLE,
            SecretEventKind::ValueChanged => SECRET_EVENT_ID_VALUE_CHANGED,
        };
        let secret = NonnullSecret {
            uuid: event.secret.uuid,
            usage_type: event.secret.usage_type,
            usage_id: event.secret.usage_id.clone(),
        };
        let regs = self.lock();
        for reg in regs.iter() {
            if reg.event_id != wanted || reg.secret.is_some_and(|u| u != event.secret.uuid) {
                continue;
            }
            let mut body = Vec::with_capacity(64);
            let proc_ = match event.kind {
                SecretEventKind::Lifecycle { event, detail } => {
                    SecretEventLifecycleMsg {
                        callback_id: reg.callback_id,
                        secret: secret.clone(),
                        event,
                        detail,
                    }
                    .encode(&mut body);
                    remote_proc::SECRET_EVENT_LIFECYCLE
                }
                SecretEventKind::ValueChanged => {
                    SecretEventValueChangedMsg {
                        callback_id: reg.callback_id,
                        secret: secret.clone(),
                    }
                    .encode(&mut body);
                    remote_proc::SECRET_EVENT_VALUE_CHANGED
                }
            };
            let header = Header {
                prog: REMOTE_PROGRAM,
                vers: PROTOCOL_VERSION,
                proc_,
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
        let hub = SecretEventHub::default();
        for _ in 0..MAX_CALLBACKS_PER_CLIENT {
            hub.register(1, 0, None, OutgoingSender::detached())
                .expect("under the cap");
        }
        assert!(hub
            .register(1, 0, None, OutgoingSender::detached())
            .is_err());
        assert!(hub.register(2, 1, None, OutgoingSender::detached()).is_ok());
        hub.forget_client(1);
        let id = hub
            .register(1, 1, None, OutgoingSender::detached())
            .expect("freed");
        assert!(hub.deregister(1, id));
        assert!(!hub.deregister(1, id));
    }
}
