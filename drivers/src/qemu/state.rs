//! The qemu driver's domain table (the shared list) and what a running guest carries,
//! guarded by one mutex that is never held across a monitor call or a process wait.

use std::sync::Arc;

use super::process::GuestProcess;
use super::qmp::Monitor;
use crate::api::domains;
use crate::domain_list::{DomainList, ListOrder, ListRules};

/// A live QEMU process and its monitor.
pub struct Running {
    pub process: GuestProcess,
    pub monitor: Arc<Monitor>,
    /// Distinguishes one run from the next, so a late exit notice of an old process never
    /// stops a domain that was started again.
    pub token: u64,
    /// Set by whoever asked the process to go (destroy, shutdown): how the stop is reported.
    pub expected_stop: Option<(i32, i32)>,
    /// The guest powered off (QMP SHUTDOWN seen): a following exit is a shutdown.
    pub got_shutdown: bool,
    /// `virDomainReboot` is in progress: the next SHUTDOWN resets instead of stopping.
    pub fake_reboot: bool,
    /// Seconds since the epoch when the guest was started (kept in the status file).
    pub started: u64,
    /// The slow job in progress (a save), for `virDomainGetJobStats`.
    pub job: Option<super::jobs::ActiveJob>,
    /// The host perf counters open on the process (`<perf>`); closed with it.
    pub perf: super::perf_counters::PerfCounters,
}

/// One domain of the driver.
pub type DomainObj = crate::domain_list::DomainObj<Running>;

/// All domains plus the id counter and run tokens.
pub type QemuState = DomainList<Running>;

/// The empty table with the qemu driver's errors and order (running guests by id,
/// then the others by name).
pub fn new_state() -> QemuState {
    DomainList::new(ListRules {
        lookup_domain: domains::QEMU,
        bare_lookup_errors: false,
        rules_domain: domains::QEMU,
        order: ListOrder::ActiveByIdThenName,
    })
}
