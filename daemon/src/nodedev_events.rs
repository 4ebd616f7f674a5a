//! Fan-out of node device events to the clients that registered for them
//! (`virConnectNodeDeviceEventRegisterAny`): lifecycle (created, deleted) and
//! update. Registrations name a device by its name; they are capped per client
//! and dropped when the client leaves.

use drivers::api::{NodeDeviceEvent, NodeDeviceEventKind};
use protocol::programs::remote_proc;
use protocol::remote::{NodeDeviceEventLifecycleMsg, NodeDeviceEventUpdateMsg, NonnullNodeDevice};
use protocol::xdr::Xdr;

pub use crate::events::TooManyCallbacks;
use crate::object_events::ObjectEventRegistry;
use crate::server::client::OutgoingSender;

/// `VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE` and `VIR_NODE_DEVICE_EVENT_ID_UPDATE`.
pub const NODE_DEVICE_EVENT_ID_LIFECYCLE: i32 = 0;
pub const NODE_DEVICE_EVENT_ID_UPDATE: i32 = 1;
pub const NODE_DEVICE_EVENT_ID_LAST: i32 = 2;

#[derive(Default)]
pub struct NodeDeviceEventHub {
    registry: ObjectEventRegistry<String>,
}

impl NodeDeviceEventHub {
    pub fn register(
        &self,
        client_id: u64,
        event_id: i32,
        device: Option<String>,
        sender: OutgoingSender,
    ) -> Result<i32, TooManyCallbacks> {
        self.registry.register(client_id, event_id, device, sender)
    }

    /// Removes one registration of this client; false when it has none with that ID.
    pub fn deregister(&self, client_id: u64, callback_id: i32) -> bool {
        self.registry.deregister(client_id, callback_id)
    }

    pub fn forget_client(&self, client_id: u64) {
        self.registry.forget_client(client_id);
    }

    /// Sends `event` to every registration for its kind that covers its device.
    pub fn publish(&self, event: &NodeDeviceEvent) {
        let wanted = match event.kind {
            NodeDeviceEventKind::Lifecycle { .. } => NODE_DEVICE_EVENT_ID_LIFECYCLE,
            NodeDeviceEventKind::Update => NODE_DEVICE_EVENT_ID_UPDATE,
        };
        let dev = NonnullNodeDevice {
            name: event.name.clone(),
        };
        self.registry
            .send(wanted, event.name.clone(), |callback_id| {
                let mut body = Vec::with_capacity(64);
                let proc_ = match event.kind {
                    NodeDeviceEventKind::Lifecycle { event, detail } => {
                        NodeDeviceEventLifecycleMsg {
                            callback_id,
                            dev: dev.clone(),
                            event,
                            detail,
                        }
                        .encode(&mut body);
                        remote_proc::NODE_DEVICE_EVENT_LIFECYCLE
                    }
                    NodeDeviceEventKind::Update => {
                        NodeDeviceEventUpdateMsg {
                            callback_id,
                            dev: dev.clone(),
                        }
                        .encode(&mut body);
                        remote_proc::NODE_DEVICE_EVENT_UPDATE
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
    fn registrations_follow_their_client() {
        let hub = NodeDeviceEventHub::default();
        let id = hub
            .register(1, 0, Some("net_a".into()), OutgoingSender::detached())
            .expect("registered");
        hub.publish(&NodeDeviceEvent {
            name: "net_a".into(),
            kind: NodeDeviceEventKind::Update,
        });
        assert!(hub.deregister(1, id));
        assert!(!hub.deregister(1, id));
    }
}
