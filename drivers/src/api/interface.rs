//! The host interface driver API (libvirt's `virtinterfaced`): the host's
//! network interfaces as libvirt's udev backend describes them, read-only. A
//! secondary driver that every hypervisor connection also reaches, and the
//! primary one of `interface:///system`. Every method defaults to libvirt's
//! "not supported".

use std::sync::Arc;

use super::{domains, DriverError, DriverResult};

/// `VIR_CONNECT_LIST_INTERFACES_*` filters.
pub mod interface_list_flags {
    pub const INACTIVE: u32 = 1 << 0;
    pub const ACTIVE: u32 = 1 << 1;
}

/// An interface as clients reference it: its name and MAC address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceRef {
    pub name: String,
    pub mac: String,
}

/// "this function is not supported by the connection driver: {api}" raised
/// by the interface driver's entry points.
pub fn interface_no_support(api: &str) -> DriverError {
    DriverError::no_support(api).in_domain(domains::INTERFACE)
}

/// One client's view of the host interface driver.
pub trait InterfaceConnection: Send + Sync {
    /// `virConnectNumOfInterfaces`: interfaces whose link is up.
    fn num_of_active(&self) -> DriverResult<i32> {
        Err(interface_no_support("virConnectNumOfInterfaces"))
    }
    fn list_active(&self, _max: usize) -> DriverResult<Vec<String>> {
        Err(interface_no_support("virConnectListInterfaces"))
    }
    /// `virConnectNumOfDefinedInterfaces`: interfaces whose link is down.
    fn num_of_inactive(&self) -> DriverResult<i32> {
        Err(interface_no_support("virConnectNumOfDefinedInterfaces"))
    }
    fn list_inactive(&self, _max: usize) -> DriverResult<Vec<String>> {
        Err(interface_no_support("virConnectListDefinedInterfaces"))
    }
    fn list_all(&self, _flags: u32) -> DriverResult<Vec<InterfaceRef>> {
        Err(interface_no_support("virConnectListAllInterfaces"))
    }
    fn lookup_by_name(&self, _name: &str) -> DriverResult<InterfaceRef> {
        Err(interface_no_support("virInterfaceLookupByName"))
    }
    fn lookup_by_mac(&self, _mac: &str) -> DriverResult<InterfaceRef> {
        Err(interface_no_support("virInterfaceLookupByMACString"))
    }
    fn xml_desc(&self, _name: &str, _flags: u32) -> DriverResult<String> {
        Err(interface_no_support("virInterfaceGetXMLDesc"))
    }
    fn is_active(&self, _name: &str) -> DriverResult<bool> {
        Err(interface_no_support("virInterfaceIsActive"))
    }
    /// Calls that would change the host's configuration (define, undefine,
    /// start, stop, transactions): `api` names the public API.
    fn refuse_change(&self, api: &str) -> DriverError {
        interface_no_support(api)
    }
}

/// The host interface driver shared by every connection.
pub trait InterfaceDriver: Send + Sync {
    fn open(&self, read_only: bool) -> DriverResult<Arc<dyn InterfaceConnection>>;
}
