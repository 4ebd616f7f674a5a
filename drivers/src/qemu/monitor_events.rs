//! QMP events -> domain state and libvirt lifecycle events.
//!
//! Runs on the monitor's reader thread, so it only takes the table lock briefly and
//! never issues monitor commands itself: follow-up commands (the reset of a fake reboot)
//! run on a thread of their own.

use std::sync::{Arc, Weak};

use serde_json::Value;

use super::qmp::{EventHandler, QmpEvent};
use super::Inner;
use crate::api::{event, reason, state, DomainEvent, DomainEventKind, Uuid};

/// The event callback for the monitor of run `token` of domain `uuid`.
pub fn handler(inner: Weak<Inner>, uuid: Uuid, token: u64) -> EventHandler {
    Box::new(move |ev| {
        let (Some(inner), Some(ev)) = (inner.upgrade(), ev) else {
            return;
        };
        handle(&inner, &uuid, token, &ev);
    })
}

/// What to do after the table lock is released.
enum FollowUp {
    None,
    /// Fake reboot: reset and resume the guest.
    ResetAndResume,
    /// `on_poweroff` destroy: ask QEMU to exit; the exit watcher records the stop.
    Terminate,
    /// A device left the guest: release what backed it (a NIC's netdev and tap).
    ReleaseBackend(crate::domain_xml::Element),
}

/// `VIR_DOMAIN_CRASHED_PANICKED` (state reason) and `VIR_DOMAIN_EVENT_CRASHED_PANICKED`.
const CRASHED_PANICKED: i32 = 1;
const CRASHED_EVENT_PANICKED: i32 = 0;

/// What `on_crash` asks for once the guest reported a panic. Core dumps are not taken:
/// the coredump-* actions behave like their plain counterparts.
#[derive(Debug, PartialEq, Eq)]
enum CrashResponse {
    Stop,
    Restart,
    Keep,
}

fn crash_response(on_crash: &str) -> CrashResponse {
    match on_crash {
        "restart" | "rename-restart" | "coredump-restart" => CrashResponse::Restart,
        "preserve" => CrashResponse::Keep,
        _ => CrashResponse::Stop,
    }
}

