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

/// Counters of a tap device, seen from the guest, from `/proc/net/dev` (which,
/// unlike sysfs, shows the devices of the daemon's own network namespace).
pub(super) fn tap_stats(ifname: &str) -> Option<InterfaceStats> {
    let text = std::fs::read_to_string("/proc/net/dev").ok()?;
    parse_net_dev(&text, ifname)
}

fn parse_net_dev(text: &str, ifname: &str) -> Option<InterfaceStats> {
    let line = text.lines().find_map(|l| {
        let (name, rest) = l.split_once(':')?;
        (name.trim() == ifname).then_some(rest)
    })?;
    let v: Vec<i64> = line
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let field = |i: usize| v.get(i).copied().unwrap_or(0);
    // Host receive is guest transmit: the columns are swapped.
    Some(InterfaceStats {
        rx_bytes: field(8),
        rx_packets: field(9),
        rx_errs: field(10),
        rx_drop: field(11),
        tx_bytes: field(0),
        tx_packets: field(1),
        tx_errs: field(2),
        tx_drop: field(3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_counters_are_swapped_to_the_guests_view() {
        let text =
            "Inter-|   Receive\n face |bytes\n  vnet0: 100 2 0 1 0 0 0 0 300 4 0 0 0 0 0 0\n";
        let s = parse_net_dev(text, "vnet0").expect("vnet0");
        assert_eq!(
            (s.rx_bytes, s.rx_packets, s.tx_bytes, s.tx_drop),
            (300, 4, 100, 1)
        );
        assert!(parse_net_dev(text, "vnet1").is_none());
    }
}
