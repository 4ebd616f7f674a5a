//! Network XML: parsed into an element tree, checked and completed the way
//! libvirt's network driver completes a definition (uuid, `virbrN` bridge with
//! stp and delay, a MAC for the bridge, `<forward/>` meaning NAT), and written
//! back in libvirt's element and attribute order.

use std::net::IpAddr;

use crate::api::{codes, domains, format_uuid, parse_uuid, DriverError, DriverResult, Uuid};
use crate::domain_xml::Element;

use super::xml_layout::{
    check_depth, sort_tree, strip_layout, write_element, MAX_XML_BYTES, MAX_XML_NODES,
    NETWORK_ORDER,
};

use super::addr::{IpNet, Range};

/// How the network reaches the outside (`<forward mode=...>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardMode {
    /// No `<forward>`: guests reach each other and the host only.
    Isolated,
    Nat,
    Route,
    Open,
    /// An existing host bridge: nothing created, no dnsmasq, no rules.
    Bridge,
}

impl ForwardMode {
    /// Whether the driver creates a bridge, runs dnsmasq and sets rules for it.
    pub fn is_virtual(self) -> bool {
        !matches!(self, ForwardMode::Bridge)
    }
}

/// One `<ip>` of a network, as the driver uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpDef {
    pub net: IpNet,
    pub ranges: Vec<Range>,
    /// `(mac, name, ip)` of `<dhcp><host>` entries.
    pub hosts: Vec<(Option<String>, Option<String>, Option<IpAddr>)>,
}

/// A checked network definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkDef {
    root: Element,
}

pub(super) fn xml_error(msg: impl Into<String>) -> DriverError {
    DriverError::new(codes::XML_ERROR, domains::NETWORK, msg)
}

pub fn internal(msg: impl Into<String>) -> DriverError {
    DriverError::new(codes::INTERNAL_ERROR, domains::NETWORK, msg)
}

/// Longest network name accepted (names become file names and dnsmasq arguments).
const MAX_NAME: usize = 200;
/// Longest interface name Linux accepts (IFNAMSIZ - 1).
pub const MAX_IFNAME: usize = 15;

/// Checks a name used in paths and on command lines.
pub fn check_name(name: &str) -> DriverResult<()> {
    if name.is_empty() {
        return Err(DriverError::bare(codes::NO_NAME, domains::NETWORK));
    }
    if let Some(bad) = name.chars().find(|c| *c == '/' || c.is_control()) {
        let shown = if bad == '/' {
            "/".to_string()
        } else {
            bad.to_string()
        };
        return Err(DriverError::new(
            codes::XML_DETAIL,
            domains::NETWORK,
            format!("invalid char in name: {shown}"),
        ));
    }
    if name.starts_with('.') || name.len() > MAX_NAME {
        return Err(xml_error(format!("network name '{name}' is not allowed")));
    }
    Ok(())
}

/// Checks an interface name: at most 15 bytes of letters, digits, '-', '_' and '.'
/// (names reach command lines, dnsmasq's configuration and nft scripts).
pub fn check_ifname(name: &str) -> DriverResult<()> {
    let bad = name.is_empty()
        || name.len() > MAX_IFNAME
        || name == "."
        || name == ".."
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if bad {
        return Err(xml_error(format!("invalid bridge name '{name}'")));
    }
    Ok(())
}

impl NetworkDef {
    /// Parses and checks `xml`; defaults are not filled in yet (see [`NetworkDef::complete`]).
    pub fn parse(xml: &str) -> DriverResult<NetworkDef> {
        if xml.len() > MAX_XML_BYTES {
            return Err(xml_error(format!(
                "network definition is {} bytes, more than the limit of {MAX_XML_BYTES}",
                xml.len()
            )));
        }
        check_depth(xml)?;
        let options = roxmltree::ParsingOptions {
            allow_dtd: false,
            nodes_limit: MAX_XML_NODES,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|e| {
            DriverError::new(
                codes::XML_DETAIL,
                domains::NETWORK,
                format!("(network_definition):{e}"),
            )
        })?;
        let node = doc.root_element();
        if node.tag_name().name() != "network" {
            return Err(xml_error(format!(
                "expecting root element of 'network', not '{}'",
                node.tag_name().name()
            )));
        }
        let mut root = Element::from_node(node);
        // Whitespace-only text of container elements is layout, not content.
        strip_layout(&mut root);
        let def = NetworkDef { root };
        def.check()?;
        Ok(def)
    }

