//! Jobs in flight when the daemon stops: saves that can be cancelled and rolled
//! back, and starts whose QEMU must not outlive the daemon untracked.
//!
//! The daemon first lets jobs finish; then [`InFlight::abort`] makes the saves
//! running at that moment cancel their migration (the guest resumes and the
//! partial image goes); at exit [`InFlight::abandon`] kills the QEMU of every
//! start that has not yet written its status file, so that what is on disk
//! (a status file or none) says what runs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::process::GuestProcess;
use crate::domain_list::lock_unpoisoned;

#[derive(Default)]
pub struct InFlight {
    /// Bumped by [`InFlight::abort`]; a save started under an older value
    /// cancels itself.
    epoch: AtomicU64,
    /// Starts not yet recorded, by run token, with their QEMU process once
    /// spawned.
    starting: Mutex<HashMap<u64, Option<GuestProcess>>>,
    /// Partial images of the saves running, by run token.
    saving: Mutex<HashMap<u64, PathBuf>>,
}

/// A save in progress; dropping it forgets the save.
pub struct SaveTicket<'a> {
    in_flight: &'a InFlight,
    token: u64,
    epoch: u64,
}

impl SaveTicket<'_> {
    /// The daemon asked running saves to roll back.
    pub fn cancelled(&self) -> bool {
        self.in_flight.epoch.load(Ordering::SeqCst) != self.epoch
    }
}

impl Drop for SaveTicket<'_> {
    fn drop(&mut self) {
        lock_unpoisoned(&self.in_flight.saving).remove(&self.token);
    }
}

impl InFlight {
    pub fn begin_save(&self, token: u64, partial: PathBuf) -> SaveTicket<'_> {
        lock_unpoisoned(&self.saving).insert(token, partial);
        SaveTicket {
            in_flight: self,
            token,
            epoch: self.epoch.load(Ordering::SeqCst),
        }
    }

    /// A start begins (before its hooks and its QEMU process).
    pub fn enter_start(&self, token: u64) {
        lock_unpoisoned(&self.starting).insert(token, None);
    }

    /// The QEMU process of a start was spawned. False when the daemon
    /// abandoned the start meanwhile: the caller must kill the process.
    pub fn spawned(&self, token: u64, process: &GuestProcess) -> bool {
        match lock_unpoisoned(&self.starting).get_mut(&token) {
            Some(slot) => {
                *slot = Some(process.clone());
                true
            }
            None => false,
        }
    }

    /// Whether a save or a start is running.
    pub fn busy(&self) -> bool {
        !lock_unpoisoned(&self.starting).is_empty() || !lock_unpoisoned(&self.saving).is_empty()
    }

    /// The start failed (its process is dealt with by the caller).
    pub fn forget_start(&self, token: u64) {
        lock_unpoisoned(&self.starting).remove(&token);
    }

    /// Claims the start for recording. While the returned guard lives,
    /// [`InFlight::abandon`] waits, so a start is either recorded (status
    /// file written) or killed, never half of each. `None`: the daemon is
    /// exiting and has killed the process already.
    pub fn claim_start(
        &self,
        token: u64,
    ) -> Option<MutexGuard<'_, HashMap<u64, Option<GuestProcess>>>> {
        let mut starting = lock_unpoisoned(&self.starting);
        starting.remove(&token).map(|_| starting)
    }

    /// Saves running now cancel their migration and roll back.
    pub fn abort(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// The daemon exits with jobs still running: unrecorded QEMU processes
    /// are killed and partial save images removed. Returns what was done.
    pub fn abandon(&self) -> Vec<String> {
        let mut done = Vec::new();
        let starting: Vec<GuestProcess> = lock_unpoisoned(&self.starting)
            .drain()
            .filter_map(|(_, process)| process)
            .collect();
        for process in starting {
            let _ = process.signal(libc::SIGKILL);
            process.wait_exit(Some(Duration::from_secs(5)));
            done.push(format!(
                "killed QEMU process {} of a start that did not finish",
                process.pid
            ));
        }
        for (_, partial) in lock_unpoisoned(&self.saving).drain() {
            if std::fs::remove_file(&partial).is_ok() {
                done.push(format!(
                    "removed the partial save image {}",
                    partial.display()
                ));
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abort_cancels_only_saves_already_running() {
        let in_flight = InFlight::default();
        let before = in_flight.begin_save(1, PathBuf::from("/nonexistent/a.partial"));
        in_flight.abort();
        let after = in_flight.begin_save(2, PathBuf::from("/nonexistent/b.partial"));
        assert!(before.cancelled());
        assert!(!after.cancelled());
        drop((before, after));
        assert!(lock_unpoisoned(&in_flight.saving).is_empty());
    }

    #[test]
    fn an_abandoned_start_cannot_be_recorded() {
        let in_flight = InFlight::default();
        in_flight.enter_start(1);
        in_flight.enter_start(2);
        assert!(in_flight.busy());
        assert!(in_flight.claim_start(1).is_some());
        in_flight.abandon();
        assert!(in_flight.claim_start(2).is_none());
        assert!(!in_flight.busy());
    }

    #[test]
    fn abandon_removes_partial_images() {
        let partial =
            std::env::temp_dir().join(format!("in-flight-{}.partial", std::process::id()));
        std::fs::write(&partial, b"half").expect("write");
        let in_flight = InFlight::default();
        let _ticket = in_flight.begin_save(7, partial.clone());
        let done = in_flight.abandon();
        assert!(!partial.exists());
        assert_eq!(done.len(), 1);
    }
}
