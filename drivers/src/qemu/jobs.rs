//! Job progress of a running guest (`virsh domjobinfo`): the save in progress records
//! what QEMU's `query-migrate` says, and the job calls read it without waiting on the
//! domain's job lock.

use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::error::QemuError;
use super::Inner;
use crate::api::{DomainRef, DriverResult, JobProgress, Uuid};

/// How long a call waits for another operation on the same domain to end
/// (libvirt's state change lock wait).
pub const JOB_WAIT: Duration = Duration::from_secs(30);

/// Takes the domain's job lock, giving up after [`JOB_WAIT`] with libvirt's
/// "cannot acquire state change lock", so that a call behind a hung operation
/// frees its worker instead of queueing for ever.
pub(super) fn lock_job_bounded(job: &Mutex<()>) -> Result<MutexGuard<'_, ()>, QemuError> {
    let deadline = Instant::now() + JOB_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        match job.try_lock() {
            Ok(guard) => return Ok(guard),
            Err(TryLockError::Poisoned(poisoned)) => return Ok(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => {}
        }
        if Instant::now() >= deadline {
            return Err(QemuError::Timeout(
                "cannot acquire state change lock".into(),
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// A job running on a domain.
pub struct ActiveJob {
    operation: i32,
    started: Instant,
    /// The latest figures QEMU gave (bytes).
    latest: JobProgress,
}

impl ActiveJob {
    pub fn new(operation: i32) -> Self {
        ActiveJob {
            operation,
            started: Instant::now(),
            latest: JobProgress::default(),
        }
    }

    /// A job that has been running for `elapsed` already (one a previous daemon began).
    pub fn resumed(operation: i32, elapsed: Duration) -> Self {
        ActiveJob {
            started: Instant::now()
                .checked_sub(elapsed)
                .unwrap_or_else(Instant::now),
            ..ActiveJob::new(operation)
        }
    }

    /// `virDomainJobOperation` of the job.
    pub fn operation(&self) -> i32 {
        self.operation
    }

    fn snapshot(&self) -> JobProgress {
        JobProgress {
            operation: self.operation,
            elapsed_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ..self.latest.clone()
        }
    }
}

impl Inner {
    /// The job in progress on `dom`; `require_active` refuses an inactive domain the
    /// way `virDomainGetJobInfo` does (`virDomainGetJobStats` answers "none" instead).
    pub(super) fn job_progress(
        &self,
        dom: &DomainRef,
        require_active: bool,
    ) -> DriverResult<Option<JobProgress>> {
        let st = self.lock();
        let obj = st.get(dom)?;
        if require_active && !obj.is_active() {
            return Err(QemuError::InvalidState("domain is not running".into()).into());
        }
        Ok(obj
            .run
            .as_ref()
            .and_then(|run| run.job.as_ref())
            .map(ActiveJob::snapshot))
    }

    /// Marks the start (`Some`) or the end (`None`) of a job on a running domain.
    pub(super) fn set_job(&self, uuid: &Uuid, job: Option<ActiveJob>) {
        let mut st = self.lock();
        if let Some(index) = st.find_by_uuid(uuid) {
            if let Some(run) = st.domains[index].run.as_mut() {
                run.job = job;
            }
        }
    }

    /// Ends the backup job of a domain with the job-completed event libvirt sends.
    pub(super) fn backup_ended(&self, uuid: &Uuid, success: bool) {
        let event = {
            let mut st = self.lock();
            let Some(index) = st.find_by_uuid(uuid) else {
                return;
            };
            let obj = &mut st.domains[index];
            let Some(job) = obj.run.as_mut().and_then(|r| r.job.take()) else {
                return;
            };
            // The backup is no longer in the status file.
            self.persist_status(obj);
            let figures = job.snapshot();
            crate::api::DomainEvent {
                domain: obj.handle(),
                kind: crate::api::DomainEventKind::JobCompleted {
                    operation: figures.operation,
                    elapsed_ms: figures.elapsed_ms,
                    total: figures.data_total,
                    processed: figures.data_processed,
                    success,
                },
            }
        };
        self.emit(vec![event]);
    }

    /// Stores the byte counts of a block copy job (a backup) in the domain's job.
    pub(super) fn record_job_progress(&self, uuid: &Uuid, total: u64, processed: u64) {
        let mut st = self.lock();
        if let Some(index) = st.find_by_uuid(uuid) {
            if let Some(job) = st.domains[index].run.as_mut().and_then(|r| r.job.as_mut()) {
                job.latest = JobProgress {
                    data_total: total,
                    data_processed: processed,
                    data_remaining: total.saturating_sub(processed),
                    ..JobProgress::default()
                };
            }
        }
    }

    /// Stores the figures of one `query-migrate` answer in the domain's job.
    pub(super) fn record_migration_progress(&self, uuid: &Uuid, status: &Value) {
        let figures = migration_figures(status);
        let mut st = self.lock();
        if let Some(index) = st.find_by_uuid(uuid) {
            if let Some(job) = st.domains[index].run.as_mut().and_then(|r| r.job.as_mut()) {
                job.latest = figures;
            }
        }
    }
}

/// Progress figures from a `query-migrate` reply (`ram` section; `mbps` is megabits).
fn migration_figures(status: &Value) -> JobProgress {
    let ram = status.get("ram");
    let field = |name: &str| {
        ram.and_then(|r| r.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let total = field("total");
    let remaining = field("remaining");
    let processed = field("transferred");
    let mbps = ram
        .and_then(|r| r.get("mbps"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    JobProgress {
        data_total: total,
        data_processed: processed,
        data_remaining: remaining,
        mem_total: total,
        mem_processed: processed,
        mem_remaining: remaining,
        mem_bps: (mbps * 1_000_000.0 / 8.0) as u64,
        ..JobProgress::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn figures_from_query_migrate() {
        let status = json!({
            "status": "active",
            "ram": {"total": 1000, "remaining": 400, "transferred": 600, "mbps": 8.0}
        });
        let figures = migration_figures(&status);
        assert_eq!(figures.mem_total, 1000);
        assert_eq!(figures.data_remaining, 400);
        assert_eq!(figures.mem_processed, 600);
        assert_eq!(figures.mem_bps, 1_000_000);
    }

    #[test]
    fn figures_without_ram_section_are_zero() {
        let figures = migration_figures(&json!({"status": "setup"}));
        assert_eq!(figures, JobProgress::default());
    }

    #[test]
    fn busy_job_lock_is_taken_once_free() {
        let job = std::sync::Arc::new(Mutex::new(()));
        let held = std::sync::Arc::clone(&job);
        let (tx, rx) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let _guard = held.lock().expect("lock");
            tx.send(()).expect("send");
            std::thread::sleep(Duration::from_millis(50));
        });
        rx.recv().expect("held");
        assert!(lock_job_bounded(&job).is_ok());
        holder.join().expect("holder");
    }

    #[test]
    fn snapshot_keeps_operation_and_counts_time() {
        let job = ActiveJob::new(2);
        let snap = job.snapshot();
        assert_eq!(snap.operation, 2);
        assert!(snap.elapsed_ms < 60_000);
    }
}
