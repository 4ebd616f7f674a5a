//! Network ports: one per guest NIC plugged into a network, created when the guest
//! starts (the `port-created` hook may refuse it) and deleted when it stops.

use crate::api::{
    codes, domains, format_uuid, parse_uuid, DriverError, DriverResult, NetworkHandle,
    NetworkPortHandle, Uuid,
};

use super::objects::{self, no_network_name, not_active, Port};
use super::{network_hooks, Networks};

/// Creates the port of the NIC `mac` of guest `owner` on `network`; returns the bridge
/// the guest's tap joins.
pub fn create(
    driver: &Networks,
    network: &str,
    owner_name: &str,
    owner_uuid: &Uuid,
    mac: &str,
    bandwidth: crate::api::PortBandwidth,
) -> DriverResult<String> {
    let port = Port {
        uuid: *uuid::Uuid::new_v4().as_bytes(),
        mac: mac.to_string(),
        owner_name: owner_name.to_string(),
        owner_uuid: *owner_uuid,
        bandwidth,
    };
    add(driver, |n| n.def.name() == network, network, port, true)
}

/// Adds `port` to the network `pick` selects: the network must run, the
/// `port-created` hook may refuse. `replace_mac` drops an older port of the same
/// NIC (a guest restarted after a daemon crash).
fn add(
    driver: &Networks,
    pick: impl Fn(&super::objects::NetObj) -> bool,
    network: &str,
    port: Port,
    replace_mac: bool,
) -> DriverResult<String> {
    let mut inner = driver.lock();
    let obj = inner
        .nets
        .iter_mut()
        .find(|n| pick(n))
        .ok_or_else(|| no_network_name(network))?;
    if !obj.active {
        return Err(not_active(obj.def.name()));
    }
    let bridge = obj.def.bridge_name().map(str::to_string).ok_or_else(|| {
        DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            domains::NETWORK,
            format!("network '{network}' has no bridge"),
        )
    })?;
    if replace_mac {
        obj.ports.retain(|p| p.mac != port.mac);
    } else if obj.ports.iter().any(|p| p.uuid == port.uuid) {
        return Err(DriverError::new(
            NETWORK_PORT_EXIST,
            domains::NETWORK,
            format!("network port {} already exists", format_uuid(&port.uuid)),
        ));
    }
    network_hooks::run(driver, &obj.def, "port-created", "begin", Some(&port))
        .map_err(|e| e.with_domain())?;
    obj.ports.push(port);
    let _ = objects::save_status(driver.paths(), obj);
    Ok(bridge)
}

/// `VIR_ERR_NETWORK_PORT_EXIST` and `VIR_ERR_NO_NETWORK_PORT`.
const NETWORK_PORT_EXIST: i32 = 106;
const NO_NETWORK_PORT: i32 = 107;

pub(super) fn no_port(uuid: &Uuid) -> DriverError {
    let detail = format!("no network port with matching uuid '{}'", format_uuid(uuid));
    DriverError {
        code: NO_NETWORK_PORT,
        domain: domains::NETWORK,
        message: format!("network port not found: {detail}"),
        str1: Some("network port not found: %s".into()),
        str2: Some(detail),
        int1: -1,
        int2: -1,
    }
}

fn handle(obj: &super::objects::NetObj, p: &Port) -> NetworkPortHandle {
    NetworkPortHandle {
        network: obj.handle(),
        uuid: p.uuid,
    }
}

pub fn list(driver: &Networks, h: &NetworkHandle) -> DriverResult<Vec<NetworkPortHandle>> {
    let mut inner = driver.lock();
    let obj = Networks::find(&mut inner, h)?;
    Ok(obj.ports.iter().map(|p| handle(obj, p)).collect())
}

pub fn lookup(
    driver: &Networks,
    h: &NetworkHandle,
    uuid: &Uuid,
) -> DriverResult<NetworkPortHandle> {
    let mut inner = driver.lock();
    let obj = Networks::find(&mut inner, h)?;
    obj.ports
        .iter()
        .find(|p| p.uuid == *uuid)
        .map(|p| handle(obj, p))
        .ok_or_else(|| no_port(uuid))
}

