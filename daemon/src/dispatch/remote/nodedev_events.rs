//! Node device event registrations (`virConnectNodeDeviceEventRegisterAny`),
//! on connections that reach the node device driver.

use protocol::header::Header;
use protocol::remote::{
    ConnectNodeDeviceEventDeregisterAnyArgs, ConnectNodeDeviceEventRegisterAnyArgs,
    ConnectNodeDeviceEventRegisterAnyRet,
};

use super::object_events::{checked_deregister, checked_register};
use super::{inline, Action, Session};
use crate::context::Daemon;
use crate::nodedev_events::NODE_DEVICE_EVENT_ID_LAST;

pub fn register(
    daemon: &Daemon,
    s: &mut Session,
    h: &Header,
    a: ConnectNodeDeviceEventRegisterAnyArgs,
) -> Action {
    if let Err(refused) = super::nodedev::devices(s, h) {
        return refused;
    }
    let sender = s.sender();
    let client = s.info.id;
    inline(h, || {
        let last = NODE_DEVICE_EVENT_ID_LAST;
        let callback_id = checked_register("node device", a.event_id, last, || {
            let device = a.dev.map(|d| d.name);
            daemon
                .nodedev_events
                .register(client, a.event_id, device, sender)
        })?;
        Ok(ConnectNodeDeviceEventRegisterAnyRet { callback_id })
    })
}

pub fn deregister(
    daemon: &Daemon,
    s: &mut Session,
    h: &Header,
    a: ConnectNodeDeviceEventDeregisterAnyArgs,
) -> Action {
    let client = s.info.id;
    inline(h, || {
        let removed = daemon.nodedev_events.deregister(client, a.callback_id);
        checked_deregister("node device", a.callback_id, removed)
    })
}
