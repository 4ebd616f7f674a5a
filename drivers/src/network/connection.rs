//! One client's connection to the network driver.

use std::sync::Arc;

use crate::api::{
    domains, network_list_flags as lf, DhcpLease, DriverError, DriverResult, NetworkConnection,
    NetworkHandle, Uuid,
};

use super::objects::{no_network_name, no_network_uuid, NetObj};
use super::{dnsmasq, objects, Networks};

/// `VIR_NETWORK_XML_INACTIVE`.
const XML_INACTIVE: u32 = 1;
/// `VIR_NETWORK_CREATE_VALIDATE` / `VIR_NETWORK_DEFINE_VALIDATE`.
const VALIDATE: u32 = 1;

/// Read-only refusals are the daemon's (from the procedure table), so the
/// connection needs nothing but the driver.
pub struct NetConn {
    pub driver: Arc<Networks>,
}

fn keep(n: &NetObj, flags: u32) -> bool {
    let pair = |a: u32, b: u32, is_a: bool| {
        flags & (a | b) == 0
            || flags & (a | b) == (a | b)
            || (is_a && flags & a != 0)
            || (!is_a && flags & b != 0)
    };
    pair(lf::ACTIVE, lf::INACTIVE, n.active)
        && pair(lf::PERSISTENT, lf::TRANSIENT, n.persistent)
        && pair(lf::AUTOSTART, lf::NO_AUTOSTART, n.autostart)
}

impl NetConn {
    fn with<T>(&self, h: &NetworkHandle, f: impl FnOnce(&NetObj) -> T) -> DriverResult<T> {
        let inner = self.driver.lock();
        inner
            .nets
            .iter()
            .find(|n| n.def.uuid() == h.uuid)
            .map(f)
            .ok_or_else(|| no_network_uuid(&h.uuid, &h.name))
    }
}

