//! Addresses on the buses below PCI that libvirt's qemu driver writes into a
//! definition: USB ports of USB input devices and virtio-serial ports of channels, so
//! the stored XML names where each device sits and the command line can say the same.

use crate::domain_xml::Element;

/// Gives USB input devices, disks and serial ports without an address the next
/// free port on USB bus 0
/// (ports counted from 1, in device order, as libvirt hands them out).
pub fn assign_usb_ports(devices: &mut [Element]) {
    let port_of = |d: &Element| -> Option<u32> {
        let address = d.child("address")?;
        if address.attr("type") != Some("usb") {
            return None;
        }
        address.attr("port")?.split('.').next()?.parse().ok()
    };
    let mut used: Vec<u32> = devices.iter().filter_map(port_of).collect();
    for device in devices.iter_mut() {
        let target = |attr: &str| device.child("target").and_then(|t| t.attr(attr));
        let usb_device = match device.name.as_str() {
            "input" => device.attr("bus") == Some("usb"),
            "disk" => target("bus") == Some("usb"),
            "serial" => target("type") == Some("usb-serial"),
            _ => false,
        };
        if !usb_device || device.child("address").is_some() {
            continue;
        }
        let port = (1..).find(|p| !used.contains(p)).unwrap_or(1);
        used.push(port);
        device.children.push(
            Element::new("address")
                .with_attr("type", "usb")
                .with_attr("bus", "0")
                .with_attr("port", &port.to_string()),
        );
    }
}

/// Gives virtio channels and consoles without an address a port on virtio-serial
/// controller 0: channels from port 1 (port 0 is kept for a virtio console).
pub fn assign_virtio_serial_ports(devices: &mut [Element]) {
    let port_of = |d: &Element| -> Option<u32> {
        let address = d.child("address")?;
        if address.attr("type") != Some("virtio-serial") {
            return None;
        }
        address.attr("port")?.parse().ok()
    };
    let mut used: Vec<u32> = devices.iter().filter_map(port_of).collect();
    for device in devices.iter_mut() {
        let virtio = device.child("target").and_then(|t| t.attr("type")) == Some("virtio");
        if device.name != "channel" || !virtio || device.child("address").is_some() {
            continue;
        }
        let port = (1..).find(|p| !used.contains(p)).unwrap_or(1);
        used.push(port);
        device.children.push(
            Element::new("address")
                .with_attr("type", "virtio-serial")
                .with_attr("controller", "0")
                .with_attr("bus", "0")
                .with_attr("port", &port.to_string()),
        );
    }
}

/// A UNIX channel's `<source mode='bind'/>` without a path (virt-manager writes one)
/// says nothing the driver does not do anyway; libvirt drops it from the definition
/// and names the socket it makes in the live XML.
pub fn drop_pathless_channel_sources(devices: &mut [Element]) {
    for channel in devices
        .iter_mut()
        .filter(|d| d.name == "channel" && d.attr("type") == Some("unix"))
    {
        channel
            .children
            .retain(|c| c.name != "source" || c.attr("path").is_some());
    }
}

/// x86 serial ports are ISA serial devices unless the definition says otherwise;
/// libvirt's qemu driver writes that into the target (`type` and `<model>`, which
/// for ISA, PCI and USB serial ports is named after the target type).
pub fn serial_target_defaults(devices: &mut [Element]) {
    for serial in devices.iter_mut().filter(|d| d.name == "serial") {
        let Some(target) = serial.child_mut("target") else {
            continue;
        };
        if target.attr("type").is_none() {
            target.set_attr("type", "isa-serial");
        }
        let model = match target.attr("type") {
            Some(kind @ ("isa-serial" | "pci-serial" | "usb-serial")) => kind.to_string(),
            _ => String::new(),
        };
        if !model.is_empty() && target.child("model").is_none() {
            target
                .children
                .push(Element::new("model").with_attr("name", &model));
        }
        target.order_attrs(&["type", "port"]);
    }
}

/// The defaults libvirt writes into `<cpu>` for the host CPU modes.
pub fn cpu_mode_defaults(cpu: &mut Element) {
    match cpu.attr("mode") {
        Some("host-passthrough") => {
            if cpu.attr("check").is_none() {
                cpu.set_attr("check", "none");
            }
            if cpu.attr("migratable").is_none() {
                cpu.set_attr("migratable", "on");
            }
        }
        Some("host-model") if cpu.attr("check").is_none() => cpu.set_attr("check", "partial"),
        Some("maximum") if cpu.attr("check").is_none() => cpu.set_attr("check", "none"),
        _ => {}
    }
    cpu.order_attrs(&["mode", "match", "check", "migratable"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tablet_gets_port_one_and_channels_start_at_port_one() {
        let mut devices = vec![
            Element::new("channel")
                .with_attr("type", "unix")
                .with_child(Element::new("target").with_attr("type", "virtio")),
            Element::new("input")
                .with_attr("type", "tablet")
                .with_attr("bus", "usb"),
            Element::new("input")
                .with_attr("type", "mouse")
                .with_attr("bus", "ps2"),
        ];
        assign_usb_ports(&mut devices);
        assign_virtio_serial_ports(&mut devices);
        let mut out = String::new();
        for d in &devices {
            d.write(&mut out, 0);
        }
        assert!(
            out.contains("<address type='usb' bus='0' port='1'/>"),
            "{out}"
        );
        assert!(
            out.contains("<address type='virtio-serial' controller='0' bus='0' port='1'/>"),
            "{out}"
        );
        assert!(devices[2].child("address").is_none());
    }
}
