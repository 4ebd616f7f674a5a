//! Network ports: one per guest NIC plugged into a network, created when the guest
//! starts (the `port-created` hook may refuse it) and deleted when it stops.

use crate::api::{codes, domains, DriverError, DriverResult, Uuid};

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
) -> DriverResult<String> {
    let mut inner = driver.lock();
    let obj = inner
        .nets
        .iter_mut()
        .find(|n| n.def.name() == network)
        .ok_or_else(|| no_network_name(network))?;
    if !obj.active {
        return Err(not_active(network));
    }
    let bridge = obj.def.bridge_name().map(str::to_string).ok_or_else(|| {
        DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            domains::NETWORK,
            format!("network '{network}' has no bridge"),
        )
    })?;
    obj.ports.retain(|p| p.mac != mac);
    let port = Port {
        uuid: *uuid::Uuid::new_v4().as_bytes(),
        mac: mac.to_string(),
        owner_name: owner_name.to_string(),
        owner_uuid: *owner_uuid,
    };
    network_hooks::run(driver, &obj.def, "port-created", "begin", Some(&port))
        .map_err(|e| e.with_domain())?;
    obj.ports.push(port);
    let _ = objects::save_status(driver.paths(), obj);
    Ok(bridge)
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
