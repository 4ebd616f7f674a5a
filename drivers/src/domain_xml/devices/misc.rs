//! Defaults for interfaces, inputs, graphics and video devices.

use super::{DomainXmlError, Element};

const INTERFACE_CHILD_ORDER: &[&str] = &[
    "mac",
    "source",
    "vlan",
    "virtualport",
    "ip",
    "route",
    "script",
    "backenddomain",
    "target",
    "guest",
    "model",
    "driver",
    "backend",
    "filterref",
    "tune",
    "bandwidth",
    "teaming",
    "link",
    "mtu",
    "coalesce",
    "boot",
    "rom",
    "alias",
    "address",
];

/// Lower-cases the MAC address (generating one in libvirt's 52:54:00 range when absent)
/// and drops source attributes libvirt does not keep for the interface type (`status`:
/// the XML of a running guest, whose network interfaces keep their bridge).
pub fn normalise_interface(interface: &mut Element, status: bool) -> Result<(), DomainXmlError> {
    interface.order_attrs(&["type", "trustGuestRxFilters"]);
    match interface.child_mut("mac") {
        Some(mac) => {
            let text = mac.attr("address").unwrap_or("").to_string();
            let normalised = normalise_mac(&text).ok_or(DomainXmlError::BadMac(text))?;
            if is_multicast(&normalised) {
                return Err(DomainXmlError::MulticastMac(normalised));
            }
            mac.set_attr("address", &normalised);
        }
        None => interface
            .children
            .push(Element::new("mac").with_attr("address", &generate_mac())),
    }
    if interface.attr("type") == Some("network") {
        if let Some(source) = interface.child_mut("source") {
            source.attrs.retain(|(key, _)| match key.as_str() {
                "network" | "portgroup" | "portid" => true,
                "bridge" => status,
                _ => false,
            });
            source.order_attrs(&["network", "portgroup", "portid", "bridge"]);
        }
    }
    interface.order_children(INTERFACE_CHILD_ORDER);
    Ok(())
}

/// "AA:BB:cc:0:1:2" -> "aa:bb:cc:00:01:02"; `None` when not six hex octets.
fn normalise_mac(text: &str) -> Option<String> {
    let octets: Vec<&str> = text.split(':').collect();
    if octets.len() != 6 {
        return None;
    }
    let mut out = Vec::with_capacity(6);
    for octet in octets {
        if octet.is_empty() || octet.len() > 2 {
            return None;
        }
        out.push(format!("{:02x}", u8::from_str_radix(octet, 16).ok()?));
    }
    Some(out.join(":"))
}

/// The group bit of the first octet: such an address cannot name one NIC.
fn is_multicast(mac: &str) -> bool {
    u8::from_str_radix(&mac[..2], 16).is_ok_and(|first| first & 1 == 1)
}

/// A random MAC in the 52:54:00 prefix libvirt uses for generated addresses.
fn generate_mac() -> String {
    let random = uuid::Uuid::new_v4();
    let bytes = random.as_bytes();
    format!(
        "52:54:00:{:02x}:{:02x}:{:02x}",
        bytes[0], bytes[1], bytes[2]
    )
}

/// Gives every interface without `<target dev>` the first free `<prefix>N` name.
pub fn assign_interface_names(devices: &mut [Element], prefix: Option<&str>) {
    let Some(prefix) = prefix else {
        return;
    };
    let mut used: std::collections::HashSet<String> = devices
        .iter()
        .filter(|d| d.name == "interface")
        .filter_map(|d| d.child("target").and_then(|t| t.attr("dev")))
        .map(str::to_string)
        .collect();
    // Names are handed out in increasing order, so the search resumes where it stopped.
    let mut next = 0u64;
    for interface in devices.iter_mut().filter(|d| d.name == "interface") {
        if interface
            .child("target")
            .and_then(|t| t.attr("dev"))
            .is_some()
        {
            continue;
        }
        let name = loop {
            let candidate = format!("{prefix}{next}");
            next += 1;
            if !used.contains(&candidate) {
                break candidate;
            }
        };
        used.insert(name.clone());
        match interface.child_mut("target") {
            Some(target) => target.set_attr("dev", &name),
            None => interface
                .children
                .push(Element::new("target").with_attr("dev", &name)),
        }
        interface.order_children(INTERFACE_CHILD_ORDER);
    }
}