fn handle(inner: &Arc<Inner>, uuid: &Uuid, token: u64, ev: &QmpEvent) {
    let mut events: Vec<DomainEvent> = Vec::new();
    let mut follow_up = FollowUp::None;
    let mut persist = false;
    let (monitor, process) = {
        let mut st = inner.lock();
        let Some(index) = st.find_by_uuid(uuid) else {
            return;
        };
        let obj = &mut st.domains[index];
        let domain = obj.handle();
        let Some(run) = obj.run.as_mut() else {
            return;
        };
        if run.token != token {
            return;
        }
        // Every event reaches `qemu-monitor-event` clients, as in libvirt,
        // before (and whether or not) the driver acts on it.
        events.push(DomainEvent {
            domain,
            kind: DomainEventKind::QemuMonitor {
                event: ev.name.clone(),
                seconds: ev.seconds,
                micros: ev.micros,
                details: ev.details.clone(),
            },
        });
        if run.expected_stop.is_some() {
            drop(st);
            inner.emit(events);
            return;
        }
        let parts = (Arc::clone(&run.monitor), run.process.clone());
        match ev.name.as_str() {
            "SHUTDOWN" => {
                run.got_shutdown = true;
                // A reset under -no-reboot arrives as a SHUTDOWN: on_reboot applies.
                let reset = ev
                    .data
                    .get("reason")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.ends_with("reset"));
                let action = if reset {
                    &obj.def.on_reboot
                } else {
                    &obj.def.on_poweroff
                };
                let preserve = action == "preserve";
                let restart = run.fake_reboot || action == "restart";
                if restart {
                    // The flag stays (in the status file too) until the reset is
                    // done, so a daemon restarted in between still finishes it.
                    persist = run.fake_reboot;
                    follow_up = FollowUp::ResetAndResume;
                } else {
                    let guest = ev.data.get("guest").and_then(Value::as_bool);
                    let detail = match guest {
                        Some(true) => event::SHUTDOWN_GUEST,
                        Some(false) => event::SHUTDOWN_HOST,
                        None => event::SHUTDOWN_FINISHED,
                    };
                    if !preserve {
                        run.expected_stop =
                            Some((reason::SHUTOFF_SHUTDOWN, event::STOPPED_SHUTDOWN));
                        follow_up = FollowUp::Terminate;
                    }
                    obj.state = state::SHUTDOWN;
                    obj.reason = reason::SHUTDOWN_UNKNOWN;
                    events.push(obj.lifecycle_event(event::SHUTDOWN, detail));
                }
            }
            "STOP" if !run.got_shutdown && obj.state == state::RUNNING => {
                let migrating = run
                    .job
                    .as_ref()
                    .is_some_and(|job| job.operation() == crate::api::job_operation::MIGRATION_OUT);
                let (why, detail) = if migrating {
                    super::migration::postcopy::stop_reason(uuid)
                } else {
                    (reason::PAUSED_UNKNOWN, event::SUSPENDED_PAUSED)
                };
                obj.state = state::PAUSED;
                obj.reason = why;
                persist = migrating;
                events.push(obj.lifecycle_event(event::SUSPENDED, detail));
            }
            "MIGRATION_PASS" => {
                let pass = ev.data.get("pass").and_then(Value::as_i64).unwrap_or(0);
                events.push(DomainEvent {
                    domain: obj.handle(),
                    kind: DomainEventKind::MigrationIteration {
                        iteration: i32::try_from(pass).unwrap_or(i32::MAX),
                    },
                });
            }
            "GUEST_PANICKED" if obj.state != state::CRASHED => {
                match crash_response(&obj.def.on_crash) {
                    CrashResponse::Stop => {
                        run.expected_stop = Some((reason::SHUTOFF_CRASHED, event::STOPPED_CRASHED));
                        follow_up = FollowUp::Terminate;
                    }
                    CrashResponse::Restart => follow_up = FollowUp::ResetAndResume,
                    CrashResponse::Keep => {}
                }
                obj.state = state::CRASHED;
                obj.reason = CRASHED_PANICKED;
                events.push(obj.lifecycle_event(event::CRASHED, CRASHED_EVENT_PANICKED));
            }
            "RESUME" if matches!(obj.state, state::PAUSED | state::CRASHED) => {
                let (why, detail) = super::migration::postcopy::resume_reason(uuid)
                    .unwrap_or((reason::RUNNING_UNPAUSED, event::RESUMED_UNPAUSED));
                obj.state = state::RUNNING;
                obj.reason = why;
                events.push(obj.lifecycle_event(event::RESUMED, detail));
            }
            "SUSPEND" | "SUSPEND_DISK" => {
                let to_disk = ev.name == "SUSPEND_DISK";
                if obj.state == state::RUNNING {
                    obj.state = state::PMSUSPENDED;
                    obj.reason = reason::PMSUSPENDED_UNKNOWN;
                    let detail = if to_disk {
                        event::PMSUSPENDED_DISK
                    } else {
                        event::PMSUSPENDED_MEMORY
                    };
                    events.push(obj.lifecycle_event(event::PMSUSPENDED, detail));
                }
                events.push(DomainEvent {
                    domain: obj.handle(),
                    kind: DomainEventKind::PmSuspend { to_disk, reason: 0 },
                });
            }
            "WAKEUP" => {
                if obj.state == state::PMSUSPENDED {
                    obj.state = state::RUNNING;
                    obj.reason = reason::RUNNING_WAKEUP;
                    events.push(obj.lifecycle_event(event::STARTED, event::STARTED_WAKEUP));
                }
                events.push(DomainEvent {
                    domain: obj.handle(),
                    kind: DomainEventKind::PmWakeup { reason: 0 },
                });
            }
            // The guest released a device (hot unplug done); events without a
            // device id are about the device's internal parts.
            "DEVICE_DELETED" => {
                let alias = ev.data.get("device").and_then(Value::as_str).unwrap_or("");
                if let Some(device) = super::hotplug::removed_by_qemu(&mut obj.def, alias) {
                    persist = true;
                    events.push(DomainEvent {
                        domain: obj.handle(),
                        kind: DomainEventKind::DeviceRemoved {
                            alias: alias.to_string(),
                        },
                    });
                    follow_up = FollowUp::ReleaseBackend(device);
                }
            }
            "BLOCK_JOB_READY"
            | "BLOCK_JOB_COMPLETED"
            | "BLOCK_JOB_CANCELLED"
            | "BLOCK_JOB_ERROR" => {
                let (job_events, changed) =
                    super::blockjob::qmp_event(&inner.paths, uuid, obj, &ev.name, &ev.data);
                events.extend(job_events);
                persist |= changed;
            }
            "BLOCK_WRITE_THRESHOLD" => {
                events.extend(super::blockjob::qmp_threshold_event(uuid, obj, &ev.data));
            }
            "DEVICE_UNPLUG_GUEST_ERROR" => {
                if let Some(alias) = ev.data.get("device").and_then(Value::as_str) {
                    events.push(DomainEvent {
                        domain: obj.handle(),
                        kind: DomainEventKind::DeviceRemovalFailed {
                            alias: alias.to_string(),
                        },
                    });
                }
            }
            "VSERPORT_CHANGE" => {
                let (changed, event) = super::agent::channel::port_changed(obj, &ev.data);
                persist |= changed;
                events.extend(event);
            }
            name if name.starts_with("VNC_") || name.starts_with("SPICE_") => {
                if let Some(kind) = super::graphics_events::from_qmp(name, &ev.data) {
                    events.push(DomainEvent {
                        domain: obj.handle(),
                        kind,
                    });
                }
            }
            "RESET" if matches!(obj.state, state::RUNNING | state::PAUSED) => {
                events.push(DomainEvent {
                    domain: obj.handle(),
                    kind: DomainEventKind::Reboot,
                });
            }
            _ => {}
        }
        if persist {
            inner.persist_status(obj);
        }
        parts
    };
    inner.emit(events);
    match follow_up {
        FollowUp::None => {}
        FollowUp::Terminate => {
            let _ = process.signal(libc::SIGTERM);
        }
        FollowUp::ReleaseBackend(device) => {
            // Monitor commands cannot run on the reader thread that delivers events.
            let network = inner.network.get().cloned();
            let _ = std::thread::Builder::new()
                .name("qemu-unplug".into())
                .spawn(move || {
                    super::hotplug::release_backend(&monitor, &device, network.as_ref())
                });
        }
        FollowUp::ResetAndResume => {
            let inner = Arc::clone(inner);
            let uuid = *uuid;
            let _ = std::thread::Builder::new()
                .name("qemu-fake-reboot".into())
                .spawn(move || {
                    let reset = monitor
                        .execute("system_reset", None)
                        .and_then(|_| monitor.execute("cont", None));
                    let mut st = inner.lock();
                    if let Some(index) = st.find_by_uuid(&uuid) {
                        if let Some(run) = st.domains[index].run.as_mut() {
                            if run.token == token {
                                // Done (or failed for good): a later restart must
                                // not turn the next power-off into another reboot.
                                run.fake_reboot = false;
                                if reset.is_ok() {
                                    run.got_shutdown = false;
                                }
                                inner.persist_status(&st.domains[index]);
                            }
                        }
                    }
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_actions() {
        assert_eq!(crash_response("destroy"), CrashResponse::Stop);
        assert_eq!(crash_response("coredump-destroy"), CrashResponse::Stop);
        assert_eq!(crash_response("restart"), CrashResponse::Restart);
        assert_eq!(crash_response("coredump-restart"), CrashResponse::Restart);
        assert_eq!(crash_response("preserve"), CrashResponse::Keep);
    }
}
