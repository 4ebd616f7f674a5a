//! The state of virtio channels as QEMU reports it (`VSERPORT_CHANGE`): the live
//! XML's `<target state='connected'/>` and, for the agent's channel, libvirt's
//! agent lifecycle events.

use serde_json::Value;

use super::AGENT_PORT;
use crate::api::{DomainEvent, DomainEventKind};
use crate::domain_xml::DomainDef;
use crate::qemu::state::DomainObj;

/// `VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_*` and the channel reason.
const AGENT_CONNECTED: i32 = 1;
const AGENT_DISCONNECTED: i32 = 2;
const REASON_CHANNEL: i32 = 2;

fn is_virtio_channel(device: &crate::domain_xml::Element) -> bool {
    device.name == "channel"
        && device
            .child("target")
            .is_none_or(|t| t.attr("type").unwrap_or("virtio") == "virtio")
}

/// Before a start: every virtio channel is closed until the guest opens it.
pub fn mark_disconnected(def: &mut DomainDef) {
    for channel in def.devices.iter_mut().filter(|d| is_virtio_channel(d)) {
        if let Some(target) = channel.child_mut("target") {
            target.set_attr("state", "disconnected");
        }
    }
}

/// Reads every channel's state from QEMU (`query-chardev`, `frontend-open` of
/// `charchannelN`), for a guest the daemon re-attached to.
pub fn refresh(def: &mut DomainDef, monitor: &crate::qemu::qmp::Monitor) {
    let Ok(chardevs) = monitor.execute("query-chardev", None) else {
        return;
    };
    let Some(chardevs) = chardevs.as_array() else {
        return;
    };
    for (index, channel) in def
        .devices
        .iter_mut()
        .filter(|d| d.name == "channel")
        .enumerate()
    {
        let label = format!("charchannel{index}");
        let open = chardevs
            .iter()
            .find(|c| c.get("label").and_then(Value::as_str) == Some(label.as_str()))
            .and_then(|c| c.get("frontend-open"))
            .and_then(Value::as_bool);
        if let (Some(open), Some(target)) = (open, channel.child_mut("target")) {
            target.set_attr("state", if open { "connected" } else { "disconnected" });
        }
    }
}

/// Applies a `VSERPORT_CHANGE` (`{"id": "channel0", "open": true}`) to the live
/// definition. Returns whether the state changed and, for the agent's port, the
/// event to emit.
pub fn port_changed(obj: &mut DomainObj, data: &Value) -> (bool, Option<DomainEvent>) {
    let (Some(id), Some(open)) = (
        data.get("id").and_then(Value::as_str),
        data.get("open").and_then(Value::as_bool),
    ) else {
        return (false, None);
    };
    let Some(index) = id
        .strip_prefix("channel")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return (false, None);
    };
    let Some(channel) = obj
        .def
        .devices
        .iter_mut()
        .filter(|d| d.name == "channel")
        .nth(index)
    else {
        return (false, None);
    };
    let Some(target) = channel.child_mut("target") else {
        return (false, None);
    };
    let wanted = if open { "connected" } else { "disconnected" };
    if target.attr("state") == Some(wanted) {
        return (false, None);
    }
    target.set_attr("state", wanted);
    let event = (target.attr("name") == Some(AGENT_PORT)).then(|| DomainEvent {
        domain: obj.handle(),
        kind: DomainEventKind::AgentLifecycle {
            state: if open {
                AGENT_CONNECTED
            } else {
                AGENT_DISCONNECTED
            },
            reason: REASON_CHANNEL,
        },
    });
    (true, event)
}
