//! The lxc driver's domain table (the shared list, sorted by name as libvirt's lxc
//! driver lists), guarded by one mutex that is never held while waiting on a supervisor.

use super::cgroup::ContainerCgroup;
use super::xml::with_console_tty;
use crate::api::{codes, domains, DomainEvent, DriverError};
use crate::domain_list::{DomainList, ListOrder, ListRules};
use crate::domain_xml::DomainDef;

/// A container that runs under a supervisor. Its domain id is init's PID as the host
/// sees it, as in libvirt's LXC driver.
pub struct Running {
    pub init_pid: i32,
    pub supervisor_pid: i32,
    pub cgroup: ContainerCgroup,
    /// Tells one run from the next, so a late exit notice never stops a newer run.
    pub token: u64,
    /// Set by whoever asked the container to go: (shutoff reason, stopped event detail).
    pub expected_stop: Option<(i32, i32)>,
    /// The console's pty on the host, shown in the live XML.
    pub console_tty: Option<String>,
}

/// One domain of the driver.
pub type DomainObj = crate::domain_list::DomainObj<Running>;

/// All domains of the driver.
pub type LxcState = DomainList<Running>;

/// The empty table with the lxc driver's errors and order.
pub fn new_state() -> LxcState {
    DomainList::new(ListRules {
        lookup_domain: domains::LXC,
        bare_lookup_errors: false,
        rules_domain: domains::LXC,
        order: ListOrder::ByName,
    })
}

impl DomainObj {
    /// The definition in effect with what only a running container has (its console pty).
    pub fn live_def(&self) -> DomainDef {
        let tty = self.run.as_ref().and_then(|r| r.console_tty.as_deref());
        with_console_tty(&self.def, tty)
    }

    /// XML for `virDomainGetXMLDesc`, with the console pty while running.
    pub fn live_xml(&self, inactive: bool, secure: bool) -> String {
        self.xml_of(&self.live_def(), inactive, secure)
    }
}

/// Marks a domain stopped; drops it when transient. Returns its stopped event.
pub fn mark_stopped(
    st: &mut LxcState,
    index: usize,
    shutoff_reason: i32,
    detail: i32,
) -> DomainEvent {
    st.mark_stopped(index, shutoff_reason, detail).0
}

/// "domain is not running".
pub fn not_running() -> DriverError {
    DriverError::new(
        codes::OPERATION_INVALID,
        domains::LXC,
        "domain is not running",
    )
}
