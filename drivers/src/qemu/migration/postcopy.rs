//! Post-copy migration (`virsh migrate --postcopy`, `migrate-postcopy`): QEMU's
//! `postcopy-ram` capability on both sides; once the switch is asked for, the
//! source's CPUs stop ("paused (post-copy)"), perform returns, finish runs the
//! guest on the destination while its memory is still arriving ("running
//! (post-copy)", then "running (migrated)" once all of it came) and confirm
//! waits for the source to have sent the last page.
//!
//! What a domain's migration asked for is kept here, keyed by its UUID, so that
//! the monitor's event handler can name the states as libvirt does.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::super::error::QemuError;
use super::super::lifecycle::{check_flags, not_running};
use super::super::qmp::Monitor;
use super::super::Inner;
use crate::api::{
    codes, domains, event, job_operation, reason, DomainRef, DriverError, DriverResult, Uuid,
};

/// `VIR_DOMAIN_PAUSED_POSTCOPY` and `VIR_DOMAIN_RUNNING_POSTCOPY`.
pub const PAUSED_POSTCOPY: i32 = 12;
pub const RUNNING_POSTCOPY: i32 = 10;
/// `VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY` and `VIR_DOMAIN_EVENT_RESUMED_POSTCOPY`.
pub const SUSPENDED_POSTCOPY: i32 = 7;
pub const RESUMED_POSTCOPY: i32 = 3;

/// `VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY` (MiB/s; `virsh migrate
/// --postcopy-bandwidth`).
pub const BANDWIDTH_PARAM: &str = "bandwidth.postcopy";

/// How long the rest of a post-copy migration may take once the guest runs on
/// the destination.
const POSTCOPY_DEADLINE: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phase {
    /// The outgoing migration was started with `VIR_MIGRATE_POSTCOPY`.
    pub allowed: bool,
    /// `virDomainMigrateStartPostCopy` was called for it.
    pub requested: bool,
    /// The incoming guest is in post-copy (its memory still arriving).
    pub incoming: bool,
}

fn table() -> MutexGuard<'static, HashMap<Uuid, Phase>> {
    static TABLE: OnceLock<Mutex<HashMap<Uuid, Phase>>> = OnceLock::new();
    TABLE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

pub fn phase(uuid: &Uuid) -> Phase {
    table().get(uuid).copied().unwrap_or_default()
}

pub fn update(uuid: &Uuid, change: impl FnOnce(&mut Phase)) {
    change(table().entry(*uuid).or_default());
}

pub fn forget(uuid: &Uuid) {
    table().remove(uuid);
}

/// State reason and event detail of the source's CPUs stopping during an
/// outgoing migration.
pub fn stop_reason(uuid: &Uuid) -> (i32, i32) {
    if phase(uuid).requested {
        (PAUSED_POSTCOPY, SUSPENDED_POSTCOPY)
    } else {
        (reason::PAUSED_MIGRATION, event::SUSPENDED_MIGRATED)
    }
}

/// State reason and event detail of an incoming guest starting to run while in
/// post-copy; `None` when it is not in post-copy.
pub fn resume_reason(uuid: &Uuid) -> Option<(i32, i32)> {
    phase(uuid)
        .incoming
        .then_some((RUNNING_POSTCOPY, RESUMED_POSTCOPY))
}

/// The destination's wait in finish: returns once all of the guest arrived. A
/// guest in post-copy is resumed as soon as QEMU switched (its memory keeps
/// coming while it runs).
pub fn wait_arrival(uuid: &Uuid, monitor: &Monitor, deadline: Duration) -> Result<(), QemuError> {
    match wait_status(monitor, deadline, &["completed", "postcopy-active"], "in")? {
        "postcopy-active" => {
            update(uuid, |p| p.incoming = true);
            monitor.execute("cont", None)?;
            let done = wait_status(monitor, POSTCOPY_DEADLINE, &["completed"], "in");
            forget(uuid);
            done.map(|_| ())
        }
        _ => Ok(()),
    }
}

/// The source's wait in confirm: a post-copy migration ends only once QEMU sent
/// the last page.
pub fn wait_sent(monitor: &Monitor) -> Result<(), QemuError> {
    let status = monitor.execute("query-migrate", None)?;
    if status.get("status").and_then(Value::as_str) == Some("postcopy-active") {
        wait_status(monitor, POSTCOPY_DEADLINE, &["completed"], "out")?;
    }
    Ok(())
}

/// Polls `query-migrate` until its status is one of `wanted`.
fn wait_status(
    monitor: &Monitor,
    deadline: Duration,
    wanted: &[&'static str],
    direction: &str,
) -> Result<&'static str, QemuError> {
    let deadline = Instant::now() + deadline;
    let mut pause = Duration::from_millis(2);
    loop {
        let status = monitor.execute("query-migrate", None)?;
        let now = status.get("status").and_then(Value::as_str).unwrap_or("");
        if let Some(found) = wanted.iter().find(|w| **w == now) {
            return Ok(found);
        }
        if matches!(now, "failed" | "cancelled" | "postcopy-paused") {
            let detail = status
                .get("error-desc")
                .and_then(Value::as_str)
                .unwrap_or("unexpectedly failed");
            return Err(QemuError::Failed(format!(
                "migration {direction} job: {detail}"
            )));
        }
        if Instant::now() >= deadline {
            return Err(QemuError::Timeout(format!(
                "migration {direction} job: timed out"
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

impl Inner {
    /// `virDomainMigrateStartPostCopy`: the outgoing migration of `dom` switches
    /// to post-copy. It runs beside perform, which holds the domain's job.
    pub(in super::super) fn migrate_start_postcopy(
        &self,
        dom: &DomainRef,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainMigrateStartPostCopy")?;
        let monitor = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let Some(run) = obj.run.as_ref() else {
                return Err(not_running());
            };
            let migrating = run
                .job
                .as_ref()
                .is_some_and(|job| job.operation() == job_operation::MIGRATION_OUT);
            if !migrating {
                return Err(DriverError::new(
                    codes::OPERATION_INVALID,
                    domains::QEMU,
                    "post-copy can only be started while outgoing migration is in progress",
                ));
            }
            std::sync::Arc::clone(&run.monitor)
        };
        if !phase(&dom.uuid).allowed {
            return Err(DriverError::new(
                codes::OPERATION_INVALID,
                domains::QEMU,
                "switching to post-copy requires migration to be started with \
                 VIR_MIGRATE_POSTCOPY flag",
            ));
        }
        update(&dom.uuid, |p| p.requested = true);
        if let Err(e) = monitor.execute("migrate-start-postcopy", None) {
            update(&dom.uuid, |p| p.requested = false);
            return Err(QemuError::from(e).into());
        }
        Ok(())
    }

    /// Confirm's part for a post-copy source: waits (under the job) until QEMU
    /// sent the rest of the guest's memory.
    pub(super) fn finish_sending(&self, dom: &DomainRef) -> DriverResult<()> {
        let monitor = self.running_parts(dom)?.0;
        let sent = wait_sent(&monitor);
        forget(&dom.uuid);
        sent.map_err(Into::into)
    }
}
