//! NIC counters of running guests, from the host side of their tap devices (whose
//! receive direction is the guest's transmit direction, so the two are swapped).

use crate::api::{codes, domains, DriverError, DriverResult, InterfaceStats};
use crate::domain_xml::{DomainDef, Element};

pub(super) fn interfaces(def: &DomainDef) -> impl Iterator<Item = &Element> {
    def.devices.iter().filter(|d| d.name == "interface")
}

/// The host-side device name of a NIC (bridge NICs have a tap; user NICs none).
pub(super) fn host_ifname(nic: &Element) -> Option<&str> {
    nic.child("target").and_then(|t| t.attr("dev"))
}

fn mac(nic: &Element) -> Option<&str> {
    nic.child("mac").and_then(|m| m.attr("address"))
}

/// `virDomainInterfaceStats`: `path` is the host device name or the MAC address.
pub(super) fn interface_stats(def: &DomainDef, path: &str) -> DriverResult<InterfaceStats> {
    let nic = interfaces(def)
        .find(|n| host_ifname(n) == Some(path))
        .or_else(|| interfaces(def).find(|n| mac(n).is_some_and(|m| m.eq_ignore_ascii_case(path))))
        .ok_or_else(|| {
            DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                format!("'{path}' is not a known interface"),
            )
        })?;
    let Some(ifname) = host_ifname(nic) else {
        return Err(DriverError::new(
            codes::INTERNAL_ERROR,
            domains::QEMU,
            "Interface name not provided",
        ));
    };
    tap_stats(ifname).ok_or_else(|| {
        DriverError::new(
            codes::SYSTEM_ERROR,
            domains::QEMU,
            format!("Interface not found: {ifname}"),
        )
    })
}

/// Counters of a tap device, seen from the guest.
pub(super) fn tap_stats(ifname: &str) -> Option<InterfaceStats> {
    if ifname.is_empty() || ifname.contains('/') || ifname.starts_with('.') {
        return None;
    }
    let dir = std::path::Path::new("/sys/class/net")
        .join(ifname)
        .join("statistics");
    let read = |name: &str| -> Option<i64> {
        std::fs::read_to_string(dir.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some(InterfaceStats {
        rx_bytes: read("tx_bytes")?,
        rx_packets: read("tx_packets")?,
        rx_errs: read("tx_errors")?,
        rx_drop: read("tx_dropped")?,
        tx_bytes: read("rx_bytes")?,
        tx_packets: read("rx_packets")?,
        tx_errs: read("rx_errors")?,
        tx_drop: read("rx_dropped")?,
    })
}