/// Default bus: Xen's for paravirtual guests, PS/2 for mice and keyboards and USB for
/// tablets on HVM guests.
pub fn normalise_input(input: &mut Element, os_type: &str) {
    if input.attr("bus").is_none() {
        let bus = match (os_type, input.attr("type")) {
            ("xen" | "linux", _) => Some("xen"),
            (_, Some("mouse" | "keyboard")) => Some("ps2"),
            (_, Some("tablet")) => Some("usb"),
            _ => None,
        };
        if let Some(bus) = bus {
            input.set_attr("bus", bus);
        }
    }
    input.order_attrs(&["type", "bus", "model"]);
}

/// Port/autoport defaults and the `<listen>` child libvirt derives for VNC and SPICE.
pub fn normalise_graphics(graphics: &mut Element) {
    let kind = graphics.attr("type").unwrap_or("").to_string();
    if kind != "vnc" && kind != "spice" {
        return;
    }
    let port = graphics.attr("port").map(str::to_string);
    let autoport = graphics.attr("autoport").map(str::to_string);
    let mut listen_none = false;
    if kind == "vnc" {
        match (port.as_deref(), autoport.as_deref()) {
            (None, _) | (Some("-1"), None) => {
                graphics.set_attr("port", "-1");
                graphics.set_attr("autoport", "yes");
            }
            (Some(_), None) => graphics.set_attr("autoport", "no"),
            _ => {}
        }
    } else {
        match (port.as_deref(), autoport.as_deref()) {
            (Some(_), None) => graphics.set_attr("autoport", "no"),
            (None, None) if graphics.attr("tlsPort").is_none() => listen_none = true,
            _ => {}
        }
    }
    graphics.order_attrs(&[
        "type",
        "port",
        "tlsPort",
        "autoport",
        "websocket",
        "listen",
        "passwd",
        "keymap",
    ]);
    if graphics.child("listen").is_none() {
        let listen = match graphics.attr("listen") {
            Some(address) => Element::new("listen")
                .with_attr("type", "address")
                .with_attr("address", address),
            None if listen_none => Element::new("listen").with_attr("type", "none"),
            None => Element::new("listen").with_attr("type", "address"),
        };
        graphics.children.insert(0, listen);
    }
}

/// libvirt adds a video device for guests with graphics but none declared.
pub fn add_implicit_video(devices: &mut Vec<Element>, _os_type: &str, _default_model: &str) {
    let has_graphics = devices.iter().any(|d| d.name == "graphics");
    let has_video = devices.iter().any(|d| d.name == "video");
    if has_graphics && !has_video {
        devices.push(Element::new("video"));
    }
}

