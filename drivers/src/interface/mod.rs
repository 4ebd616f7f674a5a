//! The host interface driver, read-only, as libvirt 9.0 on Debian 12 ships it
//! (the udev backend, no netcf): the host's network devices from sysfs, each
//! call reading them afresh. An interface is active when its link is up.
//! Defining, starting, stopping and transactions are not supported, as in
//! that backend. libvirt has no interface events.

mod describe;
mod format;
mod primary;
mod scan;

use std::path::PathBuf;
use std::sync::Arc;

use crate::api::{
    codes, domains, interface_list_flags as lf, DriverError, DriverResult, InterfaceConnection,
    InterfaceDriver, InterfaceRef,
};
use crate::nodedev::sysfs::RawDevice;
use crate::nodedev::HostPaths;

pub use primary::InterfacePrimaryDriver;

/// `VIR_INTERFACE_XML_INACTIVE`.
const XML_INACTIVE: u32 = 1;

/// The driver registered with the daemon.
#[derive(Clone)]
pub struct Interfaces {
    paths: HostPaths,
    proc_vlan: PathBuf,
}

impl Default for Interfaces {
    fn default() -> Self {
        Interfaces {
            paths: HostPaths::default(),
            proc_vlan: PathBuf::from("/proc/net/vlan"),
        }
    }
}

impl Interfaces {
    /// A driver reading another sysfs tree and VLAN directory (tests).
    pub fn with_paths(paths: HostPaths, proc_vlan: PathBuf) -> Self {
        Interfaces { paths, proc_vlan }
    }

    fn reference(dev: &RawDevice) -> InterfaceRef {
        InterfaceRef {
            name: dev.sysname.clone(),
            mac: scan::mac(dev),
        }
    }

    /// Names of the listed interfaces whose `operstate` matches `state`.
    fn names_in_state(&self, state: &str, max: usize) -> Vec<String> {
        scan::listed(&self.paths)
            .into_iter()
            .filter(|d| scan::glob_matches(state, &d.attr("operstate").unwrap_or_default()))
            .take(max)
            .map(|d| d.sysname)
            .collect()
    }
}

impl InterfaceDriver for Interfaces {
    fn open(&self, _read_only: bool) -> DriverResult<Arc<dyn InterfaceConnection>> {
        Ok(Arc::new(self.clone()))
    }
}

fn check_flags(flags: u32, allowed: u32, function: &str) -> DriverResult<()> {
    if flags & !allowed != 0 {
        return Err(DriverError::unsupported_flags(
            domains::INTERFACE,
            flags & !allowed,
            function,
        ));
    }
    Ok(())
}

fn count(names: Vec<String>) -> i32 {
    i32::try_from(names.len()).unwrap_or(i32::MAX)
}

impl InterfaceConnection for Interfaces {
    fn num_of_active(&self) -> DriverResult<i32> {
        Ok(count(self.names_in_state("up", usize::MAX)))
    }

    fn list_active(&self, max: usize) -> DriverResult<Vec<String>> {
        Ok(self.names_in_state("up", max))
    }

    /// Interfaces whose `operstate` reads `down` exactly: links in other
    /// states (`unknown`, `lowerlayerdown`) are in neither count, as in libvirt.
    fn num_of_inactive(&self) -> DriverResult<i32> {
        Ok(count(self.names_in_state("down", usize::MAX)))
    }

    fn list_inactive(&self, max: usize) -> DriverResult<Vec<String>> {
        Ok(self.names_in_state("down", max))
    }

    fn list_all(&self, flags: u32) -> DriverResult<Vec<InterfaceRef>> {
        check_flags(
            flags,
            lf::ACTIVE | lf::INACTIVE,
            "udevConnectListAllInterfaces",
        )?;
        Ok(scan::listed(&self.paths)
            .iter()
            .filter(|d| {
                let wanted = if scan::is_up(d) {
                    lf::ACTIVE
                } else {
                    lf::INACTIVE
                };
                // Without a state filter, every interface.
                flags & (lf::ACTIVE | lf::INACTIVE) == 0 || flags & wanted != 0
            })
            .map(Self::reference)
            .collect())
    }

    fn lookup_by_name(&self, name: &str) -> DriverResult<InterfaceRef> {
        scan::by_name(&self.paths, name)
            .map(|d| Self::reference(&d))
            .ok_or_else(|| describe::not_found(name))
    }

    fn lookup_by_mac(&self, mac: &str) -> DriverResult<InterfaceRef> {
        let found: Vec<RawDevice> = scan::listed(&self.paths)
            .into_iter()
            .filter(|d| scan::glob_matches(mac, &scan::mac(d)))
            .collect();
        match found.as_slice() {
            [one] => Ok(Self::reference(one)),
            [] => Err(DriverError::new(
                codes::NO_INTERFACE,
                domains::INTERFACE,
                format!("couldn't find interface with MAC address '{mac}'"),
            )),
            _ => Err(DriverError::new(
                codes::MULTIPLE_INTERFACES,
                domains::INTERFACE,
                format!("the MAC address '{mac}' matches multiple interfaces"),
            )),
        }
    }

    fn xml_desc(&self, name: &str, flags: u32) -> DriverResult<String> {
        check_flags(flags, XML_INACTIVE, "udevInterfaceGetXMLDesc")?;
        let sources = describe::Sources {
            paths: &self.paths,
            proc_vlan: &self.proc_vlan,
        };
        describe::describe(&sources, name).map(|iface| format::format(&iface))
    }

    fn is_active(&self, name: &str) -> DriverResult<bool> {
        scan::by_name(&self.paths, name)
            .map(|d| scan::is_up(&d))
            .ok_or_else(|| describe::not_found(name))
    }
}

#[cfg(test)]
mod tests;
