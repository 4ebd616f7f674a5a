//! Managed save of test domains, as libvirt 9.0's test driver does it: no image is
//! written, the domain just stops with reason "saved" and remembers that it has one.
//! Starting it again clears the mark (see `TestState::start_domain`); the run then
//! counts as a fresh boot, which is also what libvirt's test driver reports.

use super::lifecycle::{check_unsupported_flags, WithEvents};
use super::state::TestState;
use crate::api::{event, reason, DomainRef, DriverError, DriverResult};

/// `VIR_DOMAIN_SAVE_BYPASS_CACHE | VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED`:
/// accepted and meaningless without an image.
const MANAGED_SAVE_FLAGS: u32 = 1 | 2 | 4;

impl TestState {
    /// `virDomainManagedSave`: only running persistent domains can be saved.
    pub fn managed_save_domain(
        &mut self,
        dom: &DomainRef,
        flags: u32,
    ) -> DriverResult<WithEvents<()>> {
        check_unsupported_flags(flags, MANAGED_SAVE_FLAGS, "testDomainManagedSave")?;
        let index = self.resolve(dom)?;
        let obj = &self.domains[index];
        if !obj.is_active() {
            return Err(DriverError::operation_invalid("domain is not running"));
        }
        if !obj.persistent {
            return Err(DriverError::operation_invalid(
                "cannot do managed save for transient domain",
            ));
        }
        let stopped = self.stop_domain(index, reason::SHUTOFF_SAVED, event::STOPPED_SAVED);
        self.domains[index].extra.has_managed_save = true;
        Ok(((), vec![stopped]))
    }

    /// `virDomainManagedSaveRemove`: forgetting an image that does not exist is fine.
    pub fn managed_save_remove(&mut self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_unsupported_flags(flags, 0, "testDomainManagedSaveRemove")?;
        self.get_mut(dom)?.extra.has_managed_save = false;
        Ok(())
    }
}