    fn check(&self) -> DriverResult<()> {
        let name = self
            .root
            .child("name")
            .and_then(|n| n.text.as_deref())
            .map(str::trim)
            .unwrap_or("");
        check_name(name)?;
        if let Some(uuid) = self.root.child("uuid") {
            let text = uuid.text.as_deref().unwrap_or("");
            if parse_uuid(text).is_none() {
                return Err(internal(format!("Unable to parse uuid '{text}'")));
            }
        }
        let mode = self.forward_mode_checked()?;
        if let Some(bridge) = self.root.child("bridge").and_then(|b| b.attr("name")) {
            if !(mode.is_virtual() && bridge.contains("%d")) {
                check_ifname(bridge)?;
            }
        }
        if mode == ForwardMode::Bridge && self.bridge_name().is_none() {
            let has_dev = self
                .root
                .child("forward")
                .is_some_and(|f| f.attr("dev").is_some() || f.child("interface").is_some());
            if !has_dev {
                return Err(xml_error(format!(
                    "network '{}' has forward mode 'bridge'  but no bridge device defined",
                    self.name()
                )));
            }
        }
        if let Some(mtu) = self.root.child("mtu") {
            if mtu
                .attr("size")
                .and_then(|s| s.parse::<u32>().ok())
                .is_none()
            {
                return Err(xml_error(format!(
                    "malformed mtu size in network '{}'",
                    self.name()
                )));
            }
        }
        if let Some(mac) = self.root.child("mac").and_then(|m| m.attr("address")) {
            if !valid_mac(mac) {
                return Err(xml_error(format!(
                    "Invalid bridge mac address '{mac}' in network '{}'",
                    self.name()
                )));
            }
        }
        if let Some(dev) = self.forward_dev() {
            check_ifname(dev)?;
        }
        self.ips()?;
        self.dns_hosts()?;
        self.check_dnsmasq_values()?;
        Ok(())
    }

    /// Values written into dnsmasq's configuration: nothing that could end a line or
    /// split a field, so a definition cannot add directives of its own.
    fn check_dnsmasq_values(&self) -> DriverResult<()> {
        let name = self.name().to_string();
        let bad = |what: &str| Err(xml_error(format!("invalid {what} in network '{name}'")));
        if let Some(domain) = self.root.child("domain") {
            if !domain.attr("name").is_some_and(valid_hostname) {
                return bad("DNS domain name");
            }
        }
        for (domain, addr) in self.dns_forwarders() {
            if domain.is_some_and(|d| !valid_hostname(d)) {
                return bad("DNS forwarder domain");
            }
            if addr.is_some_and(|a| a.parse::<IpAddr>().is_err()) {
                return bad("DNS forwarder address");
            }
        }
        for (txt_name, value) in self.dns_txts() {
            let plain = |s: &str| !s.chars().any(|c| c.is_control() || c == ',');
            if !valid_hostname(txt_name) || !plain(value) {
                return bad("DNS TXT record");
            }
        }
        for srv in self.dns_srvs() {
            let word = |k: &str| {
                srv.attr(k).is_none_or(|v| {
                    !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
            };
            let host = |k: &str| srv.attr(k).is_none_or(valid_hostname);
            let number = |k: &str| srv.attr(k).is_none_or(|v| v.parse::<u16>().is_ok());
            let ok = srv.attr("service").is_some()
                && word("service")
                && word("protocol")
                && host("domain")
                && host("target")
                && number("port")
                && number("priority")
                && number("weight");
            if !ok {
                return bad("DNS SRV record");
            }
        }
        Ok(())
    }

    /// Fills in what libvirt adds at define time: a UUID, the bridge (the first
    /// free `virbrN` when absent) with stp and delay, a bridge MAC and the
    /// explicit NAT mode. `taken_bridges` are bridge names of other networks.
    pub fn complete(&mut self, taken_bridges: &[String], host_has_link: impl Fn(&str) -> bool) {
        if self.root.child("uuid").is_none() {
            let uuid = *uuid::Uuid::new_v4().as_bytes();
            self.root
                .children
                .push(Element::new("uuid").with_text(&format_uuid(&uuid)));
        }
        let mode = self.forward_mode();
        if let Some(forward) = self.root.child_mut("forward") {
            if forward.attr("mode").is_none() {
                forward.set_attr("mode", "nat");
            }
        }
        if mode.is_virtual() {
            let wanted = self
                .root
                .child("bridge")
                .and_then(|b| b.attr("name"))
                .map(str::to_string);
            let name = match wanted {
                Some(name) if !name.contains("%d") => name,
                pattern => {
                    let pattern = pattern.unwrap_or_else(|| "virbr%d".to_string());
                    (0..256)
                        .map(|i| pattern.replacen("%d", &i.to_string(), 1))
                        .find(|n| !taken_bridges.contains(n) && !host_has_link(n))
                        .unwrap_or_else(|| pattern.replacen("%d", "256", 1))
                }
            };
            if self.root.child("bridge").is_none() {
                self.root.children.push(Element::new("bridge"));
            }
            if let Some(bridge) = self.root.child_mut("bridge") {
                bridge.set_attr("name", &name);
                if bridge.attr("stp").is_none() {
                    bridge.set_attr("stp", "on");
                }
                if bridge.attr("delay").is_none() {
                    bridge.set_attr("delay", "0");
                }
            }
            if self.root.child("mac").is_none() {
                let uuid = uuid::Uuid::new_v4();
                let b = uuid.as_bytes();
                let mac = format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2]);
                self.root
                    .children
                    .push(Element::new("mac").with_attr("address", &mac));
            }
        }
        self.normalize();
    }