pub fn xml_desc(driver: &Networks, port: &NetworkPortHandle) -> DriverResult<String> {
    let mut inner = driver.lock();
    let obj = Networks::find(&mut inner, &port.network)?;
    let p = obj
        .ports
        .iter()
        .find(|p| p.uuid == port.uuid)
        .ok_or_else(|| no_port(&port.uuid))?;
    Ok(network_hooks::port_xml(
        p,
        obj.def.bridge_name().unwrap_or(""),
        0,
    ))
}

/// `virNetworkPortCreateXML`: a `<networkport>` with an owner (name, uuid) and a MAC.
pub fn create_xml(
    driver: &Networks,
    h: &NetworkHandle,
    xml: &str,
) -> DriverResult<NetworkPortHandle> {
    let bad = |m: &str| DriverError::new(codes::XML_ERROR, domains::NETWORK, m);
    if xml.len() > 64 * 1024 {
        return Err(bad("network port definition too large"));
    }
    let doc = roxmltree::Document::parse(xml).map_err(|e| {
        DriverError::new(
            codes::XML_DETAIL,
            domains::NETWORK,
            format!("(networkport_definition):{e}"),
        )
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "networkport" {
        return Err(bad(&format!(
            "expecting root element of 'networkport', not '{}'",
            root.tag_name().name()
        )));
    }
    let text = |parent: roxmltree::Node, name: &str| {
        parent
            .children()
            .find(|c| c.has_tag_name(name))
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    let uuid = match text(root, "uuid") {
        Some(t) => parse_uuid(&t).ok_or_else(|| bad(&format!("Unable to parse UUID '{t}'")))?,
        None => *uuid::Uuid::new_v4().as_bytes(),
    };
    let owner = root
        .children()
        .find(|c| c.has_tag_name("owner"))
        .ok_or_else(|| bad("missing owner in network port"))?;
    let owner_name =
        text(owner, "name").ok_or_else(|| bad("missing owner name in network port"))?;
    let owner_uuid = text(owner, "uuid")
        .and_then(|t| parse_uuid(&t))
        .ok_or_else(|| bad("missing owner UUID in network port"))?;
    let mac = root
        .children()
        .find(|c| c.has_tag_name("mac"))
        .and_then(|m| m.attribute("address"))
        .filter(|m| super::xml::valid_mac(m))
        .ok_or_else(|| bad("missing or invalid mac address in network port"))?
        .to_string();
    let port = Port {
        uuid,
        mac,
        owner_name,
        owner_uuid,
        bandwidth: super::port_params::parse(root),
    };
    add(driver, |n| n.def.uuid() == h.uuid, &h.name, port, false)?;
    Ok(NetworkPortHandle {
        network: h.clone(),
        uuid,
    })
}

/// `virNetworkPortDelete`.
pub fn delete_by_uuid(driver: &Networks, port: &NetworkPortHandle) -> DriverResult<()> {
    let mac = {
        let mut inner = driver.lock();
        let obj = Networks::find(&mut inner, &port.network)?;
        obj.ports
            .iter()
            .find(|p| p.uuid == port.uuid)
            .map(|p| (obj.def.name().to_string(), p.mac.clone()))
            .ok_or_else(|| no_port(&port.uuid))?
    };
    delete(driver, &mac.0, &mac.1);
    Ok(())
}

/// Deletes the port of NIC `mac` on `network` (nothing when it is gone already).
pub fn delete(driver: &Networks, network: &str, mac: &str) {
    let mut inner = driver.lock();
    let Some(obj) = inner.nets.iter_mut().find(|n| n.def.name() == network) else {
        return;
    };
    let Some(pos) = obj.ports.iter().position(|p| p.mac == mac) else {
        return;
    };
    let port = obj.ports.remove(pos);
    let _ = network_hooks::run(driver, &obj.def, "port-deleted", "begin", Some(&port));
    if obj.active {
        let _ = objects::save_status(driver.paths(), obj);
    }
}