impl NetworkConnection for NetConn {
    fn list_all_networks(&self, flags: u32) -> DriverResult<Vec<NetworkHandle>> {
        let all = lf::INACTIVE
            | lf::ACTIVE
            | lf::PERSISTENT
            | lf::TRANSIENT
            | lf::AUTOSTART
            | lf::NO_AUTOSTART;
        if flags & !all != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkConnectListAllNetworks",
            ));
        }
        let inner = self.driver.lock();
        Ok(inner
            .nets
            .iter()
            .filter(|n| keep(n, flags))
            .map(NetObj::handle)
            .collect())
    }

    fn list_network_names(&self, active: bool, max: usize) -> DriverResult<Vec<String>> {
        let inner = self.driver.lock();
        Ok(inner
            .nets
            .iter()
            .filter(|n| n.active == active)
            .take(max)
            .map(|n| n.def.name().to_string())
            .collect())
    }

    fn num_of_networks(&self, active: bool) -> DriverResult<i32> {
        let inner = self.driver.lock();
        Ok(inner.nets.iter().filter(|n| n.active == active).count() as i32)
    }

    fn network_lookup_by_name(&self, name: &str) -> DriverResult<NetworkHandle> {
        let inner = self.driver.lock();
        inner
            .nets
            .iter()
            .find(|n| n.def.name() == name)
            .map(NetObj::handle)
            .ok_or_else(|| no_network_name(name))
    }

    fn network_lookup_by_uuid(&self, uuid: &Uuid) -> DriverResult<NetworkHandle> {
        let inner = self.driver.lock();
        inner
            .nets
            .iter()
            .find(|n| n.def.uuid() == *uuid)
            .map(NetObj::handle)
            .ok_or_else(|| no_network_uuid(uuid, ""))
    }

    fn network_define_xml(&self, xml: &str, flags: u32) -> DriverResult<NetworkHandle> {
        if flags & !VALIDATE != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkDefineXMLFlags",
            ));
        }
        self.driver.define(xml)
    }

    fn network_create_xml(&self, xml: &str, flags: u32) -> DriverResult<NetworkHandle> {
        if flags & !VALIDATE != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkCreateXMLFlags",
            ));
        }
        self.driver.create_transient(xml)
    }

    fn network_undefine(&self, h: &NetworkHandle) -> DriverResult<()> {
        self.driver.undefine(h)
    }

    fn network_create(&self, h: &NetworkHandle) -> DriverResult<()> {
        self.driver.start(h)
    }

    fn network_destroy(&self, h: &NetworkHandle) -> DriverResult<()> {
        self.driver.destroy(h)
    }

    fn network_get_xml_desc(&self, h: &NetworkHandle, flags: u32) -> DriverResult<String> {
        if flags & !XML_INACTIVE != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkGetXMLDesc",
            ));
        }
        self.with(h, |n| {
            if flags & XML_INACTIVE != 0 {
                n.persistent_def().format()
            } else {
                n.def.format()
            }
        })
    }

    fn network_get_autostart(&self, h: &NetworkHandle) -> DriverResult<bool> {
        self.with(h, |n| n.autostart)
    }

    fn network_set_autostart(&self, h: &NetworkHandle, on: bool) -> DriverResult<()> {
        let mut inner = self.driver.lock();
        let obj = Networks::find(&mut inner, h)?;
        if !obj.persistent {
            return Err(DriverError::new(
                crate::api::codes::OPERATION_INVALID,
                domains::NETWORK,
                "cannot set autostart for transient network",
            ));
        }
        if obj.autostart != on {
            objects::set_autostart_link(self.driver.paths(), obj.def.name(), on)?;
            obj.autostart = on;
        }
        Ok(())
    }

    fn network_get_bridge_name(&self, h: &NetworkHandle) -> DriverResult<String> {
        self.with(h, |n| n.def.bridge_name().map(str::to_string))?
            .ok_or_else(|| {
                DriverError::new(
                    crate::api::codes::INTERNAL_ERROR,
                    domains::NETWORK,
                    format!("network '{}' does not have a bridge name.", h.name),
                )
            })
    }

    fn network_is_active(&self, h: &NetworkHandle) -> DriverResult<bool> {
        self.with(h, |n| n.active)
    }

    fn network_is_persistent(&self, h: &NetworkHandle) -> DriverResult<bool> {
        self.with(h, |n| n.persistent)
    }

    fn network_update(
        &self,
        h: &NetworkHandle,
        command: u32,
        section: u32,
        parent_index: i32,
        xml: &str,
        flags: u32,
    ) -> DriverResult<()> {
        self.driver
            .update(h, command, section, parent_index, xml, flags)
    }

    fn network_list_all_ports(
        &self,
        h: &NetworkHandle,
        flags: u32,
    ) -> DriverResult<Vec<crate::api::NetworkPortHandle>> {
        if flags != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkListAllPorts",
            ));
        }
        super::ports::list(&self.driver, h)
    }

    fn network_port_lookup_by_uuid(
        &self,
        h: &NetworkHandle,
        uuid: &Uuid,
    ) -> DriverResult<crate::api::NetworkPortHandle> {
        super::ports::lookup(&self.driver, h, uuid)
    }

    fn network_port_create_xml(
        &self,
        h: &NetworkHandle,
        xml: &str,
        flags: u32,
    ) -> DriverResult<crate::api::NetworkPortHandle> {
        if flags & !VALIDATE != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkPortCreateXML",
            ));
        }
        super::ports::create_xml(&self.driver, h, xml)
    }

    fn network_port_get_parameters(
        &self,
        port: &crate::api::NetworkPortHandle,
        flags: u32,
    ) -> DriverResult<Vec<crate::api::NamedParam>> {
        super::port_params::get(&self.driver, port, flags)
    }

    fn network_port_set_parameters(
        &self,
        port: &crate::api::NetworkPortHandle,
        params: &[crate::api::NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        super::port_params::set(&self.driver, port, params, flags)
    }

    fn network_port_get_xml_desc(
        &self,
        port: &crate::api::NetworkPortHandle,
        flags: u32,
    ) -> DriverResult<String> {
        if flags != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkPortGetXMLDesc",
            ));
        }
        super::ports::xml_desc(&self.driver, port)
    }

    fn network_port_delete(
        &self,
        port: &crate::api::NetworkPortHandle,
        flags: u32,
    ) -> DriverResult<()> {
        if flags != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkPortDelete",
            ));
        }
        super::ports::delete_by_uuid(&self.driver, port)
    }

    fn network_dhcp_leases(
        &self,
        h: &NetworkHandle,
        mac: Option<&str>,
        flags: u32,
    ) -> DriverResult<Vec<DhcpLease>> {
        if flags != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkGetDHCPLeases",
            ));
        }
        dhcp_leases(&self.driver, h, mac)
    }
}

/// Leases of a network from dnsmasq's lease file, unexpired, optionally of one MAC.
pub(super) fn dhcp_leases(
    driver: &Networks,
    h: &NetworkHandle,
    mac: Option<&str>,
) -> DriverResult<Vec<DhcpLease>> {
    let def = {
        let inner = driver.lock();
        inner
            .nets
            .iter()
            .find(|n| n.def.uuid() == h.uuid)
            .map(|n| n.def.clone())
            .ok_or_else(|| no_network_uuid(&h.uuid, &h.name))?
    };
    let files = dnsmasq::files(driver.paths(), def.name());
    let nets: Vec<_> = def
        .ips()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.net)
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let leases = dnsmasq::leases(&files, def.bridge_name().unwrap_or(""), |ip| {
        nets.iter()
            .find(|n| n.contains(ip))
            .map(|n| n.prefix as u32)
            .unwrap_or(0)
    });
    Ok(leases
        .into_iter()
        .filter(|l| l.expiry_time == 0 || l.expiry_time > now)
        .filter(|l| match mac {
            Some(m) => l.mac.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(m)),
            None => true,
        })
        .collect())
}
