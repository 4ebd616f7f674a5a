//! `<devices>` normalisation: the defaults libvirt fills in when it parses a definition, so
//! `dumpxml` shows what libvirt would show.

mod chardev;
mod controllers;
mod disk;
mod misc;
mod validate;

pub use disk::disk_name_index;
pub use validate::is_net_model_name;

use super::{DomainXmlError, Element, ParseOptions};

/// libvirt's device order inside `<devices>`.
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
    "nvram",
    "panic",
    "shmem",
    "memory",
    "iommu",
    "vsock",
    "crypto",
];

/// Fills in defaults, assigns addresses and implicit devices, and sorts devices the way
/// libvirt prints them.
pub fn normalise_devices(
    mut devices: Vec<Element>,
    os_type: &str,
    options: &ParseOptions,
) -> Result<Vec<Element>, DomainXmlError> {
    for device in devices.iter_mut() {
        validate::validate_device(device)?;
        match device.name.as_str() {
            "disk" => disk::normalise_disk(device)?,
            "interface" => misc::normalise_interface(device, options.status)?,
            "input" => misc::normalise_input(device, os_type),
            "graphics" => misc::normalise_graphics(device),
            "video" => {}
            "watchdog" if device.attr("action").is_none() => device.set_attr("action", "reset"),
            _ => {}
        }
        normalise_addresses(device);
    }
    misc::assign_interface_names(&mut devices, options.ifname_prefix.as_deref());
    misc::add_implicit_video(&mut devices, os_type, &options.default_video);
    let mut first_video = true;
    for device in devices.iter_mut().filter(|d| d.name == "video") {
        misc::normalise_video(device, os_type, &options.default_video, first_video);
        first_video = false;
    }
    chardev::normalise_chardevs(&mut devices, os_type);
    controllers::normalise_controllers(&mut devices);
    controllers::add_implicit_controllers(&mut devices);

    let rank = |name: &str| {
        DEVICE_ORDER
            .iter()
            .position(|o| *o == name)
            .unwrap_or(DEVICE_ORDER.len())
    };
    devices.sort_by_key(|d| rank(&d.name));
    Ok(devices)
}

/// Rewrites `<address>` children in libvirt's canonical spelling (hex widths, attribute
/// order).
fn normalise_addresses(device: &mut Element) {
    for child in device.children.iter_mut() {
        if child.name == "address" {
            normalise_address(child);
        }
    }
}

fn normalise_address(address: &mut Element) {
    match address.attr("type") {
        Some("pci") => {
            for (attr, width) in [("domain", 4), ("bus", 2), ("slot", 2), ("function", 1)] {
                if let Some(value) = address.attr(attr).and_then(parse_number) {
                    address.set_attr(attr, &format!("0x{value:0width$x}"));
                }
            }
            address.order_attrs(&["type", "domain", "bus", "slot", "function", "multifunction"]);
        }
        Some("drive") => {
            for attr in ["controller", "bus", "target", "unit"] {
                match address.attr(attr).and_then(parse_number) {
                    Some(value) => address.set_attr(attr, &value.to_string()),
                    None => address.set_attr(attr, "0"),
                }
            }
            address.order_attrs(&["type", "controller", "bus", "target", "unit"]);
        }
        _ => {}
    }
}

/// Parses decimal or 0x-prefixed hexadecimal, as libvirt's address parser accepts.
fn parse_number(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(xml: &str) -> Element {
        let doc = roxmltree::Document::parse(xml).expect("test xml parses");
        Element::from_node(doc.root_element())
    }

    #[test]
    fn pci_address_gets_fixed_width_hex() {
        let mut a = el("<address type='pci' slot='0x1' function='0' bus='0x00' domain='0'/>");
        normalise_address(&mut a);
        let mut out = String::new();
        a.write(&mut out, 0);
        assert_eq!(
            out,
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n"
        );
    }

    #[test]
    fn devices_sorted_in_libvirt_order() {
        let devices = vec![
            el("<memballoon model='virtio'/>"),
            el("<interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>"),
            el("<disk type='file' device='disk'><source file='/a'/><target dev='vda' bus='virtio'/></disk>"),
        ];
        let out = normalise_devices(devices, "hvm", &ParseOptions::default()).expect("valid");
        let names: Vec<&str> = out.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["disk", "interface", "memballoon"]);
    }
}
