//! The node device driver, read-only: the host's devices described from sysfs
//! (and the udev database when there is one) as libvirt 9.0's udev backend
//! describes them. Each call reads sysfs afresh; kernel uevents turn into
//! node device events (see `uevents`). Changes to the host (detaching devices from their
//! drivers, creating mediated devices) are refused.

mod format;
mod ids;
mod model;
pub(crate) mod net;
mod pci;
mod primary;
mod scan;
pub(crate) mod sysfs;
mod uevents;

use std::sync::Arc;

use crate::api::{
    codes, domains, nodedev_list_flags as lf, DriverError, DriverResult, NodeDeviceConnection,
    NodeDeviceDriver,
};

pub use model::Device;
pub use primary::NodeDevPrimaryDriver;
pub use sysfs::HostPaths;

/// `VIR_NODE_DEVICE_XML_INACTIVE`.
const XML_INACTIVE: u32 = 1;

/// The driver registered with the daemon.
#[derive(Clone, Default)]
pub struct NodeDevices {
    paths: HostPaths,
}

impl NodeDevices {
    pub fn new(paths: HostPaths) -> Self {
        NodeDevices { paths }
    }

    /// Every device of the host, `computer` first.
    pub fn devices(&self) -> Vec<Device> {
        scan::scan(&self.paths)
    }

    fn find(&self, name: &str) -> DriverResult<Device> {
        self.devices()
            .into_iter()
            .find(|d| d.name == name)
            .ok_or_else(|| {
                DriverError::new(
                    codes::NO_NODE_DEVICE,
                    domains::NODEDEV,
                    format!("no node device with matching name '{name}'"),
                )
            })
    }
}

impl NodeDeviceDriver for NodeDevices {
    fn open(&self, _read_only: bool) -> DriverResult<Arc<dyn NodeDeviceConnection>> {
        Ok(Arc::new(self.clone()))
    }
}

fn check_flags(flags: u32, allowed: u32, function: &str) -> DriverResult<()> {
    if flags & !allowed != 0 {
        return Err(DriverError::unsupported_flags(
            domains::NODEDEV,
            flags & !allowed,
            function,
        ));
    }
    Ok(())
}

/// Whether `device` passes `virConnectListAllNodeDevices` filters (every
/// device here is active: it exists on the host).
fn matches(device: &Device, flags: u32) -> bool {
    let caps = flags & lf::CAPS_ALL;
    let by_cap = caps == 0 || device.cap.flag() & caps != 0;
    let state = flags & (lf::ACTIVE | lf::INACTIVE);
    by_cap && (state == 0 || state & lf::ACTIVE != 0)
}

impl NodeDeviceConnection for NodeDevices {
    fn num_of_devices(&self, cap: Option<&str>, flags: u32) -> DriverResult<i32> {
        check_flags(flags, 0, "nodeNumOfDevices")?;
        Ok(self.list_devices(cap, usize::MAX, 0)?.len() as i32)
    }

    fn list_devices(&self, cap: Option<&str>, max: usize, flags: u32) -> DriverResult<Vec<String>> {
        check_flags(flags, 0, "nodeListDevices")?;
        Ok(self
            .devices()
            .into_iter()
            .filter(|d| cap.is_none_or(|c| d.cap.name() == c))
            .map(|d| d.name)
            .take(max)
            .collect())
    }

    fn list_all_devices(&self, flags: u32) -> DriverResult<Vec<String>> {
        check_flags(
            flags,
            lf::CAPS_ALL | lf::ACTIVE | lf::INACTIVE,
            "nodeConnectListAllNodeDevices",
        )?;
        Ok(self
            .devices()
            .into_iter()
            .filter(|d| matches(d, flags))
            .map(|d| d.name)
            .collect())
    }

    fn lookup_by_name(&self, name: &str) -> DriverResult<String> {
        self.find(name).map(|d| d.name)
    }

    fn xml_desc(&self, name: &str, flags: u32) -> DriverResult<String> {
        check_flags(flags, XML_INACTIVE, "nodeDeviceGetXMLDesc")?;
        self.find(name).map(|d| format::device_xml(&d))
    }

    fn parent(&self, name: &str) -> DriverResult<Option<String>> {
        match self.find(name)?.parent {
            Some(parent) => Ok(Some(parent)),
            None => Err(DriverError::new(
                codes::INTERNAL_ERROR,
                domains::NODEDEV,
                "no parent for this device",
            )),
        }
    }

    fn caps(&self, name: &str) -> DriverResult<Vec<String>> {
        self.find(name).map(|d| vec![d.cap.name().to_string()])
    }

    fn is_active(&self, name: &str) -> DriverResult<bool> {
        self.find(name).map(|_| true)
    }

    /// Only `computer` reads as persistent and autostarted, as in libvirt.
    fn is_persistent(&self, name: &str) -> DriverResult<bool> {
        self.find(name).map(|d| d.parent.is_none())
    }

    fn autostart(&self, name: &str) -> DriverResult<bool> {
        self.find(name).map(|d| d.parent.is_none())
    }

    fn refuse_change(&self, api: &str) -> DriverError {
        DriverError::new(
            codes::OPERATION_UNSUPPORTED,
            domains::NODEDEV,
            format!("{api}: this daemon's node device driver is read-only (no detaching devices from their drivers, no mediated devices)"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_computer_is_always_there_and_lookups_fail_cleanly() {
        let devices = NodeDevices::default();
        let all = devices.list_all_devices(0).expect("list");
        assert_eq!(all.first().map(String::as_str), Some("computer"));
        assert_eq!(
            devices.list_all_devices(lf::SYSTEM).expect("system"),
            ["computer"]
        );
        assert!(devices
            .list_all_devices(lf::INACTIVE)
            .expect("none")
            .is_empty());
        let err = devices.xml_desc("nope", 0).expect_err("missing");
        assert_eq!(err.code, codes::NO_NODE_DEVICE);
        assert_eq!(
            err.message,
            "Node device not found: no node device with matching name 'nope'"
        );
        assert!(devices.parent("computer").is_err());
        assert!(devices.list_all_devices(1 << 29).is_err());
    }
}