    fn normalize(&mut self) {
        self.root.order_children(NETWORK_ORDER);
        sort_tree(&mut self.root);
    }

    pub fn name(&self) -> &str {
        self.root
            .child("name")
            .and_then(|n| n.text.as_deref())
            .map(str::trim)
            .unwrap_or("")
    }

    pub fn uuid(&self) -> Uuid {
        self.root
            .child("uuid")
            .and_then(|u| u.text.as_deref())
            .and_then(parse_uuid)
            .unwrap_or([0; 16])
    }

    pub fn set_uuid(&mut self, uuid: &Uuid) {
        self.root.children.retain(|c| c.name != "uuid");
        self.root
            .children
            .push(Element::new("uuid").with_text(&format_uuid(uuid)));
        self.normalize();
    }

    fn forward_mode_checked(&self) -> DriverResult<ForwardMode> {
        let Some(forward) = self.root.child("forward") else {
            return Ok(ForwardMode::Isolated);
        };
        match forward.attr("mode").unwrap_or("nat") {
            "nat" => Ok(ForwardMode::Nat),
            "route" => Ok(ForwardMode::Route),
            "open" => Ok(ForwardMode::Open),
            "bridge" => Ok(ForwardMode::Bridge),
            other @ ("private" | "vepa" | "passthrough" | "hostdev") => Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::NETWORK,
                format!("forward mode '{other}' is not supported by this daemon"),
            )),
            other => Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::NETWORK,
                format!("unknown forwarding type '{other}'"),
            )),
        }
    }

    pub fn forward_mode(&self) -> ForwardMode {
        self.forward_mode_checked().unwrap_or(ForwardMode::Isolated)
    }

    /// `<forward dev=...>`: the only outgoing interface NAT/route rules allow.
    pub fn forward_dev(&self) -> Option<&str> {
        self.root.child("forward").and_then(|f| f.attr("dev"))
    }

    /// The NAT port range (`<nat><port start end>`), if given.
    pub fn nat_ports(&self) -> Option<(u32, u32)> {
        let port = self.root.child("forward")?.child("nat")?.child("port")?;
        Some((
            port.attr("start")?.parse().ok()?,
            port.attr("end")?.parse().ok()?,
        ))
    }

    pub fn bridge_name(&self) -> Option<&str> {
        self.root.child("bridge").and_then(|b| b.attr("name"))
    }

    pub fn bridge_stp(&self) -> bool {
        self.root
            .child("bridge")
            .and_then(|b| b.attr("stp"))
            .map(|s| s != "off")
            .unwrap_or(true)
    }

    pub fn bridge_delay(&self) -> u32 {
        self.root
            .child("bridge")
            .and_then(|b| b.attr("delay"))
            .and_then(|d| d.parse().ok())
            .unwrap_or(0)
    }

    pub fn mac(&self) -> Option<&str> {
        self.root.child("mac").and_then(|m| m.attr("address"))
    }

    pub fn mtu(&self) -> Option<u32> {
        self.root
            .child("mtu")
            .and_then(|m| m.attr("size"))
            .and_then(|s| s.parse().ok())
    }

    /// `<domain name=.. localOnly=..>`.
    pub fn dns_domain(&self) -> Option<(&str, bool)> {
        let d = self.root.child("domain")?;
        Some((d.attr("name")?, d.attr("localOnly") == Some("yes")))
    }

    pub fn dns_enabled(&self) -> bool {
        self.root.child("dns").and_then(|d| d.attr("enable")) != Some("no")
    }

    /// `<dns><forwarder>`: `(domain, addr)`.
    pub fn dns_forwarders(&self) -> Vec<(Option<&str>, Option<&str>)> {
        self.children_of("dns", "forwarder")
            .map(|f| (f.attr("domain"), f.attr("addr")))
            .collect()
    }

    pub fn dns_txts(&self) -> Vec<(&str, &str)> {
        self.children_of("dns", "txt")
            .filter_map(|t| Some((t.attr("name")?, t.attr("value").unwrap_or(""))))
            .collect()
    }

    pub fn dns_srvs(&self) -> Vec<&Element> {
        self.children_of("dns", "srv").collect()
    }

    /// `<dns><host ip><hostname>..`: `(ip, names)`.
    pub fn dns_hosts(&self) -> DriverResult<Vec<(IpAddr, Vec<String>)>> {
        let mut out = Vec::new();
        for host in self.children_of("dns", "host") {
            let ip = host.attr("ip").unwrap_or("");
            let ip: IpAddr = ip.parse().map_err(|_| {
                xml_error(format!(
                    "Invalid IP address in network '{}' DNS HOST record",
                    self.name()
                ))
            })?;
            let names: Vec<String> = host
                .children
                .iter()
                .filter(|c| c.name == "hostname")
                .filter_map(|c| c.text.clone())
                .collect();
            if names.is_empty() {
                return Err(xml_error(format!(
                    "Missing ip and hostname in network '{}' DNS HOST record",
                    self.name()
                )));
            }
            if names.iter().any(|n| !valid_hostname(n)) {
                return Err(xml_error(format!(
                    "invalid DNS hostname in network '{}'",
                    self.name()
                )));
            }
            out.push((ip, names));
        }
        Ok(out)
    }

    fn children_of<'a>(
        &'a self,
        parent: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.root
            .child(parent)
            .into_iter()
            .flat_map(move |p| p.children.iter().filter(move |c| c.name == name))
    }

    /// The `<ip>` elements, checked: address and prefix, ranges inside the subnet
    /// and not reversed, hosts with a valid MAC and an address in the subnet.
    pub fn ips(&self) -> DriverResult<Vec<IpDef>> {
        let mut out = Vec::new();
        for ip in self.root.children.iter().filter(|c| c.name == "ip") {
            let net = IpNet::from_element(ip)
                .map_err(|m| xml_error(format!("{m} in network '{}'", self.name())))?;
            let mut def = IpDef {
                net,
                ranges: Vec::new(),
                hosts: Vec::new(),
            };
            if let Some(dhcp) = ip.child("dhcp") {
                for range in dhcp.children.iter().filter(|c| c.name == "range") {
                    def.ranges
                        .push(Range::from_element(range, &net).map_err(internal)?);
                }
                for host in dhcp.children.iter().filter(|c| c.name == "host") {
                    let mac = host.attr("mac").map(str::to_string);
                    if let Some(m) = &mac {
                        if !valid_mac(m) {
                            return Err(internal(format!(
                                "Cannot parse MAC address '{m}' in network '{}'",
                                self.name()
                            )));
                        }
                    }
                    let name = host.attr("name").map(str::to_string);
                    if name.as_deref().is_some_and(|n| !valid_hostname(n)) {
                        return Err(internal(format!(
                            "Invalid hostname in network '{}'",
                            self.name()
                        )));
                    }
                    let addr = match host.attr("ip") {
                        Some(text) => {
                            let a: IpAddr = text.parse().map_err(|_| {
                                internal(format!(
                                    "Invalid IP address in static host definition for network '{}'",
                                    self.name()
                                ))
                            })?;
                            if !net.contains(&a) {
                                return Err(internal(format!(
                                    "Invalid IP address in static host definition for network '{}'",
                                    self.name()
                                )));
                            }
                            Some(a)
                        }
                        None => None,
                    };
                    if mac.is_none() && name.is_none() {
                        return Err(internal(format!("Static host definition in IPv4 network '{}' must have mac or name attribute", self.name())));
                    }
                    def.hosts.push((mac, name, addr));
                }
            }
            out.push(def);
        }
        Ok(out)
    }

    /// The element tree, for updates.
    pub fn root_mut(&mut self) -> &mut Element {
        &mut self.root
    }

    pub fn root(&self) -> &Element {
        &self.root
    }

    /// Re-checks after an update changed the tree.
    pub fn recheck(&mut self) -> DriverResult<()> {
        self.check()?;
        self.normalize();
        Ok(())
    }

    /// The NAT port range libvirt shows in the live XML of a running NAT network.
    pub fn with_live_defaults(&self) -> NetworkDef {
        let mut live = self.clone();
        if live.forward_mode() == ForwardMode::Nat {
            if let Some(forward) = live.root.child_mut("forward") {
                if forward.child("nat").is_none() {
                    forward.children.push(Element::new("nat"));
                }
                if let Some(nat) = forward.child_mut("nat") {
                    if nat.child("port").is_none() {
                        nat.children.push(
                            Element::new("port")
                                .with_attr("start", "1024")
                                .with_attr("end", "65535"),
                        );
                    }
                }
            }
            sort_tree(&mut live.root);
        }
        live
    }

    /// The XML at `indent` spaces, libvirt layout.
    pub fn format_at(&self, indent: usize) -> String {
        let mut out = String::new();
        write_element(&self.root, &mut out, indent);
        out
    }

    pub fn format(&self) -> String {
        self.format_at(0)
    }
}

