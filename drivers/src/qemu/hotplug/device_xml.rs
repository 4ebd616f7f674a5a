//! Reading the device XML a client sends (`<disk>`, `<interface>`): parsed and
//! normalised as part of a throw-away domain so it gets exactly the defaults a
//! definition would (bus, drive address, MAC, NIC model).

use crate::api::{codes, domains, DriverError, DriverResult};
use crate::domain_xml::{escape, parse_domain_xml, DomainDef, Element};
use crate::qemu::defaults::parse_options;

/// Device kinds this driver plugs, unplugs or updates.
fn hotpluggable(name: &str) -> bool {
    matches!(name, "disk" | "interface" | "graphics") || super::frontends::KINDS.contains(&name)
}

/// The one device described by `xml`, normalised.
pub fn parse_device(xml: &str) -> DriverResult<Element> {
    let (root, given) = root_name(xml)?;
    if !hotpluggable(&root) {
        return Err(DriverError::new(
            codes::OPERATION_UNSUPPORTED,
            domains::QEMU,
            format!("live attach of device '{root}' is not supported"),
        ));
    }
    let wrapper = format!(
        "<domain type='qemu'><name>{}</name><memory>1024</memory><os><type>hvm</type></os>\
         <devices>{xml}</devices></domain>",
        escape("hotplug")
    );
    let def: DomainDef = parse_domain_xml(&wrapper, &parse_options())?;
    let mut device = def
        .devices
        .into_iter()
        .find(|d| d.name == root)
        .ok_or_else(|| DriverError::xml_error("no device in the XML"))?;
    super::alias::strip_generated_alias(&mut device);
    // Numbers the wrapper handed out are chosen against the real domain instead.
    if !given.index {
        device.attrs.retain(|(k, _)| k != "index");
    }
    if !given.port {
        if let Some(target) = device.child_mut("target") {
            target.attrs.retain(|(k, _)| k != "port");
        }
    }
    if device.name == "interface" && device.child("model").is_none() {
        let model = Element::new("model").with_attr("type", "rtl8139");
        match device.children.iter().position(|c| c.name == "address") {
            Some(at) => device.children.insert(at, model),
            None => device.children.push(model),
        }
    }
    Ok(device)
}

/// Which numbers the client gave itself (a controller's index, a port's number).
struct Given {
    index: bool,
    port: bool,
}

/// The element name of the document's root, after checking it is well formed.
fn root_name(xml: &str) -> DriverResult<(String, Given)> {
    if xml.len() > crate::domain_xml::MAX_BYTES {
        return Err(DriverError::xml_error("device XML too large"));
    }
    let doc = roxmltree::Document::parse(xml).map_err(|e| {
        DriverError::new(
            codes::XML_DETAIL,
            domains::XML,
            format!("(device_definition):1: {e}"),
        )
    })?;
    let root = doc.root_element();
    let given = Given {
        index: root.attribute("index").is_some(),
        port: root
            .children()
            .find(|c| c.has_tag_name("target"))
            .is_some_and(|t| t.attribute("port").is_some()),
    };
    Ok((root.tag_name().name().to_string(), given))
}

/// A disk's target name.
pub fn disk_target(disk: &Element) -> &str {
    disk.child("target")
        .and_then(|t| t.attr("dev"))
        .unwrap_or("")
}

/// A NIC's MAC address.
pub fn nic_mac(nic: &Element) -> &str {
    nic.child("mac")
        .and_then(|m| m.attr("address"))
        .unwrap_or("")
}

/// A disk's source path, if it has media.
pub fn disk_source(disk: &Element) -> Option<&str> {
    let source = disk.child("source")?;
    source.attr("file").or_else(|| source.attr("dev"))
}

/// Where a device of the same kind as `device` sits in `devices`: the index of the
/// device it replaces or matches, for disks by target and for NICs by MAC.
pub fn find_same(devices: &[Element], device: &Element) -> Option<usize> {
    devices
        .iter()
        .position(|d| {
            d.name == device.name
                && match device.name.as_str() {
                    "disk" => disk_target(d) == disk_target(device),
                    "interface" => nic_mac(d).eq_ignore_ascii_case(nic_mac(device)),
                    _ => false,
                }
        })
        .or_else(|| super::frontends::find(devices, device))
}

/// libvirt's order of device kinds in `<devices>`.
const DEVICE_ORDER: &[&str] = &[
    "emulator",
    "disk",
    "controller",
    "lease",
    "filesystem",
    "interface",
    "smartcard",
    "serial",
    "parallel",
    "console",
    "channel",
    "input",
    "tpm",
    "graphics",
    "sound",
    "audio",
    "video",
    "hostdev",
    "redirdev",
    "redirfilter",
    "hub",
    "watchdog",
    "memballoon",
    "rng",
];

