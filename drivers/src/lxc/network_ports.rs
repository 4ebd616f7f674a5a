//! `<interface type='network'>` of a container: before the supervisor starts, each such
//! NIC gets a port on its network from the network driver (which runs the
//! `port-created` hook and names the bridge); the bridge goes into the status XML the
//! supervisor reads, which joins the veth's host end to it. The ports are deleted when
//! the container stops.

use std::sync::Arc;

use crate::api::{codes, domains, DriverError, DriverResult, NetworkDriver};
use crate::domain_xml::{DomainDef, Element};

fn is_network_nic(device: &Element) -> bool {
    device.name == "interface" && device.attr("type") == Some("network")
}

/// (network, MAC) of a network NIC.
fn port_key(nic: &Element) -> (String, String) {
    let network = nic.child("source").and_then(|s| s.attr("network"));
    let mac = nic.child("mac").and_then(|m| m.attr("address"));
    (
        network.unwrap_or("").to_string(),
        mac.unwrap_or("").to_string(),
    )
}

/// Creates the ports of the network NICs of `def` and records each bridge in the NIC's
/// `<source bridge=...>`; on failure the ports made so far are deleted.
pub fn plug(network: Option<&Arc<dyn NetworkDriver>>, def: &mut DomainDef) -> DriverResult<()> {
    let nics: Vec<(String, String)> = def
        .devices
        .iter()
        .filter(|d| is_network_nic(d))
        .map(port_key)
        .collect();
    if nics.is_empty() {
        return Ok(());
    }
    let Some(driver) = network else {
        return Err(DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            domains::LXC,
            "interface type 'network' needs the network driver, which this daemon does not run",
        ));
    };
    let bandwidths: Vec<crate::api::PortBandwidth> = def
        .devices
        .iter()
        .filter(|d| is_network_nic(d))
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
                return Err(e);
            }
        }
    }
    let mut bridges = bridges.into_iter();
    for nic in def.devices.iter_mut().filter(|d| is_network_nic(d)) {
        if let (Some(source), Some(bridge)) = (nic.child_mut("source"), bridges.next()) {
            source.set_attr("bridge", &bridge);
        }
    }
    Ok(())
}

/// Deletes the ports of the network NICs of a container that stopped (or failed to
/// start).
pub fn unplug(network: Option<&Arc<dyn NetworkDriver>>, def: &DomainDef) {
    let Some(driver) = network else {
        return;
    };
    for (net, mac) in def
        .devices
        .iter()
        .filter(|d| is_network_nic(d))
        .map(port_key)
    {
        driver.port_delete(&net, &mac);
    }
}

/// Gives the network NICs of `live` (the definition shown while running) the bridges
/// `plugged` got, NIC by NIC; true when there was any.
pub fn copy_bridges(plugged: &DomainDef, live: &mut DomainDef) -> bool {
    let bridges: Vec<Option<String>> = plugged
        .devices
        .iter()
        .filter(|d| is_network_nic(d))
        .map(|d| {
            d.child("source")
                .and_then(|s| s.attr("bridge"))
                .map(str::to_string)
        })
        .collect();
    let nics = live.devices.iter_mut().filter(|d| is_network_nic(d));
    for (nic, bridge) in nics.zip(&bridges) {
        if let (Some(source), Some(bridge)) = (nic.child_mut("source"), bridge) {
            source.set_attr("bridge", bridge);
        }
    }
    !bridges.is_empty()
}
