//! `virNetworkUpdate` (`virsh net-update`): add, delete or modify one entry of a
//! section (DHCP hosts and ranges, DNS hosts, TXT and SRV records, port groups) in the
//! live network, its persistent definition, or both. A live change rewrites dnsmasq's
//! files and restarts it, then runs the `updated` hook.

use crate::api::{codes, domains, DriverError, DriverResult, NetworkHandle};
use crate::domain_xml::Element;

use super::objects::{self, not_active};
use super::xml::{internal, NetworkDef};
use super::{dnsmasq, network_hooks, Networks};

pub const CMD_MODIFY: u32 = 1;
pub const CMD_DELETE: u32 = 2;
pub const CMD_ADD_LAST: u32 = 3;
pub const CMD_ADD_FIRST: u32 = 4;

const SECTION_NAMES: &[&str] = &[
    "none",
    "bridge",
    "domain",
    "ip",
    "ip-dhcp-host",
    "ip-dhcp-range",
    "forward",
    "forward-interface",
    "forward-pf",
    "portgroup",
    "dns-host",
    "dns-txt",
    "dns-srv",
];

const AFFECT_LIVE: u32 = 1;
const AFFECT_CONFIG: u32 = 2;

fn invalid(msg: String) -> DriverError {
    DriverError::new(codes::OPERATION_INVALID, domains::NETWORK, msg)
}

fn parse_entry(xml: &str, expected: &str) -> DriverResult<Element> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| {
        DriverError::new(
            codes::XML_DETAIL,
            domains::NETWORK,
            format!("(network_update_xml):{e}"),
        )
    })?;
    let node = doc.root_element();
    if node.tag_name().name() != expected {
        return Err(DriverError::new(
            codes::XML_ERROR,
            domains::NETWORK,
            format!(
                "unexpected element <{}>, expecting <{expected}>, while updating network",
                node.tag_name().name()
            ),
        ));
    }
    if node.descendants().count() > 1000 {
        return Err(internal("update entry too large"));
    }
    Ok(Element::from_node(node))
}

/// Where a section's entries live in the tree: the parent path from `<network>`.
fn parent_of(root: &mut Element, section: u32, parent_index: i32) -> DriverResult<&mut Element> {
    let ensure = |e: &mut Element, name: &str| {
        if e.child(name).is_none() {
            e.children.push(Element::new(name));
        }
    };
    match section {
        4 | 5 => {
            let ips: Vec<usize> = root
                .children
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.name == "ip"
                        && c.attr("family") != Some("ipv6")
                        && !c.attr("address").unwrap_or("").contains(':')
                })
                .map(|(i, _)| i)
                .collect();
            let pick = if parent_index < 0 {
                ips.first()
            } else {
                ips.get(parent_index as usize)
            };
            let Some(&i) = pick else {
                return Err(internal(
                    "couldn't find an appropriate IPv4 <ip> element in network".to_string(),
                ));
            };
            let ip = &mut root.children[i];
            ensure(ip, "dhcp");
            Ok(ip.child_mut("dhcp").expect("just ensured"))
        }
        10..=12 => {
            ensure(root, "dns");
            Ok(root.child_mut("dns").expect("just ensured"))
        }
        _ => Ok(root),
    }
}

fn same_host(a: &Element, b: &Element) -> bool {
    let key = |e: &Element, k: &str| e.attr(k).map(str::to_ascii_lowercase);
    match (key(a, "mac"), key(b, "mac")) {
        (Some(x), Some(y)) => x == y,
        _ => key(a, "name").is_some() && key(a, "name") == key(b, "name"),
    }
}

fn dns_names(e: &Element) -> Vec<String> {
    e.children
        .iter()
        .filter(|c| c.name == "hostname")
        .filter_map(|c| c.text.clone())
        .collect()
}

