//! PCI Express placement on q35 machines, as libvirt does it: the implicit pcie-root,
//! SATA controller (00:1f.2) and USB controller, the primary video device at 00:01.0,
//! `pcie-root-port` controllers packed eight functions per slot from 00:02.0 (chassis
//! and port numbers in order), and every other PCI device alone on the next free root
//! port (more ports are added when they run out), so it can be hot-unplugged.

use crate::domain_xml::Element;

fn pci_address(bus: u32, slot: u32, function: u32) -> Element {
    Element::new("address")
        .with_attr("type", "pci")
        .with_attr("domain", "0x0000")
        .with_attr("bus", &format!("0x{bus:02x}"))
        .with_attr("slot", &format!("0x{slot:02x}"))
        .with_attr("function", &format!("0x{function:x}"))
}

fn is_root_port(device: &Element) -> bool {
    device.name == "controller"
        && device.attr("type") == Some("pci")
        && device.attr("model") == Some("pcie-root-port")
}

fn has_controller(devices: &[Element], kind: &str) -> bool {
    devices
        .iter()
        .any(|d| d.name == "controller" && d.attr("type") == Some(kind))
}

/// Controllers a q35 guest always has.
pub fn add_implicit_controllers(devices: &mut Vec<Element>) {
    if !has_controller(devices, "usb") {
        devices.push(
            Element::new("controller")
                .with_attr("type", "usb")
                .with_attr("index", "0")
                .with_attr("model", "qemu-xhci"),
        );
    }
    if !devices
        .iter()
        .any(|d| d.name == "controller" && d.attr("model") == Some("pcie-root"))
    {
        devices.push(
            Element::new("controller")
                .with_attr("type", "pci")
                .with_attr("index", "0")
                .with_attr("model", "pcie-root"),
        );
    }
    if !has_controller(devices, "sata") {
        // After the PCI controllers, where libvirt lists it.
        let at = devices
            .iter()
            .rposition(|d| d.name == "controller" && d.attr("type") == Some("pci"))
            .map(|i| i + 1)
            .unwrap_or(devices.len());
        devices.insert(
            at,
            Element::new("controller")
                .with_attr("type", "sata")
                .with_attr("index", "0")
                .with_child(pci_address(0, 0x1f, 2)),
        );
    }
}

/// Whether a device without an address goes on a root port.
fn wants_root_port(device: &Element) -> bool {
    match device.name.as_str() {
        "interface" | "sound" => true,
        "disk" => device.child("target").and_then(|t| t.attr("bus")) == Some("virtio"),
        "controller" => match device.attr("type") {
            Some("virtio-serial") | Some("scsi") => true,
            Some("usb") => !matches!(device.attr("model"), Some("none") | None),
            _ => false,
        },
        "memballoon" | "rng" => device.attr("model") == Some("virtio"),
        "input" => device.attr("bus") == Some("virtio"),
        "video" => true,
        _ => false,
    }
}

/// Assigns root-port numbers and PCI addresses.
pub fn assign_addresses(devices: &mut Vec<Element>) {
    // The primary video device sits on the root bus at slot 1.
    if let Some(video) = devices
        .iter_mut()
        .find(|d| d.name == "video" && d.child("address").is_none())
    {
        if video.child("model").and_then(|m| m.attr("type")) != Some("none") {
            video.children.push(pci_address(0, 1, 0));
        }
    }
    let order = [
        "interface",
        "sound",
        "controller",
        "disk",
        "memballoon",
        "rng",
        "watchdog",
        "input",
        "video",
    ];
    let wanting: usize = devices
        .iter()
        .filter(|d| d.child("address").is_none() && wants_root_port(d))
        .filter(|d| {
            !(d.name == "video" && d.child("model").and_then(|m| m.attr("type")) == Some("none"))
        })
        .count();
    let used_buses: Vec<u32> = devices
        .iter()
        .filter_map(|d| d.child("address"))
        .filter(|a| a.attr("type") == Some("pci"))
        .filter_map(|a| a.attr("bus").and_then(parse_num))
        .filter(|bus| *bus > 0)
        .collect();
    let mut free_ports: Vec<u32> = devices
        .iter()
        .filter(|d| is_root_port(d))
        .filter_map(|d| d.attr("index").and_then(|i| i.parse().ok()))
        .filter(|index| !used_buses.contains(index))
        .collect();
    let mut next_index = devices
        .iter()
        .filter(|d| d.name == "controller" && d.attr("type") == Some("pci"))
        .filter_map(|d| d.attr("index").and_then(|i| i.parse::<u32>().ok()))
        .max()
        .unwrap_or(0)
        + 1;
    while free_ports.len() < wanting {
        devices.push(
            Element::new("controller")
                .with_attr("type", "pci")
                .with_attr("index", &next_index.to_string())
                .with_attr("model", "pcie-root-port"),
        );
        free_ports.push(next_index);
        next_index += 1;
    }
    number_root_ports(devices);
    let mut free_ports = free_ports.into_iter();
    for kind in order {
        for device in devices.iter_mut().filter(|d| d.name == kind) {
            if device.child("address").is_some() || !wants_root_port(device) {
                continue;
            }
            if kind == "video" && device.child("model").and_then(|m| m.attr("type")) == Some("none")
            {
                continue;
            }
            if let Some(bus) = free_ports.next() {
                device.children.push(pci_address(bus, 0, 0));
            }
        }
    }
}

/// Root ports: `<model name>`, `<target chassis port>` and an address on the root
/// bus, eight functions per slot from slot 2 (slots other devices hold are skipped).
fn number_root_ports(devices: &mut [Element]) {
    let taken: Vec<u32> = devices
        .iter()
        .filter(|d| !is_root_port(d))
        .filter_map(|d| d.child("address"))
        .filter(|a| a.attr("type") == Some("pci") && a.attr("bus").and_then(parse_num) == Some(0))
        .filter_map(|a| a.attr("slot").and_then(parse_num))
        .collect();
    let mut slot = 2;
    let mut function = 0;
    for port in devices.iter_mut().filter(|d| is_root_port(d)) {
        let index: u32 = port.attr("index").and_then(|i| i.parse().ok()).unwrap_or(1);
        if port.child("model").is_none() {
            port.children
                .push(Element::new("model").with_attr("name", "pcie-root-port"));
        }
        let mut port_number = 0x10 + index.saturating_sub(1);
        if port.child("address").is_none() {
            while taken.contains(&slot) {
                slot += 1;
            }
            port_number = 0x10 + (slot - 2) * 8 + function;
            let mut address = pci_address(0, slot, function);
            if function == 0 {
                address.set_attr("multifunction", "on");
            }
            port.children.push(address);
            function += 1;
            if function == 8 {
                function = 0;
                slot += 1;
            }
        }
        if port.child("target").is_none() {
            let target = Element::new("target")
                .with_attr("chassis", &index.to_string())
                .with_attr("port", &format!("0x{port_number:x}"));
            let at = port
                .children
                .iter()
                .position(|c| c.name == "address")
                .unwrap_or(port.children.len());
            port.children.insert(at, target);
        }
    }
}

fn parse_num(text: &str) -> Option<u32> {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}
