//! `<interface type='network'>`: at guest start each such NIC gets a port on its
//! network from the network driver (which runs the `port-created` hook and names the
//! bridge); the NIC then takes the bridge path (a `vnetN` tap on that bridge). When the
//! guest stops, the ports are deleted again.

use std::sync::Arc;

use super::error::QemuError;
use crate::api::NetworkDriver;
use crate::domain_xml::DomainDef;

fn network_nics(def: &DomainDef) -> impl Iterator<Item = (String, String)> + '_ {
    def.devices
        .iter()
        .filter(|d| d.name == "interface" && d.attr("type") == Some("network"))
        .map(|d| {
            let network = d
                .child("source")
                .and_then(|s| s.attr("network"))
                .unwrap_or("")
                .to_string();
            let mac = d
                .child("mac")
                .and_then(|m| m.attr("address"))
                .unwrap_or("")
                .to_string();
            (network, mac)
        })
}

/// Creates the ports of every network NIC of `def` and records each NIC's bridge in
/// its `<source bridge=...>`; on failure the ports made so far are deleted.
pub fn plug(
    network: Option<&Arc<dyn NetworkDriver>>,
    def: &mut DomainDef,
) -> Result<(), QemuError> {
    let nics: Vec<(String, String)> = network_nics(def).collect();
    if nics.is_empty() {
        return Ok(());
    }
    let Some(driver) = network else {
        return Err(QemuError::Unsupported(
            "interface type 'network' needs the network driver, which this daemon does not run"
                .into(),
        ));
    };
    let bandwidths: Vec<crate::api::PortBandwidth> = def
        .devices
        .iter()
        .filter(|d| d.name == "interface" && d.attr("type") == Some("network"))
        .map(crate::api::PortBandwidth::of_nic)
        .collect();
    let mut bridges = Vec::new();
    for ((net, mac), bandwidth) in nics.iter().zip(&bandwidths) {
        match driver.port_create(net, &def.name, &def.uuid, mac, bandwidth) {
            Ok(bridge) => bridges.push(bridge),
            Err(e) => {
                for (net, mac) in nics.iter().take(bridges.len()) {
                    driver.port_delete(net, mac);
                }
                return Err(QemuError::Failed(e.message));
            }
        }
    }
    let mut bridges = bridges.into_iter();
    for nic in def
        .devices
        .iter_mut()
        .filter(|d| d.name == "interface" && d.attr("type") == Some("network"))
    {
        if let (Some(source), Some(bridge)) = (nic.child_mut("source"), bridges.next()) {
            source.set_attr("bridge", &bridge);
        }
    }
    Ok(())
}

/// Deletes the ports of the network NICs of a guest that stopped (or failed to start).
pub fn unplug(network: Option<&Arc<dyn NetworkDriver>>, def: &DomainDef) {
    let Some(driver) = network else {
        return;
    };
    for (net, mac) in network_nics(def) {
        driver.port_delete(&net, &mac);
    }
}

/// Hot plug of one network NIC into a running guest: its port is created and its
/// `<source bridge=...>` set, as at guest start.
pub fn plug_nic(
    network: Option<&Arc<dyn NetworkDriver>>,
    guest: &DomainDef,
    nic: &mut crate::domain_xml::Element,
) -> Result<(), QemuError> {
    let mut holder = guest.clone();
    holder.devices = vec![nic.clone()];
    plug(network, &mut holder)?;
    *nic = holder.devices.remove(0);
    Ok(())
}

/// The port of one network NIC that left a running guest (or failed to plug).
pub fn unplug_nic(network: Option<&Arc<dyn NetworkDriver>>, nic: &crate::domain_xml::Element) {
    let (Some(driver), Some("network")) = (network, nic.attr("type")) else {
        return;
    };
    let net = nic.child("source").and_then(|s| s.attr("network"));
    let mac = nic.child("mac").and_then(|m| m.attr("address"));
    if let (Some(net), Some(mac)) = (net, mac) {
        driver.port_delete(net, mac);
    }
}

/// `domifaddr --source lease`: the network NICs of a running guest with the leases
/// their network's dnsmasq gave their MAC (NICs without a lease are left out, as
/// libvirt does).
pub fn lease_addresses(
    network: Option<&Arc<dyn NetworkDriver>>,
    def: &DomainDef,
) -> Vec<crate::api::InterfaceAddresses> {
    let Some(driver) = network else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for nic in def
        .devices
        .iter()
        .filter(|d| d.name == "interface" && d.attr("type") == Some("network"))
    {
        let net = nic
            .child("source")
            .and_then(|s| s.attr("network"))
            .unwrap_or("");
        let mac = nic
            .child("mac")
            .and_then(|m| m.attr("address"))
            .unwrap_or("");
        let addrs: Vec<(i32, String, u32)> = driver
            .leases(net)
            .into_iter()
            .filter(|l| {
                l.mac
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(mac))
            })
            .map(|l| (l.addr_type, l.ipaddr, l.prefix))
            .collect();
        if addrs.is_empty() {
            continue;
        }
        let name = nic
            .child("target")
            .and_then(|t| t.attr("dev"))
            .unwrap_or("")
            .to_string();
        out.push(crate::api::InterfaceAddresses {
            name,
            hwaddr: Some(mac.to_string()),
            addrs,
        });
    }
    out
}