/// Applies one command to one definition tree.
fn apply(
    def: &NetworkDef,
    command: u32,
    section: u32,
    parent_index: i32,
    xml: &str,
) -> DriverResult<NetworkDef> {
    let name = def.name().to_string();
    let (tag, what) = match section {
        4 => ("host", "dhcp host"),
        5 => ("range", "dhcp range"),
        9 => ("portgroup", "portgroup"),
        10 => ("host", "DNS HOST record"),
        11 => ("txt", "DNS TXT record"),
        12 => ("srv", "DNS SRV record"),
        other => {
            let sec = SECTION_NAMES
                .get(other as usize)
                .copied()
                .unwrap_or("unknown");
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::NETWORK,
                format!("can't update '{sec}' section of network '{name}'"),
            ));
        }
    };
    let entry = parse_entry(xml, tag)?;
    let mut new = def.clone();
    let parent = parent_of(new.root_mut(), section, parent_index)?;
    let matches = |e: &Element| -> bool {
        match section {
            4 => same_host(e, &entry),
            5 => e.attr("start") == entry.attr("start") && e.attr("end") == entry.attr("end"),
            9 | 11 => e.attr("name") == entry.attr("name"),
            10 => {
                e.attr("ip") == entry.attr("ip")
                    || (!dns_names(&entry).is_empty() && dns_names(e) == dns_names(&entry))
            }
            _ => {
                e.attr("service") == entry.attr("service")
                    && e.attr("protocol") == entry.attr("protocol")
                    && e.attr("target") == entry.attr("target")
            }
        }
    };
    let found = parent
        .children
        .iter()
        .position(|c| c.name == tag && matches(c));
    match command {
        CMD_ADD_LAST | CMD_ADD_FIRST => {
            if found.is_some() {
                return Err(DriverError::new(
                    codes::OPERATION_INVALID,
                    domains::NETWORK,
                    format!(
                        "there is an existing {what} entry in network '{name}' that matches \"{}\"",
                        xml.trim()
                    ),
                ));
            }
            let at = if command == CMD_ADD_FIRST {
                parent
                    .children
                    .iter()
                    .position(|c| c.name == tag)
                    .unwrap_or(parent.children.len())
            } else {
                parent
                    .children
                    .iter()
                    .rposition(|c| c.name == tag)
                    .map(|p| p + 1)
                    .unwrap_or(parent.children.len())
            };
            parent.children.insert(at, entry);
        }
        CMD_DELETE => {
            let exact = parent.children.iter().position(|c| {
                c.name == tag
                    && matches(c)
                    && (section != 4
                        || (c.attr("ip") == entry.attr("ip")
                            && c.attr("name") == entry.attr("name")))
            });
            let Some(pos) = exact else {
                let what = if section == 4 {
                    "dhcp host".to_string()
                } else {
                    what.to_string()
                };
                return Err(invalid(format!(
                    "couldn't locate a matching {what} entry in network '{name}'"
                )));
            };
            parent.children.remove(pos);
        }
        CMD_MODIFY => {
            if section == 5 {
                return Err(DriverError::new(
                    codes::CONFIG_UNSUPPORTED,
                    domains::NETWORK,
                    "the 'modify' command is not supported for the dhcp range section",
                ));
            }
            let Some(pos) = found else {
                return Err(invalid(format!(
                    "couldn't locate an existing {what} entry with \"{}\" in network '{name}'",
                    xml.trim()
                )));
            };
            parent.children[pos] = entry;
        }
        other => {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::NETWORK,
                format!("unrecognized network update command code {other}"),
            ))
        }
    }
    // Empty <dhcp>/<dns> left by a delete stay out of the definition.
    strip_empty(new.root_mut());
    new.recheck()?;
    Ok(new)
}

fn strip_empty(root: &mut Element) {
    root.children
        .retain(|c| !(c.name == "dns" && c.children.is_empty() && c.attrs.is_empty()));
    for ip in root.children.iter_mut().filter(|c| c.name == "ip") {
        ip.children
            .retain(|c| !(c.name == "dhcp" && c.children.is_empty()));
    }
}

impl Networks {
    pub fn update(
        &self,
        h: &NetworkHandle,
        command: u32,
        section: u32,
        parent_index: i32,
        xml: &str,
        flags: u32,
    ) -> DriverResult<()> {
        if flags & !(AFFECT_LIVE | AFFECT_CONFIG) != 0 {
            return Err(DriverError::unsupported_flags(
                domains::NETWORK,
                flags,
                "networkUpdate",
            ));
        }
        let mut inner = self.lock();
        let obj = Networks::find(&mut inner, h)?;
        let (mut live, mut config) = (flags & AFFECT_LIVE != 0, flags & AFFECT_CONFIG != 0);
        if !live && !config {
            live = obj.active;
            config = !obj.active;
        }
        if live && !obj.active {
            return Err(not_active(obj.def.name()));
        }
        if config && !obj.persistent {
            return Err(invalid(
                "cannot change persistent config of a transient network".to_string(),
            ));
        }
        let new_live = if live {
            Some(apply(&obj.def, command, section, parent_index, xml)?)
        } else {
            None
        };
        let new_config = if config {
            Some(apply(
                obj.persistent_def(),
                command,
                section,
                parent_index,
                xml,
            )?)
        } else {
            None
        };
        if let Some(cfg) = new_config {
            objects::save_config(&self.paths, &cfg)?;
            if obj.active {
                obj.new_def = Some(cfg);
            } else {
                obj.def = cfg;
            }
        }
        if let Some(live_def) = new_live {
            obj.def = live_def;
            let _ = objects::save_status(&self.paths, obj);
            if dnsmasq::needed(&obj.def) {
                let files = dnsmasq::files(&self.paths, obj.def.name());
                dnsmasq::stop(&files);
                dnsmasq::write_files(&obj.def, &files)
                    .and_then(|_| dnsmasq::start(&files).map(|_| ()))
                    .map_err(internal)?;
            }
            network_hooks::run(self, &obj.def, "updated", "begin", None)
                .map_err(|e| e.with_domain())?;
        }
        Ok(())
    }
}
