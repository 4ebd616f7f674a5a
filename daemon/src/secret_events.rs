//! Fan-out of secret events to the clients that registered for them
//! (`virConnectSecretEventRegisterAny`): lifecycle (defined, undefined) and
//! value-changed. Callback IDs are daemon-wide counters, as for domain events;
//! registrations are capped per client and dropped when the client leaves.

use drivers::api::{SecretEvent, SecretEventKind, Uuid};
use protocol::programs::remote_proc;
use protocol::remote::{NonnullSecret, SecretEventLifecycleMsg, SecretEventValueChangedMsg};
use protocol::xdr::Xdr;

pub use crate::events::{TooManyCallbacks, MAX_CALLBACKS_PER_CLIENT};
use crate::object_events::ObjectEventRegistry;
use crate::server::client::OutgoingSender;

/// `VIR_SECRET_EVENT_ID_LIFECYCLE` and `VIR_SECRET_EVENT_ID_VALUE_CHANGED`.
pub const SECRET_EVENT_ID_LIFECYCLE: i32 = 0;
pub const SECRET_EVENT_ID_VALUE_CHANGED: i32 = 1;
pub const SECRET_EVENT_ID_LAST: i32 = 2;

#[derive(Default)]
pub struct SecretEventHub {
    registry: ObjectEventRegistry,
}

impl SecretEventHub {
    pub fn register(
        &self,
        client_id: u64,
        event_id: i32,
        secret: Option<Uuid>,
        sender: OutgoingSender,
    ) -> Result<i32, TooManyCallbacks> {
        self.registry.register(client_id, event_id, secret, sender)
    }

    /// Removes one registration of this client; false when it has none with that ID.
    pub fn deregister(&self, client_id: u64, callback_id: i32) -> bool {
        self.registry.deregister(client_id, callback_id)
    }

    pub fn forget_client(&self, client_id: u64) {
        self.registry.forget_client(client_id);
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
        self.registry
            .send(wanted, event.secret.uuid, |callback_id| {
                let mut body = Vec::with_capacity(64);
                let proc_ = match event.kind {
                    SecretEventKind::Lifecycle { event, detail } => {
                        SecretEventLifecycleMsg {
                            callback_id,
                            secret: secret.clone(),
                            event,
                            detail,
                        }
                        .encode(&mut body);
                        remote_proc::SECRET_EVENT_LIFECYCLE
                    }
                    SecretEventKind::ValueChanged => {
                        SecretEventValueChangedMsg {
                            callback_id,
                            secret: secret.clone(),
                        }
                        .encode(&mut body);
                        remote_proc::SECRET_EVENT_VALUE_CHANGED
                    }
                };
                (proc_, body)
            });
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
