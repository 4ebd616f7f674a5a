//! Fan-out of driver events to the clients that registered for them.
//!
//! Callback IDs are daemon-wide counters, as in libvirtd: clients route event
//! messages by the ID they were given, so every registration gets a new one.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use drivers::api::{DomainEvent, DomainEventKind, Uuid};
use protocol::header::{Header, MessageType};
use protocol::programs::{remote_proc, PROTOCOL_VERSION, REMOTE_PROGRAM};
use protocol::remote::NonnullDomain;
use protocol::typed_param::{TypedParam, TypedParamValue};
use protocol::xdr::Xdr;

use crate::server::client::{Outgoing, OutgoingSender};

/// Domain event IDs libvirt 9.0 knows (0 LIFECYCLE .. 26 MEMORY_DEVICE_SIZE_CHANGE).
pub const DOMAIN_EVENT_ID_LAST: i32 = 27;
pub const EVENT_ID_LIFECYCLE: i32 = 0;
pub const EVENT_ID_REBOOT: i32 = 1;
pub const EVENT_ID_GRAPHICS: i32 = 5;
pub const EVENT_ID_PMWAKEUP: i32 = 11;
pub const EVENT_ID_PMSUSPEND: i32 = 12;
pub const EVENT_ID_PMSUSPEND_DISK: i32 = 14;
pub const EVENT_ID_DEVICE_REMOVED: i32 = 15;
pub const EVENT_ID_BLOCK_JOB: i32 = 8;
pub const EVENT_ID_BLOCK_JOB_2: i32 = 16;
pub const EVENT_ID_AGENT_LIFECYCLE: i32 = 18;
pub const EVENT_ID_DEVICE_REMOVAL_FAILED: i32 = 22;
pub const EVENT_ID_METADATA_CHANGE: i32 = 23;
pub const EVENT_ID_BLOCK_THRESHOLD: i32 = 24;
pub const EVENT_ID_MIGRATION_ITERATION: i32 = 20;
pub const EVENT_ID_JOB_COMPLETED: i32 = 21;

/// Event callbacks one client may hold at once. libvirtd 9.0 has no such
/// bound: each registration costs the daemon memory and every event a
/// message per registration, so a client could grow both without limit.
pub const MAX_CALLBACKS_PER_CLIENT: usize = 1024;

/// A registration refused because the client holds
/// [`MAX_CALLBACKS_PER_CLIENT`] already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many event callbacks registered by this client (at most {MAX_CALLBACKS_PER_CLIENT})")]
pub struct TooManyCallbacks;

/// How the client asked: modern callback registrations carry the callback ID
/// in each message; legacy ones (feature 14 off) do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Callback,
    Legacy,
}

struct Registration {
    callback_id: i32,
    client_id: u64,
    scheme: &'static str,
    event_id: i32,
    domain: Option<Uuid>,
    style: Style,
    sender: OutgoingSender,
}

#[derive(Default)]
pub struct EventHub {
    next_id: AtomicI32,
    registrations: Mutex<Vec<Registration>>,
    /// `qemu-monitor-event` registrations (the QEMU program's own events).
    pub monitor: crate::monitor_events::MonitorEventHub,
}

