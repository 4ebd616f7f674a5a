//! Hot plug and unplug of devices (`virsh attach-device`, `detach-device`,
//! `update-device`, `detach-device-alias`), apart from [`super::Connection`] so that
//! each driver implements them in files of their own.

use super::{DomainRef, DriverError, DriverResult};

/// `VIR_DOMAIN_DEVICE_MODIFY_*` (the same bits as `VIR_DOMAIN_AFFECT_*`).
pub mod device_modify {
    pub const CURRENT: u32 = 0;
    pub const LIVE: u32 = 1;
    pub const CONFIG: u32 = 2;
    /// `virDomainUpdateDeviceFlags` only: change even what a guest may refuse.
    pub const FORCE: u32 = 4;
}

pub trait DomainDevices {
    /// `virDomainAttachDeviceFlags`; `None` for the flag-less `virDomainAttachDevice`.
    fn attach_device(&self, _dom: &DomainRef, _xml: &str, flags: Option<u32>) -> DriverResult<()> {
        Err(DriverError::no_support(match flags {
            Some(_) => "virDomainAttachDeviceFlags",
            None => "virDomainAttachDevice",
        }))
    }
    /// `virDomainDetachDeviceFlags`; `None` for the flag-less `virDomainDetachDevice`.
    fn detach_device(&self, _dom: &DomainRef, _xml: &str, flags: Option<u32>) -> DriverResult<()> {
        Err(DriverError::no_support(match flags {
            Some(_) => "virDomainDetachDeviceFlags",
            None => "virDomainDetachDevice",
        }))
    }
    fn update_device(&self, _dom: &DomainRef, _xml: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainUpdateDeviceFlags"))
    }
    fn detach_device_alias(&self, _dom: &DomainRef, _alias: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainDetachDeviceAlias"))
    }
}
