//! `virsh domiftune`: the `<bandwidth>` of a NIC, changed live as traffic control
//! on its tap (see [`crate::qemu::bandwidth`]) and in the definitions.

use super::{CONFIG, LIVE};
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult, NamedParam, ParamValue};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::bandwidth;
use crate::qemu::lifecycle::check_flags;
use crate::qemu::Inner;

/// `VIR_TYPED_PARAM_STRING_OKAY`, which the remote client adds to getters.
const STRING_OKAY: u32 = 4;
/// Parameter names in libvirt's order: (direction, attribute).
const PARAMS: [(&str, &str); 7] = [
    ("inbound", "average"),
    ("inbound", "peak"),
    ("inbound", "burst"),
    ("inbound", "floor"),
    ("outbound", "average"),
    ("outbound", "peak"),
    ("outbound", "burst"),
];

fn param_name(direction: &str, attr: &str) -> String {
    format!("{direction}.{attr}")
}

/// The index in `def.devices` of the NIC named by its MAC address or target device.
fn interface_index(def: &DomainDef, device: &str) -> DriverResult<usize> {
    let wanted_mac = device.to_ascii_lowercase();
    let is_mac = device.len() == 17 && device.split(':').count() == 6;
    def.devices
        .iter()
        .position(|d| {
            d.name == "interface"
                && if is_mac {
                    d.child("mac").and_then(|m| m.attr("address")) == Some(wanted_mac.as_str())
                } else {
                    d.child("target").and_then(|t| t.attr("dev")) == Some(device)
                }
        })
        .ok_or_else(|| {
            DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                format!("'{device}' is not a known interface"),
            )
        })
}

fn rate(interface: &Element, direction: &str, attr: &str) -> u32 {
    interface
        .child("bandwidth")
        .and_then(|b| b.child(direction))
        .and_then(|d| d.attr(attr))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn params_of(interface: &Element) -> Vec<NamedParam> {
    PARAMS
        .iter()
        .map(|(direction, attr)| {
            NamedParam::new(
                &param_name(direction, attr),
                ParamValue::UInt(rate(interface, direction, attr)),
            )
        })
        .collect()
}

/// The values given, by (direction, attribute).
fn given_values(params: &[NamedParam]) -> DriverResult<Vec<(&'static str, &'static str, u32)>> {
    let mut out = Vec::new();
    for p in params {
        let Some((direction, attr)) = PARAMS.iter().find(|(d, a)| param_name(d, a) == p.field)
        else {
            return Err(DriverError::new(
                codes::ARGUMENT_UNSUPPORTED,
                domains::QEMU,
                format!("parameter '{}' not supported", p.field),
            ));
        };
        let ParamValue::UInt(v) = p.value else {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                format!("invalid type for parameter '{}', expected 'uint'", p.field),
            ));
        };
        out.push((*direction, *attr, v));
    }
    Ok(out)
}

/// Applies the given values to a NIC's `<bandwidth>` as libvirt does: a direction
/// named by any parameter is replaced by the given numbers (the old ones where not
/// given), and removed when it ends up without an average (or inbound floor).
fn updated(interface: &Element, given: &[(&str, &str, u32)]) -> DriverResult<Element> {
    let mut new = interface.clone();
    let mut bw = new
        .child("bandwidth")
        .cloned()
        .unwrap_or_else(|| Element::new("bandwidth"));
    for direction in ["inbound", "outbound"] {
        let ours: Vec<_> = given.iter().filter(|(d, _, _)| *d == direction).collect();
        if ours.is_empty() {
            continue;
        }
        let mut el = Element::new(direction);
        for (d, attr) in PARAMS.iter().filter(|(d, _)| *d == direction) {
            let value = ours
                .iter()
                .rev()
                .find(|(_, a, _)| a == attr)
                .map(|(_, _, v)| *v)
                .unwrap_or_else(|| rate(interface, d, attr));
            if value > 0 {
                el = el.with_attr(attr, &value.to_string());
            }
        }
        bw.children.retain(|c| c.name != direction);
        let kept =
            el.attr("average").is_some() || (direction == "inbound" && el.attr("floor").is_some());
        if kept {
            bw.children.push(el);
        }
    }
    bw.children.sort_by_key(|c| c.name != "inbound");
    if rate_of_element(&bw, "inbound", "floor") > 0 && new.attr("type") != Some("network") {
        return Err(DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            domains::QEMU,
            format!(
                "Invalid use of 'floor' on interface with MAC address {} - 'floor' is only \
                 supported for interface type 'network' with forward type 'nat', 'route', \
                 'open' or none",
                new.child("mac")
                    .and_then(|m| m.attr("address"))
                    .unwrap_or("")
            ),
        ));
    }
    new.children.retain(|c| c.name != "bandwidth");
    if !bw.children.is_empty() {
        // libvirt's place: after `<tune>`, before `<teaming>`/`<link>` and the rest.
        let after = [
            "teaming", "link", "mtu", "coalesce", "boot", "rom", "alias", "address",
        ];
        let at = new
            .children
            .iter()
            .position(|c| after.contains(&c.name.as_str()))
            .unwrap_or(new.children.len());
        new.children.insert(at, bw);
    }
    Ok(new)
}