impl EventHub {
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        &self,
        client_id: u64,
        scheme: &'static str,
        event_id: i32,
        domain: Option<Uuid>,
        style: Style,
        sender: OutgoingSender,
    ) -> Result<i32, TooManyCallbacks> {
        let mut regs = self.lock();
        let held = regs.iter().filter(|r| r.client_id == client_id).count();
        if held >= MAX_CALLBACKS_PER_CLIENT {
            return Err(TooManyCallbacks);
        }
        let callback_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        regs.push(Registration {
            callback_id,
            client_id,
            scheme,
            event_id,
            domain,
            style,
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

    /// Removes a legacy registration by event ID (legacy deregistration names no callback).
    pub fn deregister_legacy(&self, client_id: u64, event_id: i32) -> bool {
        let mut regs = self.lock();
        if let Some(pos) = regs.iter().position(|r| {
            r.client_id == client_id && r.style == Style::Legacy && r.event_id == event_id
        }) {
            regs.remove(pos);
            true
        } else {
            false
        }
    }

    pub fn has_legacy(&self, client_id: u64, event_id: i32) -> bool {
        self.lock()
            .iter()
            .any(|r| r.client_id == client_id && r.style == Style::Legacy && r.event_id == event_id)
    }

    pub fn forget_client(&self, client_id: u64) {
        self.lock().retain(|r| r.client_id != client_id);
        self.monitor.forget_client(client_id);
    }

    /// Sends `event` from the driver serving `scheme` to every matching registration.
    pub fn publish(&self, scheme: &str, event: &DomainEvent) {
        let event_id = match event.kind {
            DomainEventKind::QemuMonitor {
                event: ref name,
                seconds,
                micros,
                ref details,
            } => {
                self.monitor.publish(&crate::monitor_events::MonitorEvent {
                    domain: &event.domain,
                    event: name,
                    seconds,
                    micros,
                    details: details.as_deref(),
                });
                return;
            }
            DomainEventKind::Graphics { .. } => EVENT_ID_GRAPHICS,
            DomainEventKind::Lifecycle { .. } => EVENT_ID_LIFECYCLE,
            DomainEventKind::Reboot => EVENT_ID_REBOOT,
            DomainEventKind::PmWakeup { .. } => EVENT_ID_PMWAKEUP,
            DomainEventKind::PmSuspend { to_disk: false, .. } => EVENT_ID_PMSUSPEND,
            DomainEventKind::PmSuspend { to_disk: true, .. } => EVENT_ID_PMSUSPEND_DISK,
            DomainEventKind::AgentLifecycle { .. } => EVENT_ID_AGENT_LIFECYCLE,
            DomainEventKind::DeviceRemoved { .. } => EVENT_ID_DEVICE_REMOVED,
            DomainEventKind::DeviceRemovalFailed { .. } => EVENT_ID_DEVICE_REMOVAL_FAILED,
            DomainEventKind::MetadataChange { .. } => EVENT_ID_METADATA_CHANGE,
            DomainEventKind::BlockJob { v2: false, .. } => EVENT_ID_BLOCK_JOB,
            DomainEventKind::BlockJob { v2: true, .. } => EVENT_ID_BLOCK_JOB_2,
            DomainEventKind::BlockThreshold { .. } => EVENT_ID_BLOCK_THRESHOLD,
            DomainEventKind::MigrationIteration { .. } => EVENT_ID_MIGRATION_ITERATION,
            DomainEventKind::JobCompleted { .. } => EVENT_ID_JOB_COMPLETED,
        };
        let regs = self.lock();
        for reg in regs.iter() {
            if reg.scheme != scheme || reg.event_id != event_id {
                continue;
            }
            if reg.domain.is_some_and(|uuid| uuid != event.domain.uuid) {
                continue;
            }
            if let Some(message) = encode_event(reg.style, reg.callback_id, event) {
                let _ = reg.sender.send(Outgoing::Message(message));
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Registration>> {
        self.registrations.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The message of `event` for one registration; `None` for events that only exist in
/// the callback style (libvirt has no legacy message for them).
fn encode_event(style: Style, callback_id: i32, event: &DomainEvent) -> Option<Vec<u8>> {
    let dom = NonnullDomain {
        name: event.domain.name.clone(),
        uuid: event.domain.uuid,
        id: event.domain.id,
    };
    let mut body = Vec::with_capacity(64);
    let proc_ = match (style, &event.kind) {
        (Style::Callback, DomainEventKind::Lifecycle { event, detail }) => {
            callback_id.encode(&mut body);
            dom.encode(&mut body);
            event.encode(&mut body);
            detail.encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_LIFECYCLE
        }
        (Style::Legacy, DomainEventKind::Lifecycle { event, detail }) => {
            dom.encode(&mut body);
            event.encode(&mut body);
            detail.encode(&mut body);
            remote_proc::DOMAIN_EVENT_LIFECYCLE
        }
        (Style::Callback, DomainEventKind::Reboot) => {
            callback_id.encode(&mut body);
            dom.encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_REBOOT
        }
        (Style::Legacy, DomainEventKind::Reboot) => {
            dom.encode(&mut body);
            remote_proc::DOMAIN_EVENT_REBOOT
        }
        // The callback messages carry the reason before the domain.
        (Style::Callback, DomainEventKind::PmWakeup { reason }) => {
            callback_id.encode(&mut body);
            reason.encode(&mut body);
            dom.encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_PMWAKEUP
        }
        (Style::Legacy, DomainEventKind::PmWakeup { .. }) => {
            dom.encode(&mut body);
            remote_proc::DOMAIN_EVENT_PMWAKEUP
        }
        (Style::Callback, DomainEventKind::PmSuspend { to_disk, reason }) => {
            callback_id.encode(&mut body);
            reason.encode(&mut body);
            dom.encode(&mut body);
            if *to_disk {
                remote_proc::DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK
            } else {
                remote_proc::DOMAIN_EVENT_CALLBACK_PMSUSPEND
            }
        }
        (Style::Legacy, DomainEventKind::PmSuspend { to_disk, .. }) => {
            dom.encode(&mut body);
            if *to_disk {
                remote_proc::DOMAIN_EVENT_PMSUSPEND_DISK
            } else {
                remote_proc::DOMAIN_EVENT_PMSUSPEND
            }
        }
        (Style::Callback, DomainEventKind::DeviceRemoved { alias }) => {
            callback_id.encode(&mut body);
            dom.encode(&mut body);
            alias.encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED
        }
        (Style::Legacy, DomainEventKind::DeviceRemoved { alias }) => {
            dom.encode(&mut body);
            alias.encode(&mut body);
            remote_proc::DOMAIN_EVENT_DEVICE_REMOVED
        }
        // libvirt has no legacy message for this one: only callback registrations
        // (the only kind that can ask for it) receive it.
        (_, DomainEventKind::DeviceRemovalFailed { alias }) => {
            callback_id.encode(&mut body);
            dom.encode(&mut body);
            alias.encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED
        }
        (Style::Callback, DomainEventKind::MetadataChange { kind, nsuri }) => {
            callback_id.encode(&mut body);
            dom.encode(&mut body);
            kind.encode(&mut body);
            nsuri.encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_METADATA_CHANGE
        }
        (Style::Legacy, DomainEventKind::MetadataChange { .. }) => return None,
        (Style::Callback, DomainEventKind::AgentLifecycle { state, reason }) => {
            callback_id.encode(&mut body);
            dom.encode(&mut body);
            state.encode(&mut body);
            reason.encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE
        }
        (Style::Legacy, DomainEventKind::AgentLifecycle { .. }) => return None,
        (
            Style::Callback,
            DomainEventKind::BlockJob {
                disk,
                kind,
                status,
                v2,
            },
        ) => {
            callback_id.encode(&mut body);
            dom.encode(&mut body);
            disk.encode(&mut body);
            kind.encode(&mut body);
            status.encode(&mut body);
            if *v2 {
                remote_proc::DOMAIN_EVENT_BLOCK_JOB_2
            } else {
                remote_proc::DOMAIN_EVENT_CALLBACK_BLOCK_JOB
            }
        }
        (
            Style::Callback,
            DomainEventKind::JobCompleted {
                operation,
                elapsed_ms,
                total,
                processed,
                success,
            },
        ) => {
            let params = vec![
                TypedParam::new("operation", TypedParamValue::Int(*operation)),
                TypedParam::new("time_elapsed", TypedParamValue::ULLong(*elapsed_ms)),
                TypedParam::new("disk_total", TypedParamValue::ULLong(*total)),
                TypedParam::new("disk_processed", TypedParamValue::ULLong(*processed)),
                TypedParam::new(
                    "disk_remaining",
                    TypedParamValue::ULLong(total.saturating_sub(*processed)),
                ),
                TypedParam::new("success", TypedParamValue::Boolean(i32::from(*success))),
            ];
            protocol::remote::DomainEventCallbackJobCompletedMsg {
                callback_id,
                dom,
                params,
            }
            .encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_JOB_COMPLETED
        }
        (Style::Legacy, DomainEventKind::JobCompleted { .. }) => return None,
        (
            Style::Callback,
            DomainEventKind::Graphics {
                phase,
                local,
                remote,
                auth_scheme,
                subject,
            },
        ) => {
            use protocol::remote::{
                DomainEventCallbackGraphicsMsg, DomainEventGraphicsAddress as Address,
                DomainEventGraphicsIdentity, DomainEventGraphicsMsg,
            };
            let address = |a: &drivers::api::GraphicsAddress| Address {
                family: a.family,
                node: a.node.clone(),
                service: a.service.clone(),
            };
            DomainEventCallbackGraphicsMsg {
                callback_id,
                msg: DomainEventGraphicsMsg {
                    dom,
                    phase: *phase,
                    local: address(local),
                    remote: address(remote),
                    auth_scheme: auth_scheme.clone(),
                    // libvirt's limit on identities; QEMU reports at most two.
                    subject: subject
                        .iter()
                        .take(protocol::remote::limits::DOMAIN_EVENT_GRAPHICS_IDENTITY_MAX)
                        .map(|(kind, name)| DomainEventGraphicsIdentity {
                            kind: kind.clone(),
                            name: name.clone(),
                        })
                        .collect(),
                },
            }
            .encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_GRAPHICS
        }
        // Legacy registrations get the callback forms' older siblings only for the
        // events listed above; the monitor pass-through has its own program.
        (Style::Legacy, DomainEventKind::Graphics { .. })
        | (_, DomainEventKind::QemuMonitor { .. }) => return None,
        (Style::Legacy, DomainEventKind::BlockJob { v2: true, .. }) => return None,
        // Callback registrations only, as in libvirt.
        (_, DomainEventKind::MigrationIteration { iteration }) => {
            callback_id.encode(&mut body);
            dom.encode(&mut body);
            iteration.encode(&mut body);
            remote_proc::DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION
        }
        (
            Style::Callback,
            DomainEventKind::BlockThreshold {
                dev,
                path,
                threshold,
                excess,
            },
        ) => {
            callback_id.encode(&mut body);
            dom.encode(&mut body);
            dev.encode(&mut body);
            path.encode(&mut body);
            threshold.encode(&mut body);
            excess.encode(&mut body);
            remote_proc::DOMAIN_EVENT_BLOCK_THRESHOLD
        }
        (Style::Legacy, DomainEventKind::BlockThreshold { .. }) => return None,
        (
            Style::Legacy,
            DomainEventKind::BlockJob {
                disk, kind, status, ..
            },
        ) => {
            dom.encode(&mut body);
            disk.encode(&mut body);
            kind.encode(&mut body);
            status.encode(&mut body);
            remote_proc::DOMAIN_EVENT_BLOCK_JOB
        }
    };
    // Event messages carry serial 1, as libvirtd sends them.
    let header = Header {
        prog: REMOTE_PROGRAM,
        vers: PROTOCOL_VERSION,
        proc_,
        mtype: MessageType::Message as u32,
        serial: 1,
        status: 0,
    };
    Some(protocol::frame::encode_message(&header, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(hub: &EventHub, client: u64) -> Result<i32, TooManyCallbacks> {
        hub.register(
            client,
            "test",
            EVENT_ID_LIFECYCLE,
            None,
            Style::Callback,
            OutgoingSender::detached(),
        )
    }

    #[test]
    fn a_client_holds_at_most_the_cap_and_others_are_unaffected() {
        let hub = EventHub::default();
        let ids: Vec<i32> = (0..MAX_CALLBACKS_PER_CLIENT)
            .map(|_| register(&hub, 1).expect("under the cap"))
            .collect();
        assert_eq!(register(&hub, 1), Err(TooManyCallbacks));
        assert!(register(&hub, 2).is_ok(), "the cap is per client");
        assert!(hub.deregister(1, ids[0]));
        assert!(register(&hub, 1).is_ok(), "a freed slot can be reused");
        assert_eq!(register(&hub, 1), Err(TooManyCallbacks));
        hub.forget_client(1);
        assert!(register(&hub, 1).is_ok());
    }

    /// The procedure number and the body after the callback id (if any) and the
    /// domain: the alias string of the device events.
    fn procedure_and_tail(message: &[u8], style: Style) -> (i32, Vec<u8>) {
        let raw: &[u8; 24] = message[4..28].try_into().expect("24 header bytes");
        let header = Header::decode(raw);
        let mut body = &message[28..];
        if style == Style::Callback {
            body = &body[4..];
        }
        let mut dom = Vec::new();
        NonnullDomain {
            name: "d".into(),
            uuid: [1; 16],
            id: 3,
        }
        .encode(&mut dom);
        assert!(body.starts_with(&dom), "domain first");
        (header.proc_, body[dom.len()..].to_vec())
    }

    #[test]
    fn agent_lifecycle_events_exist_only_for_callbacks() {
        let event = DomainEvent {
            domain: drivers::api::DomainHandle {
                name: "d".into(),
                uuid: [1; 16],
                id: 3,
            },
            kind: DomainEventKind::AgentLifecycle {
                state: 1,
                reason: 2,
            },
        };
        let mut tail = Vec::new();
        1i32.encode(&mut tail);
        2i32.encode(&mut tail);
        assert_eq!(
            procedure_and_tail(
                &encode_event(Style::Callback, 7, &event).expect("message"),
                Style::Callback
            ),
            (remote_proc::DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE, tail)
        );
        assert!(encode_event(Style::Legacy, 0, &event).is_none());
    }

    #[test]
    fn block_job_events_name_the_path_or_the_target() {
        let event = |disk: &str, v2| DomainEvent {
            domain: drivers::api::DomainHandle {
                name: "d".into(),
                uuid: [1; 16],
                id: 3,
            },
            kind: DomainEventKind::BlockJob {
                disk: disk.into(),
                kind: 4,
                status: 3,
                v2,
            },
        };
        let tail = |disk: &str| {
            let mut out = Vec::new();
            disk.to_string().encode(&mut out);
            4i32.encode(&mut out);
            3i32.encode(&mut out);
            out
        };
        let v1 = event("/i/a.qcow2", false);
        let v2 = event("vda", true);
        assert_eq!(
            procedure_and_tail(
                &encode_event(Style::Callback, 7, &v1).expect("message"),
                Style::Callback
            ),
            (
                remote_proc::DOMAIN_EVENT_CALLBACK_BLOCK_JOB,
                tail("/i/a.qcow2")
            )
        );
        assert_eq!(
            procedure_and_tail(
                &encode_event(Style::Legacy, 7, &v1).expect("message"),
                Style::Legacy
            ),
            (remote_proc::DOMAIN_EVENT_BLOCK_JOB, tail("/i/a.qcow2"))
        );
        assert_eq!(
            procedure_and_tail(
                &encode_event(Style::Callback, 7, &v2).expect("message"),
                Style::Callback
            ),
            (remote_proc::DOMAIN_EVENT_BLOCK_JOB_2, tail("vda"))
        );
        assert!(
            encode_event(Style::Legacy, 7, &v2).is_none(),
            "no legacy BLOCK_JOB_2"
        );
    }

    #[test]
    fn graphics_events_are_callback_messages_with_both_ends_and_the_subject() {
        let end = |service: &str| drivers::api::GraphicsAddress {
            family: 0,
            node: "127.0.0.1".into(),
            service: service.into(),
        };
        let event = DomainEvent {
            domain: drivers::api::DomainHandle {
                name: "d".into(),
                uuid: [1; 16],
                id: 3,
            },
            kind: DomainEventKind::Graphics {
                phase: 1,
                local: end("5900"),
                remote: end("40000"),
                auth_scheme: "none".into(),
                subject: vec![("x509dname".into(), "CN=c".into())],
            },
        };
        let message = encode_event(Style::Callback, 7, &event).expect("a message");
        let raw: &[u8; 24] = message[4..28].try_into().expect("24 header bytes");
        assert_eq!(
            Header::decode(raw).proc_,
            remote_proc::DOMAIN_EVENT_CALLBACK_GRAPHICS
        );
        let msg: protocol::remote::DomainEventCallbackGraphicsMsg =
            protocol::xdr::from_bytes_exact(&message[28..]).expect("decodes as libvirt's message");
        assert_eq!((msg.callback_id, msg.msg.phase), (7, 1));
        assert_eq!(msg.msg.remote.service, "40000");
        assert_eq!(msg.msg.subject[0].name, "CN=c");
        assert!(encode_event(Style::Legacy, 7, &event).is_none());
    }

    #[test]
    fn block_threshold_event_carries_target_path_threshold_and_excess() {
        let event = DomainEvent {
            domain: drivers::api::DomainHandle {
                name: "d".into(),
                uuid: [1; 16],
                id: 3,
            },
            kind: DomainEventKind::BlockThreshold {
                dev: "vda".into(),
                path: Some("/i/a.qcow2".into()),
                threshold: 1 << 20,
                excess: 4096,
            },
        };
        let mut tail = Vec::new();
        "vda".to_string().encode(&mut tail);
        Some("/i/a.qcow2".to_string()).encode(&mut tail);
        (1u64 << 20).encode(&mut tail);
        4096u64.encode(&mut tail);
        assert_eq!(
            procedure_and_tail(
                &encode_event(Style::Callback, 7, &event).expect("message"),
                Style::Callback
            ),
            (remote_proc::DOMAIN_EVENT_BLOCK_THRESHOLD, tail)
        );
        assert!(encode_event(Style::Legacy, 7, &event).is_none());
    }

    #[test]
    fn device_events_carry_the_alias_in_libvirts_messages() {
        let event = |kind| DomainEvent {
            domain: drivers::api::DomainHandle {
                name: "d".into(),
                uuid: [1; 16],
                id: 3,
            },
            kind,
        };
        let mut alias = Vec::new();
        "virtio-disk1".to_string().encode(&mut alias);
        let removed = event(DomainEventKind::DeviceRemoved {
            alias: "virtio-disk1".into(),
        });
        assert_eq!(
            procedure_and_tail(
                &encode_event(Style::Callback, 7, &removed).expect("an event message"),
                Style::Callback
            ),
            (
                remote_proc::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED,
                alias.clone()
            )
        );
        assert_eq!(
            procedure_and_tail(
                &encode_event(Style::Legacy, 7, &removed).expect("an event message"),
                Style::Legacy
            ),
            (remote_proc::DOMAIN_EVENT_DEVICE_REMOVED, alias.clone())
        );
        let failed = event(DomainEventKind::DeviceRemovalFailed {
            alias: "virtio-disk1".into(),
        });
        assert_eq!(
            procedure_and_tail(
                &encode_event(Style::Callback, 7, &failed).expect("an event message"),
                Style::Callback
            ),
            (
                remote_proc::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED,
                alias
            )
        );
    }
}