pub fn valid_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Host names written to dnsmasq's files: letters, digits, '-', '.', '_'.
pub fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = "<network>\n  <name>default</name>\n  <bridge name='virbr0'/>\n  <forward/>\n  <ip address='192.168.122.1' netmask='255.255.255.0'>\n    <dhcp>\n      <range start='192.168.122.2' end='192.168.122.254'/>\n    </dhcp>\n  </ip>\n</network>\n";

    #[test]
    fn completes_the_default_network_like_libvirt() {
        let mut def = NetworkDef::parse(DEFAULT).expect("parse");
        def.complete(&[], |_| false);
        let xml = def.format();
        let lines: Vec<&str> = xml.lines().collect();
        assert_eq!(lines[0], "<network>");
        assert_eq!(lines[1], "  <name>default</name>");
        assert!(lines[2].starts_with("  <uuid>"));
        assert_eq!(lines[3], "  <forward mode='nat'/>");
        assert_eq!(lines[4], "  <bridge name='virbr0' stp='on' delay='0'/>");
        assert!(lines[5].starts_with("  <mac address='52:54:00:"));
        assert_eq!(
            lines[6],
            "  <ip address='192.168.122.1' netmask='255.255.255.0'>"
        );
        let live = def.with_live_defaults().format();
        assert!(live.contains("    <nat>\n      <port start='1024' end='65535'/>\n    </nat>\n"));
    }

    #[test]
    fn empty_ip_keeps_its_closing_tag() {
        let mut def = NetworkDef::parse(
            "<network><name>n3</name><ip address='10.0.0.1' netmask='255.255.255.0'/></network>",
        )
        .expect("parse");
        def.complete(&["virbr0".into()], |_| false);
        let xml = def.format();
        assert!(
            xml.contains("  <bridge name='virbr1' stp='on' delay='0'/>"),
            "{xml}"
        );
        assert!(xml.contains("  <ip address='10.0.0.1' netmask='255.255.255.0'>\n  </ip>\n"));
    }

    #[test]
    fn refuses_bad_ranges_and_names() {
        let reversed = "<network><name>n5</name><ip address='192.168.60.1' netmask='255.255.255.0'><dhcp><range start='192.168.60.200' end='192.168.60.100'/></dhcp></ip></network>";
        let err = NetworkDef::parse(reversed).unwrap_err();
        assert_eq!(
            err.message,
            "internal error: range 192.168.60.200 - 192.168.60.100 is reversed "
        );
        let outside = "<network><name>n4</name><ip address='192.168.60.1' netmask='255.255.255.0'><dhcp><range start='192.168.61.2' end='192.168.61.254'/></dhcp></ip></network>";
        let err = NetworkDef::parse(outside).unwrap_err();
        assert_eq!(err.message, "internal error: range 192.168.61.2 - 192.168.61.254 is not entirely within network 192.168.60.1/24");
        assert!(NetworkDef::parse("<network><name>a/b</name></network>").is_err());
        assert!(
            NetworkDef::parse("<network><name>x</name><bridge name='a b'/></network>").is_err()
        );
        assert!(NetworkDef::parse("<domain><name>x</name></domain>").is_err());
        let quote = "<network><name>x</name><bridge name='a&quot;b'/></network>";
        assert!(NetworkDef::parse(quote).is_err());
        let txt = "<network><name>x</name><dns><txt name='a' value='v&#10;dhcp-script=/bin/sh'/></dns></network>";
        assert!(
            NetworkDef::parse(txt).is_err(),
            "a newline cannot reach dnsmasq's configuration"
        );
        let srv = "<network><name>x</name><dns><srv service='a,b' protocol='tcp'/></dns></network>";
        assert!(NetworkDef::parse(srv).is_err());
    }
}
