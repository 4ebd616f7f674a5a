//! Locks that survive a panicked holder: every transition of a domain completes
//! under the list's lock, so a panic leaves nothing half done for the next caller.

use std::sync::{Arc, Mutex, MutexGuard};

use super::DomainList;
use crate::api::Uuid;

/// Locks `mutex`, recovering it from poisoning.
pub fn lock_unpoisoned<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<R, X> DomainList<R, X> {
    /// The job lock of a domain, to take (with [`lock_unpoisoned`]) before a slow
    /// operation and after releasing the list's lock.
    pub fn job_of(&self, uuid: &Uuid) -> Option<Arc<Mutex<()>>> {
        self.find_by_uuid(uuid)
            .map(|index| Arc::clone(&self.domains[index].job))
    }
}
