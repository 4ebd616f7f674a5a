//! Node device event registrations (`virConnectNodeDeviceEventRegisterAny`),
//! on connections that reach the node device driver.

use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::{
    ConnectNodeDeviceEventDeregisterAnyArgs, ConnectNodeDeviceEventRegisterAnyArgs,
    ConnectNodeDeviceEventRegisterAnyRet,
};

use super::{inline, Action, Session};
use crate::context::Daemon;
use crate::dispatch::reply::with_template;
use crate::nodedev_events::NODE_DEVICE_EVENT_ID_LAST;

fn internal(detail: &str) -> RemoteError {
    with_template(
        codes::INTERNAL_ERROR,
        domains::RPC,
        &format!("internal error: {detail}"),
        "internal error: %s",
        detail,
    )
}

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
        if !(0..NODE_DEVICE_EVENT_ID_LAST).contains(&a.event_id) {
            return Err(internal(&format!(
                "unsupported node device event ID {}",
                a.event_id
            )));
        }
        let callback_id = daemon
            .nodedev_events
            .register(client, a.event_id, a.dev.map(|d| d.name), sender)
            .map_err(|e| {
                with_template(
                    codes::OPERATION_FAILED,
                    domains::RPC,
                    &format!("operation failed: {e}"),
                    "operation failed: %s",
                    &e.to_string(),
                )
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
        if daemon.nodedev_events.deregister(client, a.callback_id) {
            Ok(())
        } else {
            Err(internal(&format!(
                "node device event callback {} not registered",
                a.callback_id
            )))
        }
    })
}