/// Fills in `<model>`: type from the guest kind, video RAM sizes, heads, primary flag.
pub fn normalise_video(video: &mut Element, os_type: &str, default_model: &str, primary: bool) {
    let default_type = match os_type {
        "xen" | "linux" => "xen",
        _ => default_model,
    };
    if video.child("model").is_none() {
        video.children.insert(0, Element::new("model"));
    }
    let Some(model) = video.child_mut("model") else {
        return;
    };
    if model.attr("type").is_none() {
        model.set_attr("type", default_type);
    }
    let kind = model.attr("type").unwrap_or("").to_string();
    if kind == "none" {
        return;
    }
    if model.attr("vram").is_none() {
        let vram = match kind.as_str() {
            "xen" => Some("4096"),
            "qxl" => Some("65536"),
            "cirrus" | "vga" | "vmvga" | "bochs" => Some("16384"),
            _ => None,
        };
        if let Some(vram) = vram {
            model.set_attr("vram", vram);
        }
    }
    if kind == "qxl" {
        if model.attr("ram").is_none() {
            model.set_attr("ram", "65536");
        }
        if model.attr("vgamem").is_none() {
            model.set_attr("vgamem", "16384");
        }
    }
    if model.attr("heads").is_none() {
        model.set_attr("heads", "1");
    }
    if primary && model.attr("primary").is_none() {
        model.set_attr("primary", "yes");
    }
    model.order_attrs(&[
        "type", "ram", "vram", "vram64", "vgamem", "heads", "primary",
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_xml(el: &Element) -> String {
        let mut out = String::new();
        el.write(&mut out, 0);
        out
    }

    #[test]
    fn multicast_mac_is_refused() {
        let mut nic = Element::new("interface")
            .with_attr("type", "user")
            .with_child(Element::new("mac").with_attr("address", "01:00:5E:00:00:01"));
        assert_eq!(
            normalise_interface(&mut nic, false),
            Err(DomainXmlError::MulticastMac("01:00:5e:00:00:01".into()))
        );
    }

    #[test]
    fn mac_is_lowercased_and_generated() {
        assert_eq!(
            normalise_mac("AA:BB:cc:0:1:2").as_deref(),
            Some("aa:bb:cc:00:01:02")
        );
        assert_eq!(normalise_mac("aa:bb"), None);
        let generated = generate_mac();
        assert!(generated.starts_with("52:54:00:"));
        assert_eq!(normalise_mac(&generated), Some(generated.clone()));
    }

    #[test]
    fn network_interface_drops_bridge_and_gets_name() {
        let mut devices = vec![Element::new("interface")
            .with_attr("type", "network")
            .with_child(
                Element::new("source")
                    .with_attr("network", "default")
                    .with_attr("bridge", "virbr0"),
            )
            .with_child(Element::new("mac").with_attr("address", "AA:BB:CC:DD:EE:FF"))];
        normalise_interface(&mut devices[0], false).expect("valid");
        assign_interface_names(&mut devices, Some("testnet"));
        assert_eq!(
            to_xml(&devices[0]),
            "<interface type='network'>\n  <mac address='aa:bb:cc:dd:ee:ff'/>\n  <source network='default'/>\n  <target dev='testnet0'/>\n</interface>\n"
        );
    }

    #[test]
    fn second_interface_skips_used_names() {
        let mut devices = vec![
            Element::new("interface")
                .with_child(Element::new("target").with_attr("dev", "testnet0")),
            Element::new("interface"),
        ];
        assign_interface_names(&mut devices, Some("testnet"));
        assert_eq!(
            devices[1].child("target").and_then(|t| t.attr("dev")),
            Some("testnet1")
        );
    }

    #[test]
    fn vnc_defaults() {
        let mut g = Element::new("graphics").with_attr("type", "vnc");
        normalise_graphics(&mut g);
        assert_eq!(
            to_xml(&g),
            "<graphics type='vnc' port='-1' autoport='yes'>\n  <listen type='address'/>\n</graphics>\n"
        );
        let mut g = Element::new("graphics").with_attr("type", "spice");
        normalise_graphics(&mut g);
        assert_eq!(
            to_xml(&g),
            "<graphics type='spice'>\n  <listen type='none'/>\n</graphics>\n"
        );
    }

    #[test]
    fn video_defaults() {
        let mut v = Element::new("video");
        normalise_video(&mut v, "hvm", "cirrus", true);
        assert_eq!(
            to_xml(&v),
            "<video>\n  <model type='cirrus' vram='16384' heads='1' primary='yes'/>\n</video>\n"
        );
        let mut v = Element::new("video");
        normalise_video(&mut v, "xen", "cirrus", true);
        assert_eq!(v.child("model").and_then(|m| m.attr("vram")), Some("4096"));
    }

    #[test]
    fn input_bus_defaults() {
        let mut i = Element::new("input").with_attr("type", "tablet");
        normalise_input(&mut i, "hvm");
        assert_eq!(i.attr("bus"), Some("usb"));
        let mut i = Element::new("input").with_attr("type", "mouse");
        normalise_input(&mut i, "xen");
        assert_eq!(i.attr("bus"), Some("xen"));
    }
}
