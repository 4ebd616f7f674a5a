//! The list itself: the objects, the driver's conventions and the counters
//! for domain ids and run tokens.

use super::DomainObj;

/// The order of `virConnectListAllDomains`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListOrder {
    /// Running domains by id, then inactive ones by name (qemu, test).
    ActiveByIdThenName,
    /// Every domain by name (lxc).
    ByName,
}

/// What differs between the drivers' lists: error domains, lookup errors and order.
#[derive(Clone, Copy, Debug)]
pub struct ListRules {
    /// Error domain of "Domain not found" (`VIR_FROM_QEMU`, `VIR_FROM_LXC`, ...).
    pub lookup_domain: i32,
    /// Lookups by name, uuid and id answer a bare "Domain not found" (test driver).
    pub bare_lookup_errors: bool,
    /// Error domain of the definition-clash and "already active" refusals.
    pub rules_domain: i32,
    pub order: ListOrder,
}

/// All domains of a driver. Guarded by the driver's mutex, which is never held
/// while a guest process is waited on.
pub struct DomainList<R, X = ()> {
    pub domains: Vec<DomainObj<R, X>>,
    pub rules: ListRules,
    /// The highest domain id handed out.
    pub last_id: i32,
    /// The last run token handed out (see [`DomainList::allocate_token`]).
    pub next_token: u64,
}

impl<R, X> DomainList<R, X> {
    pub fn new(rules: ListRules) -> Self {
        DomainList {
            domains: Vec::new(),
            rules,
            last_id: 0,
            next_token: 0,
        }
    }

    /// Hands out the next domain id (ids are never reused while the counter lives).
    pub fn allocate_id(&mut self) -> i32 {
        self.last_id += 1;
        self.last_id
    }

    /// A token telling one run from the next, so a late exit notice of an old
    /// process never stops a domain that was started again.
    pub fn allocate_token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }
}

impl<R, X: std::fmt::Debug> std::fmt::Debug for DomainList<R, X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainList")
            .field("domains", &self.domains)
            .field("last_id", &self.last_id)
            .finish()
    }
}
