//! The checks shared by the event (de)registrations of the secondary drivers
//! (network, storage pool, secret, node device), with libvirtd's error texts.

use std::fmt::Display;

use protocol::error::RemoteError;

use crate::dispatch::reply::{rpc_internal, rpc_operation_failed};

/// Refuses an event ID outside `0..last` ("unsupported <kind> event ID"), then
/// runs `register`, whose refusal (too many callbacks) is an "operation failed".
pub(super) fn checked_register<E: Display>(
    kind: &str,
    event_id: i32,
    last: i32,
    register: impl FnOnce() -> Result<i32, E>,
) -> Result<i32, RemoteError> {
    if !(0..last).contains(&event_id) {
        return Err(rpc_internal(&format!(
            "unsupported {kind} event ID {event_id}"
        )));
    }
    register().map_err(|e| rpc_operation_failed(&e))
}

/// The reply to a deregistration: `removed` false is "<kind> event callback N not registered".
pub(super) fn checked_deregister(
    kind: &str,
    callback_id: i32,
    removed: bool,
) -> Result<(), RemoteError> {
    if removed {
        Ok(())
    } else {
        Err(rpc_internal(&format!(
            "{kind} event callback {callback_id} not registered"
        )))
    }
}
