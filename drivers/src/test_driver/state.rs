//! The test driver's world: the shared domain list, with the marks only the test
//! driver keeps per domain, shared by every connection.

use std::ops::{Deref, DerefMut};

use crate::api::domains;
use crate::domain_list::{DomainList, ListOrder, ListRules};

/// What the test driver remembers of a domain beyond the common list.
#[derive(Clone, Debug, Default)]
pub struct TestMarks {
    /// A managed save "image" (nothing is written; see `managed_save.rs`).
    pub has_managed_save: bool,
    pub snapshot_count: u32,
}

/// One domain as the test driver tracks it; test domains have no process.
pub type DomainObj = crate::domain_list::DomainObj<(), TestMarks>;

/// All domains plus the id counter; guarded by one mutex in the driver. The
/// driver's operations are methods of this type (see `lifecycle.rs`, `query.rs`).
#[derive(Debug)]
pub struct TestState(DomainList<(), TestMarks>);

impl TestState {
    pub fn new() -> Self {
        TestState(DomainList::new(ListRules {
            lookup_domain: domains::TEST,
            // The test driver's lookups report a bare "Domain not found".
            bare_lookup_errors: true,
            rules_domain: domains::DOMAIN,
            order: ListOrder::ActiveByIdThenName,
        }))
    }
}

impl Default for TestState {
    fn default() -> Self {
        TestState::new()
    }
}

impl Deref for TestState {
    type Target = DomainList<(), TestMarks>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for TestState {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
