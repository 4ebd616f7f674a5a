//! `virDomainSetAutostart`: only a persistent domain can have an autostart link.

use super::{DefinitionStore, DomainList};
use crate::api::{codes, DomainRef, DriverError, DriverResult};
use crate::fsutil::FsError;

impl FsError {
    /// A file the driver keeps could not be written or removed: libvirt's
    /// system error, from the driver's error domain.
    pub fn into_driver_error(self, error_domain: i32) -> DriverError {
        DriverError::new(codes::SYSTEM_ERROR, error_domain, self.to_string())
    }
}

impl<R, X> DomainList<R, X> {
    /// Creates or removes the autostart link of `dom` and records the choice.
    pub fn set_autostart(
        &mut self,
        dom: &DomainRef,
        enabled: bool,
        store: &DefinitionStore,
    ) -> DriverResult<()> {
        let domain = self.rules.rules_domain;
        let obj = self.get_mut(dom)?;
        if !obj.persistent {
            return Err(DriverError::new(
                codes::OPERATION_INVALID,
                domain,
                "cannot set autostart for transient domain",
            ));
        }
        store
            .set_autostart(&obj.def.name, enabled)
            .map_err(|e| e.into_driver_error(domain))?;
        obj.autostart = enabled;
        Ok(())
    }
}