fn rate_of_element(bw: &Element, direction: &str, attr: &str) -> u32 {
    bw.child(direction)
        .and_then(|d| d.attr(attr))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl Inner {
    pub(super) fn interface_params(
        &self,
        dom: &DomainRef,
        device: &str,
        flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        check_flags(
            flags,
            LIVE | CONFIG | STRING_OKAY,
            "qemuDomainGetInterfaceParameters",
        )?;
        let (live, _) = self.affect(dom, flags & (LIVE | CONFIG))?;
        let st = self.lock();
        let obj = st.get(dom)?;
        let def = if live { &obj.def } else { obj.persistent_def() };
        let index = interface_index(def, device)?;
        Ok(params_of(&def.devices[index]))
    }

    pub(super) fn set_interface_params(
        &self,
        dom: &DomainRef,
        device: &str,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetInterfaceParameters")?;
        let given = given_values(params)?;
        let (live, config) = self.affect(dom, flags)?;
        if live {
            let (index, new, tap) = {
                let st = self.lock();
                let def = &st.get(dom)?.def;
                let index = interface_index(def, device)?;
                let old = &def.devices[index];
                let kind = old.attr("type").unwrap_or("");
                let tap = old.child("target").and_then(|t| t.attr("dev"));
                let tap = match (kind, tap) {
                    ("bridge" | "network" | "ethernet", Some(tap)) => tap.to_string(),
                    _ => {
                        return Err(DriverError::new(
                            codes::CONFIG_UNSUPPORTED,
                            domains::QEMU,
                            format!(
                                "Setting bandwidth on interface '{device}' of type '{kind}' \
                                 is not implemented yet"
                            ),
                        ))
                    }
                };
                (index, updated(old, &given)?, tap)
            };
            bandwidth::check(&new).map_err(DriverError::from)?;
            // The network's port learns the new bandwidth first: it may refuse a floor.
            if let (Some("network"), Some(network)) = (new.attr("type"), self.network.get()) {
                let net = new.child("source").and_then(|s| s.attr("network"));
                let mac = new.child("mac").and_then(|m| m.attr("address"));
                if let (Some(net), Some(mac)) = (net, mac) {
                    network.port_set_bandwidth(
                        net,
                        mac,
                        &crate::api::PortBandwidth::of_nic(&new),
                    )?;
                }
            }
            bandwidth::clear(&tap);
            bandwidth::apply(&tap, &new).map_err(DriverError::from)?;
            self.change_live(dom, |def| {
                if let Some(slot) = def.devices.get_mut(index) {
                    *slot = new;
                }
            })?;
        }
        if config {
            self.change_config(dom, |def| {
                let index = interface_index(def, device)?;
                def.devices[index] = updated(&def.devices[index], &given)?;
                Ok(())
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nic() -> Element {
        Element::new("interface")
            .with_attr("type", "bridge")
            .with_child(Element::new("mac").with_attr("address", "52:54:00:00:00:01"))
            .with_child(
                Element::new("bandwidth")
                    .with_child(
                        Element::new("inbound")
                            .with_attr("average", "100")
                            .with_attr("peak", "200"),
                    )
                    .with_child(Element::new("outbound").with_attr("average", "50")),
            )
    }

    #[test]
    fn given_numbers_replace_one_direction() {
        let new = updated(&nic(), &[("inbound", "average", 300)]).unwrap();
        assert_eq!(rate(&new, "inbound", "average"), 300);
        assert_eq!(rate(&new, "inbound", "peak"), 200);
        assert_eq!(rate(&new, "outbound", "average"), 50);
        let cleared = updated(&nic(), &[("outbound", "average", 0)]).unwrap();
        assert!(cleared
            .child("bandwidth")
            .unwrap()
            .child("outbound")
            .is_none());
    }

    #[test]
    fn floor_needs_a_network_interface() {
        let err = updated(&nic(), &[("inbound", "floor", 10)]).unwrap_err();
        assert!(err.to_string().contains("Invalid use of 'floor'"));
    }
}
