//! The interface XML libvirt 9.0 writes (`virInterfaceDefFormat`) for what
//! the udev backend describes: no start mode or IP configuration, MTU on the
//! top-level interface only, no link element on bridges, the MAC address on
//! ethernet interfaces only.

use std::fmt::Write;

use super::describe::{Bond, Iface, Kind};
use crate::domain_xml::escape;

pub fn format(iface: &Iface) -> String {
    let mut out = String::new();
    write_iface(&mut out, iface, 0, true);
    out
}

fn write_iface(out: &mut String, iface: &Iface, depth: usize, top: bool) {
    let pad = "  ".repeat(depth);
    let inner = "  ".repeat(depth + 1);
    let kind = match iface.kind {
        Kind::Ethernet => "ethernet",
        Kind::Bridge { .. } => "bridge",
        Kind::Bond(_) => "bond",
        Kind::Vlan { .. } => "vlan",
    };
    let _ = writeln!(
        out,
        "{pad}<interface type='{kind}' name='{}'>",
        escape(&iface.name)
    );
    if top && iface.mtu != 0 {
        let _ = writeln!(out, "{inner}<mtu size='{}'/>", iface.mtu);
    }
    if !matches!(iface.kind, Kind::Bridge { .. }) {
        link(out, &inner, iface);
    }
    match &iface.kind {
        Kind::Ethernet => {
            if !iface.mac.is_empty() {
                let _ = writeln!(out, "{inner}<mac address='{}'/>", iface.mac);
            }
        }
        Kind::Bridge { stp, delay, ports } => {
            let _ = write!(out, "{inner}<bridge");
            match stp {
                1 => out.push_str(" stp='on'"),
                0 => out.push_str(" stp='off'"),
                _ => {}
            }
            let _ = writeln!(out, " delay='{delay}'>");
            for port in ports {
                write_iface(out, port, depth + 2, false);
            }
            let _ = writeln!(out, "{inner}</bridge>");
        }
        Kind::Bond(bond) => write_bond(out, &inner, bond, depth),
        Kind::Vlan { tag, device } => {
            let _ = writeln!(out, "{inner}<vlan tag='{tag}'>");
            let _ = writeln!(out, "{inner}  <interface name='{device}'/>");
            let _ = writeln!(out, "{inner}</vlan>");
        }
    }
    let _ = writeln!(out, "{pad}</interface>");
}

fn link(out: &mut String, indent: &str, iface: &Iface) {
    let speed = iface.speed.filter(|s| *s != 0);
    if speed.is_none() && iface.state.is_none() {
        return;
    }
    let _ = write!(out, "{indent}<link");
    if let Some(speed) = speed {
        let _ = write!(out, " speed='{speed}'");
    }
    if let Some(state) = &iface.state {
        let _ = write!(out, " state='{}'", escape(state));
    }
    out.push_str("/>\n");
}

const BOND_MODES: [&str; 7] = [
    "balance-rr",
    "active-backup",
    "balance-xor",
    "broadcast",
    "802.3ad",
    "balance-tlb",
    "balance-alb",
];

fn write_bond(out: &mut String, indent: &str, bond: &Bond, depth: usize) {
    let _ = write!(out, "{indent}<bond");
    if let Some(mode) = usize::try_from(bond.mode - 1)
        .ok()
        .and_then(|i| BOND_MODES.get(i))
    {
        let _ = write!(out, " mode='{mode}'");
    }
    out.push_str(">\n");
    if bond.arp_interval > 0 {
        let _ = write!(
            out,
            "{indent}  <arpmon interval='{}' target='{}'",
            bond.arp_interval, bond.arp_target
        );
        match bond.arp_validate {
            1 => out.push_str(" validate='active'"),
            2 => out.push_str(" validate='backup'"),
            3 => out.push_str(" validate='all'"),
            _ => {}
        }
        out.push_str("/>\n");
    } else if bond.miimon > 0 {
        let _ = write!(out, "{indent}  <miimon freq='{}'", bond.miimon);
        if bond.downdelay > 0 {
            let _ = write!(out, " downdelay='{}'", bond.downdelay);
        }
        if bond.updelay > 0 {
            let _ = write!(out, " updelay='{}'", bond.updelay);
        }
        match bond.carrier {
            1 => out.push_str(" carrier='ioctl'"),
            2 => out.push_str(" carrier='netif'"),
            _ => {}
        }
        out.push_str("/>\n");
    }
    for slave in &bond.slaves {
        write_iface(out, slave, depth + 2, false);
    }
    let _ = writeln!(out, "{indent}</bond>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(name: &str, state: &str, speed: Option<u32>) -> Iface {
        Iface {
            name: name.to_string(),
            mac: "52:54:00:aa:00:01".to_string(),
            mtu: 1500,
            state: Some(state.to_string()),
            speed,
            kind: Kind::Ethernet,
        }
    }

    #[test]
    fn bridge_with_a_port() {
        let mut br = eth("br0", "up", Some(10000));
        br.kind = Kind::Bridge {
            stp: 0,
            delay: "1500".to_string(),
            ports: vec![eth("vethB", "up", Some(10000))],
        };
        assert_eq!(
            format(&br),
            "<interface type='bridge' name='br0'>\n  <mtu size='1500'/>\n  \
             <bridge stp='off' delay='1500'>\n    <interface type='ethernet' name='vethB'>\n      \
             <link speed='10000' state='up'/>\n      <mac address='52:54:00:aa:00:01'/>\n    \
             </interface>\n  </bridge>\n</interface>\n"
        );
    }

    #[test]
    fn vlan_and_bond() {
        let mut vlan = eth("eth0.10", "lowerlayerdown", None);
        vlan.kind = Kind::Vlan {
            tag: "10".to_string(),
            device: "eth0".to_string(),
        };
        assert_eq!(
            format(&vlan),
            "<interface type='vlan' name='eth0.10'>\n  <mtu size='1500'/>\n  \
             <link state='lowerlayerdown'/>\n  <vlan tag='10'>\n    <interface name='eth0'/>\n  \
             </vlan>\n</interface>\n"
        );
        let mut bond = eth("bond0", "down", None);
        bond.kind = Kind::Bond(Bond {
            mode: 2,
            miimon: 100,
            downdelay: 0,
            updelay: 200,
            carrier: 2,
            arp_interval: 0,
            arp_target: String::new(),
            arp_validate: 0,
            slaves: vec![eth("eth1", "down", None)],
        });
        assert_eq!(
            format(&bond),
            "<interface type='bond' name='bond0'>\n  <mtu size='1500'/>\n  \
             <link state='down'/>\n  <bond mode='active-backup'>\n    \
             <miimon freq='100' updelay='200' carrier='netif'/>\n    \
             <interface type='ethernet' name='eth1'>\n      <link state='down'/>\n      \
             <mac address='52:54:00:aa:00:01'/>\n    </interface>\n  </bond>\n</interface>\n"
        );
    }
}
