//! The node device driver API (libvirt's `virtnodedevd`): the host's devices as
//! libvirt's udev backend describes them, read-only. A secondary driver that
//! every hypervisor connection also reaches, and the primary one of
//! `nodedev:///system`. Every method defaults to libvirt's "not supported".

use std::sync::Arc;

use super::{DriverError, DriverResult};

/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_*` filters, in libvirt's bit order.
pub mod nodedev_list_flags {
    pub const SYSTEM: u32 = 1 << 0;
    pub const PCI_DEV: u32 = 1 << 1;
    pub const USB_DEV: u32 = 1 << 2;
    pub const USB_INTERFACE: u32 = 1 << 3;
    pub const NET: u32 = 1 << 4;
    pub const SCSI_HOST: u32 = 1 << 5;
    pub const SCSI_TARGET: u32 = 1 << 6;
    pub const SCSI: u32 = 1 << 7;
    pub const STORAGE: u32 = 1 << 8;
    /// The last capability bit libvirt 9.0 knows (`_CAP_VPD`).
    pub const CAPS_ALL: u32 = (1 << 22) - 1;
    pub const INACTIVE: u32 = 1 << 30;
    pub const ACTIVE: u32 = 1 << 31;
}

/// `VIR_NODE_DEVICE_EVENT_*` lifecycle events.
pub mod nodedev_event {
    pub const CREATED: i32 = 0;
    pub const DELETED: i32 = 1;
}

/// What happened to a node device, pushed by the driver to the daemon's fan-out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeDeviceEventKind {
    /// `VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE` with a [`nodedev_event`] type.
    Lifecycle { event: i32, detail: i32 },
    /// `VIR_NODE_DEVICE_EVENT_ID_UPDATE`.
    Update,
}

/// One event about the node device `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDeviceEvent {
    pub name: String,
    pub kind: NodeDeviceEventKind,
}

/// Where the node device driver delivers its events.
pub type NodeDeviceEventSink = Arc<dyn Fn(NodeDeviceEvent) + Send + Sync>;

/// One client's view of the node device driver. Devices are named as libvirt
/// names them (`pci_0000_00_03_0`, `net_eth0_52_54_00_12_34_56`, ...).
pub trait NodeDeviceConnection: Send + Sync {
    /// `virNodeNumOfDevices`: devices with capability `cap` (all when none).
    fn num_of_devices(&self, _cap: Option<&str>, _flags: u32) -> DriverResult<i32> {
        Err(DriverError::no_support("virNodeNumOfDevices"))
    }
    fn list_devices(
        &self,
        _cap: Option<&str>,
        _max: usize,
        _flags: u32,
    ) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virNodeListDevices"))
    }
    fn list_all_devices(&self, _flags: u32) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virConnectListAllNodeDevices"))
    }
    fn lookup_by_name(&self, _name: &str) -> DriverResult<String> {
        Err(DriverError::no_support("virNodeDeviceLookupByName"))
    }
    fn xml_desc(&self, _name: &str, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virNodeDeviceGetXMLDesc"))
    }
    fn parent(&self, _name: &str) -> DriverResult<Option<String>> {
        Err(DriverError::no_support("virNodeDeviceGetParent"))
    }
    fn caps(&self, _name: &str) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virNodeDeviceListCaps"))
    }
    fn is_active(&self, _name: &str) -> DriverResult<bool> {
        Err(DriverError::no_support("virNodeDeviceIsActive"))
    }
    fn is_persistent(&self, _name: &str) -> DriverResult<bool> {
        Err(DriverError::no_support("virNodeDeviceIsPersistent"))
    }
    fn autostart(&self, _name: &str) -> DriverResult<bool> {
        Err(DriverError::no_support("virNodeDeviceGetAutostart"))
    }
    /// Calls that would change the host (detach, re-attach, reset, create,
    /// define, destroy, undefine, autostart): `api` names the public API.
    fn refuse_change(&self, api: &str) -> DriverError {
        DriverError::no_support(api)
    }
    /// The client closed its connection.
    fn close(&self) {}
}

/// The node device driver shared by every connection.
pub trait NodeDeviceDriver: Send + Sync {
    fn open(&self, read_only: bool) -> DriverResult<Arc<dyn NodeDeviceConnection>>;
}
