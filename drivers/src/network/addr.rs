//! IPv4/IPv6 subnets and DHCP ranges of network definitions.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::domain_xml::Element;

/// An `<ip address=.. netmask|prefix=..>`: the host's address on the bridge and its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

fn bits(addr: &IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(a) => (u32::from(*a) as u128, 32),
        IpAddr::V6(a) => (u128::from(*a), 128),
    }
}

fn mask(prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        let all = if width == 32 {
            u32::MAX as u128
        } else {
            u128::MAX
        };
        (all << (width - prefix)) & all
    }
}

impl IpNet {
    pub fn from_element(ip: &Element) -> Result<IpNet, String> {
        let text = ip
            .attr("address")
            .ok_or("Missing required address attribute")?;
        let addr: IpAddr = text
            .parse()
            .map_err(|_| format!("Invalid address '{text}'"))?;
        if let Some(family) = ip.attr("family") {
            let ok = matches!(
                (family, addr),
                ("ipv4", IpAddr::V4(_)) | ("ipv6", IpAddr::V6(_))
            );
            if !ok {
                return Err(format!("Family '{family}' specified for address '{text}'"));
            }
        }
        let width = bits(&addr).1;
        let prefix = match (ip.attr("prefix"), ip.attr("netmask")) {
            (Some(p), _) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("Invalid prefix '{p}'"))?,
            (None, Some(m)) => {
                let m: Ipv4Addr = m.parse().map_err(|_| format!("Invalid netmask '{m}'"))?;
                let v = u32::from(m);
                if v.leading_ones() + v.trailing_zeros() != 32 || addr.is_ipv6() {
                    return Err(format!("Invalid netmask '{m}'"));
                }
                v.leading_ones() as u8
            }
            (None, None) => match addr {
                IpAddr::V4(a) => classful_prefix(a),
                IpAddr::V6(_) => 64,
            },
        };
        Ok(IpNet { addr, prefix })
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    pub fn contains(&self, other: &IpAddr) -> bool {
        let (a, w) = bits(&self.addr);
        let (b, w2) = bits(other);
        w == w2 && (a & mask(self.prefix, w)) == (b & mask(self.prefix, w))
    }

    /// Whether two subnets share an address.
    pub fn overlaps(&self, other: &IpNet) -> bool {
        let (a, w) = bits(&self.addr);
        let (b, w2) = bits(&other.addr);
        if w != w2 {
            return false;
        }
        let p = self.prefix.min(other.prefix);
        (a & mask(p, w)) == (b & mask(p, w))
    }

    /// The network address, e.g. 192.168.122.0.
    pub fn network(&self) -> IpAddr {
        let (a, w) = bits(&self.addr);
        from_bits(a & mask(self.prefix, w), w)
    }

    /// "192.168.122.0/24", as firewall rules name the subnet.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.network(), self.prefix)
    }

    /// The netmask in dotted form (IPv4 only).
    pub fn netmask(&self) -> String {
        from_bits(mask(self.prefix, 32), 32).to_string()
    }
}

fn from_bits(v: u128, width: u8) -> IpAddr {
    if width == 32 {
        IpAddr::V4(Ipv4Addr::from(v as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

fn classful_prefix(a: Ipv4Addr) -> u8 {
    match a.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        _ => 24,
    }
}

/// A `<dhcp><range start end>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: IpAddr,
    pub end: IpAddr,
}

impl Range {
    pub fn from_element(range: &Element, net: &IpNet) -> Result<Range, String> {
        let start_text = range.attr("start").unwrap_or("");
        let end_text = range.attr("end").unwrap_or("");
        let start: IpAddr = start_text
            .parse()
            .map_err(|_| format!("Invalid dhcp range '{start_text}' in network"))?;
        let end: IpAddr = end_text
            .parse()
            .map_err(|_| format!("Invalid dhcp range '{end_text}' in network"))?;
        if !net.contains(&start) || !net.contains(&end) {
            return Err(format!(
                "range {start} - {end} is not entirely within network {}/{}",
                net.addr, net.prefix
            ));
        }
        if bits(&start).0 > bits(&end).0 {
            return Err(format!("range {start} - {end} is reversed "));
        }
        Ok(Range { start, end })
    }

    /// Number of addresses in the range.
    pub fn size(&self) -> u128 {
        bits(&self.end).0 - bits(&self.start).0 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(a: &str, p: u8) -> IpNet {
        IpNet {
            addr: a.parse().unwrap(),
            prefix: p,
        }
    }

    #[test]
    fn subnet_arithmetic() {
        let n = net("192.168.122.1", 24);
        assert_eq!(n.cidr(), "192.168.122.0/24");
        assert_eq!(n.netmask(), "255.255.255.0");
        assert!(n.contains(&"192.168.122.254".parse().unwrap()));
        assert!(!n.contains(&"192.168.123.1".parse().unwrap()));
        assert!(n.overlaps(&net("192.168.0.1", 16)));
        assert!(!n.overlaps(&net("192.168.123.1", 24)));
        assert_eq!(net("fd00::1", 64).cidr(), "fd00::/64");
    }
}
