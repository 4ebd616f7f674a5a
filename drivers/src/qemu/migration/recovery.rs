//! Migrations a daemon did not see to their end: cancelled when the daemon is
//! told to stop, and resolved by the next daemon from what QEMU reports, as
//! libvirt's recovery does.
//!
//! - An incoming guest still waiting for (or holding) its state that finish
//!   never resumed is killed: the source resumes it when finish fails.
//! - A source guest whose perform was interrupted (QEMU still sending, or done
//!   sending but the perform never returned) runs on at the source: the client
//!   saw perform fail, so the destination discards its copy.
//! - A source guest whose perform completed but whose confirm never came stays
//!   paused ("paused (migrated)"): whether the destination runs it is unknown
//!   here, so, as in libvirt, the administrator resumes or destroys it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::super::Inner;
use crate::api::{event, job_operation, reason, state, DomainRef};

/// QEMU's migration states in which data still moves.
const ACTIVE: &[&str] = &["setup", "active", "pre-switchover", "device", "wait-unplug"];

/// The daemon is stopping: every outgoing migration is cancelled (its perform
/// then resumes the guest on the source and reports the abort).
pub(in super::super) fn abort_outgoing(inner: &Inner) {
    let monitors: Vec<_> = {
        let st = inner.lock();
        st.domains
            .iter()
            .filter_map(|d| d.run.as_ref())
            .filter(|run| {
                run.job
                    .as_ref()
                    .is_some_and(|job| job.operation() == job_operation::MIGRATION_OUT)
            })
            .map(|run| Arc::clone(&run.monitor))
            .collect()
    };
    for monitor in monitors {
        let _ = monitor.execute("migrate_cancel", None);
    }
}

fn migration_status(monitor: &super::super::qmp::Monitor) -> String {
    monitor
        .execute("query-migrate", None)
        .ok()
        .and_then(|s| s.get("status").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

/// Run after re-attaching to the guests at daemon start. Returns what was done.
pub(in super::super) fn recover(inner: &Arc<Inner>) -> Vec<String> {
    let guests: Vec<_> = {
        let st = inner.lock();
        st.domains
            .iter()
            .filter_map(|d| {
                let run = d.run.as_ref()?;
                Some((
                    DomainRef {
                        name: d.def.name.clone(),
                        uuid: d.def.uuid,
                    },
                    d.state == state::PAUSED && d.reason == reason::PAUSED_MIGRATION,
                    Arc::clone(&run.monitor),
                    // A restored guest waits "paused (migrating)" too, but its
                    // state came from a file, not over TCP.
                    run.process.cmdline().contains(" -incoming tcp:"),
                ))
            })
            .collect()
    };
    let mut done = Vec::new();
    for (dom, paused_for_migration, monitor, migrated_in) in guests {
        let Ok(status) = monitor.execute("query-status", None) else {
            continue;
        };
        let runstate = status
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if paused_for_migration
            && migrated_in
            && matches!(runstate.as_str(), "inmigrate" | "paused" | "prelaunch")
        {
            inner.discard_incoming(&dom);
            done.push(format!(
                "killed guest '{}': its incoming migration never finished",
                dom.name
            ));
            continue;
        }
        if paused_for_migration {
            if runstate == "postmigrate" {
                done.push(format!(
                    "guest '{}' stays paused: it was sent, and whether the destination runs it is unknown",
                    dom.name
                ));
            }
            continue;
        }
        let mut interrupted = false;
        if ACTIVE.contains(&migration_status(&monitor).as_str()) {
            let _ = monitor.execute("migrate_cancel", None);
            wait_inactive(&monitor);
            super::nbd::end_storage_copy(&monitor);
            interrupted = true;
        }
        if runstate == "postmigrate" || runstate == "finish-migrate" {
            interrupted = true;
        }
        let paused = monitor
            .execute("query-status", None)
            .ok()
            .and_then(|s| s.get("running").and_then(Value::as_bool))
            == Some(false);
        if interrupted && paused && monitor.execute("cont", None).is_ok() {
            let events = {
                let mut st = inner.lock();
                let Ok(obj) = st.get_mut(&dom) else {
                    continue;
                };
                obj.state = state::RUNNING;
                obj.reason = reason::RUNNING_MIGRATION_CANCELED;
                inner.persist_status(obj);
                vec![obj.lifecycle_event(event::RESUMED, event::RESUMED_MIGRATED)]
            };
            inner.emit(events);
        }
        if interrupted {
            done.push(format!(
                "guest '{}' runs on here: its outgoing migration was interrupted",
                dom.name
            ));
        }
    }
    done
}

/// Waits (bounded) for a cancelled migration to stop moving data.
fn wait_inactive(monitor: &super::super::qmp::Monitor) {
    let end = Instant::now() + Duration::from_secs(30);
    while ACTIVE.contains(&migration_status(monitor).as_str()) || {
        migration_status(monitor) == "cancelling"
    } {
        if Instant::now() >= end {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