/// Inserts a device after the last one of its kind (or of the kinds libvirt lists
/// before it), keeping libvirt's device order.
pub fn insert_device(devices: &mut Vec<Element>, device: Element) {
    let rank = |name: &str| DEVICE_ORDER.iter().position(|k| *k == name);
    let Some(own) = rank(&device.name) else {
        devices.push(device);
        return;
    };
    let at = devices
        .iter()
        .rposition(|d| rank(&d.name).is_some_and(|r| r <= own))
        .map(|i| i + 1)
        .unwrap_or(0);
    devices.insert(at, device);
}

/// PCI slots on bus 0 that devices of `def` hold.
fn used_slots(def: &DomainDef) -> Vec<u32> {
    def.devices
        .iter()
        .filter_map(|d| d.child("address"))
        .filter(|a| a.attr("type") == Some("pci"))
        .filter(|a| a.attr("bus").map(parse_hex) == Some(0))
        .filter_map(|a| a.attr("slot").map(parse_hex))
        .collect()
}

fn parse_hex(text: &str) -> u32 {
    let t = text.trim();
    match t.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).unwrap_or(u32::MAX),
        None => t.parse().unwrap_or(u32::MAX),
    }
}

/// Gives `device` the first free PCI slot of bus 0 in `def`, or checks the one it
/// asks for is free.
pub fn assign_pci_slot(def: &DomainDef, device: &mut Element) -> DriverResult<()> {
    let used = used_slots(def);
    if let Some(address) = device.child("address") {
        if address.attr("type") != Some("pci") {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                "only PCI addresses are supported for hot plugged devices",
            ));
        }
        let slot = address.attr("slot").map(parse_hex).unwrap_or(u32::MAX);
        let bus = address.attr("bus").map(parse_hex).unwrap_or(0);
        if bus != 0 || !(1..32).contains(&slot) {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                "PCI addresses other than bus 0, slots 1 to 31 are not supported",
            ));
        }
        if used.contains(&slot) {
            return Err(DriverError::new(
                codes::INTERNAL_ERROR,
                domains::QEMU,
                format!("Attempted double use of PCI Address 0000:00:{slot:02x}.0"),
            ));
        }
        return Ok(());
    }
    let slot = (1..32).find(|s| !used.contains(s)).ok_or_else(|| {
        DriverError::new(
            codes::INTERNAL_ERROR,
            domains::QEMU,
            "No more available PCI slots",
        )
    })?;
    device.children.push(
        Element::new("address")
            .with_attr("type", "pci")
            .with_attr("domain", "0x0000")
            .with_attr("bus", "0x00")
            .with_attr("slot", &format!("0x{slot:02x}"))
            .with_attr("function", "0x0"),
    );
    Ok(())
}

/// The slot of a device's PCI address, for `device_add`'s `addr`.
pub fn pci_slot(device: &Element) -> Option<u32> {
    device
        .child("address")
        .filter(|a| a.attr("type") == Some("pci"))
        .and_then(|a| a.attr("slot"))
        .map(parse_hex)
}

/// Text that reaches a QEMU option or monitor command line: no control characters.
pub fn check_plain_text(what: &str, text: &str) -> DriverResult<()> {
    if text.chars().any(char::is_control) || text.len() > 4096 {
        return Err(DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            domains::QEMU,
            format!(
                "{what} '{}' contains characters QEMU cannot take",
                text.escape_debug()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_gets_bus_and_keeps_user_alias_only() {
        let disk = parse_device(
            "<disk type='file'><source file='/i.img'/><target dev='vdb'/><alias name='virtio-disk9'/></disk>",
        )
        .expect("parses");
        assert_eq!(
            disk.child("target").and_then(|t| t.attr("bus")),
            Some("virtio")
        );
        assert!(disk.child("alias").is_none());
        let disk = parse_device(
            "<disk type='file'><source file='/i.img'/><target dev='vdb'/><alias name='ua-x'/></disk>",
        )
        .expect("parses");
        assert_eq!(super::super::alias::alias_of(&disk), Some("ua-x"));
    }

    #[test]
    fn other_devices_and_bad_xml_are_refused() {
        assert!(parse_device("<hub type='usb'/>").is_err());
        assert!(parse_device("<disk").is_err());
    }

    #[test]
    fn nic_gets_mac_and_model() {
        let nic = parse_device("<interface type='user'/>").expect("parses");
        assert!(nic_mac(&nic).starts_with("52:54:00:"));
        assert_eq!(
            nic.child("model").and_then(|m| m.attr("type")),
            Some("rtl8139")
        );
    }
}
