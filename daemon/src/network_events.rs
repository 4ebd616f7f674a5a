//! Fan-out of network lifecycle events to the clients that registered for them
//! (`virConnectNetworkEventRegisterAny`). Network events only exist in the callback
//! style; callback IDs are daemon-wide counters, as for domain events.

use drivers::api::{NetworkEvent, Uuid};
use protocol::programs::remote_proc;
use protocol::remote::{NetworkEventLifecycleMsg, NonnullNetwork};
use protocol::xdr::Xdr;

pub use crate::events::{TooManyCallbacks, MAX_CALLBACKS_PER_CLIENT};
use crate::object_events::ObjectEventRegistry;
use crate::server::client::OutgoingSender;

/// `VIR_NETWORK_EVENT_ID_LIFECYCLE`, the only network event of libvirt 9.0.
pub const NETWORK_EVENT_ID_LIFECYCLE: i32 = 0;
pub const NETWORK_EVENT_ID_LAST: i32 = 1;

#[derive(Default)]
pub struct NetworkEventHub {
    registry: ObjectEventRegistry,
}

impl NetworkEventHub {
    pub fn register(
        &self,
        client_id: u64,
        network: Option<Uuid>,
        sender: OutgoingSender,
    ) -> Result<i32, TooManyCallbacks> {
        self.registry
            .register(client_id, NETWORK_EVENT_ID_LIFECYCLE, network, sender)
    }

    /// Removes one registration of this client; false when it has none with that ID.
    pub fn deregister(&self, client_id: u64, callback_id: i32) -> bool {
        self.registry.deregister(client_id, callback_id)
    }

    pub fn forget_client(&self, client_id: u64) {
        self.registry.forget_client(client_id);
    }

    /// Sends `event` to every registration that covers its network.
    pub fn publish(&self, event: &NetworkEvent) {
        let net = NonnullNetwork {
            name: event.network.name.clone(),
            uuid: event.network.uuid,
        };
        self.registry.send(
            NETWORK_EVENT_ID_LIFECYCLE,
            event.network.uuid,
            |callback_id| {
                let mut body = Vec::with_capacity(64);
                NetworkEventLifecycleMsg {
                    callback_id,
                    net: net.clone(),
                    event: event.event,
                    detail: event.detail,
                }
                .encode(&mut body);
                (remote_proc::NETWORK_EVENT_LIFECYCLE, body)
            },
        );
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
