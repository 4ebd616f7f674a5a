//! What libvirt's qemu driver adds to a definition when it is parsed: the emulator, the
//! canonical machine type, the CPU model of TCG guests, implicit devices and PCI
//! addresses on the i440fx machine. Also the checks that refuse what QEMU cannot run.

use super::error::QemuError;
use crate::domain_xml::{DomainDef, Element, ParseOptions};

/// Parse options of the qemu driver: x86_64 guests unless told otherwise.
pub fn parse_options() -> ParseOptions {
    ParseOptions {
        default_arch: "x86_64".to_string(),
        ifname_prefix: None,
        default_video: "cirrus".to_string(),
        status: false,
    }
}

/// Host facts the defaults depend on.
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    /// Default emulator binary for x86 guests.
    pub emulator: String,
    /// (name, canonical) for every machine type the emulator offers, e.g.
    /// ("pc", "pc-i440fx-7.2") and ("pc-i440fx-7.2", "pc-i440fx-7.2"). Empty when the
    /// emulator was not probed (then machine types are not checked).
    pub machine_aliases: Vec<(String, String)>,
}

impl HostFacts {
    /// The canonical name of a machine alias; other names are returned unchanged.
    pub fn canonical_machine(&self, name: &str) -> String {
        self.machine_aliases
            .iter()
            .find(|(alias, _)| alias == name)
            .map(|(_, canonical)| canonical.clone())
            .unwrap_or_else(|| name.to_string())
    }

    /// Refuses a machine type the probed emulator does not offer, as libvirt does when
    /// it validates a definition (at define and again at start). Names are also held to
    /// the characters QEMU uses, since they end up in a `-machine` option.
    pub fn check_machine(&self, name: &str) -> Result<(), QemuError> {
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        let offered = self.machine_aliases.is_empty()
            || self.machine_aliases.iter().any(|(known, _)| known == name);
        if plain && offered {
            Ok(())
        } else {
            Err(QemuError::Unsupported(format!(
                "Emulator '{}' does not support machine type '{name}'",
                self.emulator
            )))
        }
    }

    /// Reads the emulator and machine names of x86_64 guests from a capabilities
    /// document.
    pub fn from_capabilities(caps: &str) -> HostFacts {
        let mut facts = HostFacts {
            emulator: "/usr/bin/qemu-system-x86_64".to_string(),
            machine_aliases: Vec::new(),
        };
        let Ok(doc) = roxmltree::Document::parse(caps) else {
            return facts;
        };
        let arch = doc.descendants().find(|n| {
            n.has_tag_name("arch")
                && n.attribute("name") == Some("x86_64")
                && n.parent().is_some_and(|p| p.has_tag_name("guest"))
        });
        let Some(arch) = arch else {
            return facts;
        };
        if let Some(emulator) = arch
            .children()
            .find(|c| c.has_tag_name("emulator"))
            .and_then(|c| c.text())
        {
            facts.emulator = emulator.to_string();
        }
        for machine in arch.children().filter(|c| c.has_tag_name("machine")) {
            if let Some(name) = machine.text() {
                let canonical = machine.attribute("canonical").unwrap_or(name);
                facts
                    .machine_aliases
                    .push((name.to_string(), canonical.to_string()));
            }
        }
        facts
    }
}

/// Checks a parsed definition against what this driver runs and fills in the qemu
/// defaults, so that the stored and shown XML is what the guest gets.
pub fn apply_qemu_defaults(def: &mut DomainDef, host: &HostFacts) -> Result<(), QemuError> {
    if !matches!(def.virt_type.as_str(), "qemu" | "kvm") {
        return Err(QemuError::Unsupported(format!(
            "Emulator '{}' does not support virt type '{}'",
            host.emulator, def.virt_type
        )));
    }
    if def.os.os_type != "hvm" {
        return Err(QemuError::Unsupported(format!(
            "Emulator '{}' does not support os type '{}'",
            host.emulator, def.os.os_type
        )));
    }
    if !matches!(def.os.arch.as_str(), "x86_64" | "i686") {
        return Err(QemuError::Unsupported(format!(
            "Emulator '{}' does not support arch '{}'",
            host.emulator, def.os.arch
        )));
    }
    let machine = def.os.machine.clone().unwrap_or_else(|| "pc".to_string());
    let machine = host.canonical_machine(&machine);
    host.check_machine(&machine)?;
    let i440fx = machine == "pc" || machine.starts_with("pc-i440fx");
    def.os.machine = Some(machine);

    if !def.devices.iter().any(|d| d.name == "emulator") {
        def.devices
            .insert(0, Element::new("emulator").with_text(&host.emulator));
    }
    if def.virt_type == "qemu" && !def.extra.iter().any(|e| e.name == "cpu") {
        def.extra.push(
            Element::new("cpu")
                .with_attr("mode", "custom")
                .with_attr("match", "exact")
                .with_attr("check", "none")
                .with_child(
                    Element::new("model")
                        .with_attr("fallback", "forbid")
                        .with_text("qemu64"),
                ),
        );
    }
    if let Some(cpu) = def.extra.iter_mut().find(|e| e.name == "cpu") {
        super::bus_addresses::cpu_mode_defaults(cpu);
    }
    add_implicit_devices(&mut def.devices, i440fx);
    super::bus_addresses::assign_usb_ports(&mut def.devices);
    super::bus_addresses::serial_target_defaults(&mut def.devices);
    super::bus_addresses::assign_virtio_serial_ports(&mut def.devices);
    super::bus_addresses::drop_pathless_channel_sources(&mut def.devices);
    for interface in def.devices.iter_mut().filter(|d| d.name == "interface") {
        default_nic_model(interface);
    }
    let q35 = def
        .os
        .machine
        .as_deref()
        .is_some_and(|m| m.starts_with("pc-q35"));
    if i440fx {
        assign_pci_addresses(&mut def.devices);
    } else if q35 {
        super::q35::add_implicit_controllers(&mut def.devices);
        super::q35::assign_addresses(&mut def.devices);
    }
    sort_devices(&mut def.devices);
    Ok(())
}

/// QEMU's x86 default NIC, written into the definition as libvirt does, so that the
/// XML and `domiflist` name the model the guest really gets.
fn default_nic_model(interface: &mut Element) {
    if interface.child("model").is_some() {
        return;
    }
    const AFTER_MODEL: &[&str] = &[
        "driver", "backend", "tune", "teaming", "link", "mtu", "coalesce", "boot", "rom", "alias",
        "address", "acpi",
    ];
    let model = Element::new("model").with_attr("type", "rtl8139");
    match interface
        .children
        .iter()
        .position(|c| AFTER_MODEL.contains(&c.name.as_str()))
    {
        Some(index) => interface.children.insert(index, model),
        None => interface.children.push(model),
    }
}

fn has_controller(devices: &[Element], kind: &str) -> bool {
    devices
        .iter()
        .any(|d| d.name == "controller" && d.attr("type") == Some(kind))
}

fn add_implicit_devices(devices: &mut Vec<Element>, i440fx: bool) {
    if i440fx && !has_controller(devices, "usb") {
        devices.push(
            Element::new("controller")
                .with_attr("type", "usb")
                .with_attr("index", "0")
                .with_attr("model", "piix3-uhci"),
        );
    }
    if i440fx && !has_controller(devices, "pci") {
        devices.push(
            Element::new("controller")
                .with_attr("type", "pci")
                .with_attr("index", "0")
                .with_attr("model", "pci-root"),
        );
    }
    for kind in ["mouse", "keyboard"] {
        let present = devices.iter().any(|d| {
            d.name == "input" && d.attr("type") == Some(kind) && d.attr("bus") == Some("ps2")
        });
        if !present {
            devices.push(
                Element::new("input")
                    .with_attr("type", kind)
                    .with_attr("bus", "ps2"),
            );
        }
    }
    if !devices.iter().any(|d| d.name == "audio") {
        devices.push(
            Element::new("audio")
                .with_attr("id", "1")
                .with_attr("type", "none"),
        );
    }
    if !devices.iter().any(|d| d.name == "memballoon") {
        devices.push(Element::new("memballoon").with_attr("model", "virtio"));
    }
}

fn pci_address(slot: u32, function: u32) -> Element {
    Element::new("address")
        .with_attr("type", "pci")
        .with_attr("domain", "0x0000")
        .with_attr("bus", "0x00")
        .with_attr("slot", &format!("0x{slot:02x}"))
        .with_attr("function", &format!("0x{function:x}"))
}

/// Whether a device sits on the PCI bus of an i440fx machine (and so needs a slot).
fn wants_pci_slot(device: &Element) -> bool {
    match device.name.as_str() {
        "interface" | "sound" | "video" => true,
        "disk" => device.child("target").and_then(|t| t.attr("bus")) == Some("virtio"),
        "controller" => match device.attr("type") {
            Some("virtio-serial") | Some("scsi") | Some("sata") => true,
            Some("usb") => !matches!(device.attr("model"), Some("none") | None),
            _ => false,
        },
        "memballoon" | "rng" => device.attr("model") == Some("virtio"),
        "watchdog" => device.attr("model") == Some("i6300esb"),
        "input" => device.attr("bus") == Some("virtio"),
        "serial" => device.child("target").and_then(|t| t.attr("type")) == Some("pci-serial"),
        _ => false,
    }
}

/// The PCI function of an ICH9 USB2 controller within the slot its set shares (the
/// EHCI controller at .7, its UHCI companions at .0, .1, .2), as libvirt places them.
fn usb2_set_function(device: &Element) -> Option<u32> {
    if device.name != "controller" || device.attr("type") != Some("usb") {
        return None;
    }
    match device.attr("model") {
        Some("ich9-ehci1") => Some(7),
        Some("ich9-uhci1") => Some(0),
        Some("ich9-uhci2") => Some(1),
        Some("ich9-uhci3") => Some(2),
        _ => None,
    }
}

/// Slot 1 holds the PIIX3 functions (IDE at .1, USB at .2); the primary video gets slot 2;
/// everything else takes the next free slot in device order, as libvirt assigns them.
fn assign_pci_addresses(devices: &mut [Element]) {
    // A set: the slot search runs once per device, and a definition may hold thousands.
    let mut used: std::collections::HashSet<u32> = devices
        .iter()
        .filter_map(|d| d.child("address"))
        .filter(|a| a.attr("type") == Some("pci") && a.attr("bus").map(parse_num) == Some(0))
        .filter_map(|a| a.attr("slot").map(parse_num))
        .collect();
    used.insert(1);
    for device in devices.iter_mut() {
        if device.child("address").is_some() || device.name != "controller" {
            continue;
        }
        let function = match (
            device.attr("type"),
            device.attr("model"),
            device.attr("index"),
        ) {
            (Some("usb"), Some("piix3-uhci"), Some("0")) => 2,
            (Some("ide"), _, Some("0")) => 1,
            _ => continue,
        };
        device.children.push(pci_address(1, function));
    }
    let next_free = |used: &mut std::collections::HashSet<u32>| {
        let slot = (2..32).find(|s| !used.contains(s)).unwrap_or(31);
        used.insert(slot);
        slot
    };
    let primary_video = devices
        .iter()
        .position(|d| d.name == "video" && d.child("address").is_none());
    if let Some(index) = primary_video {
        let model_none = devices[index].child("model").and_then(|m| m.attr("type")) == Some("none");
        if !model_none {
            let slot = if used.contains(&2) {
                next_free(&mut used)
            } else {
                used.insert(2);
                2
            };
            devices[index].children.push(pci_address(slot, 0));
        }
    }
    // libvirt's order on i440fx: NICs, sound cards, controllers, disks, then the rest.
    let order = [
        "interface",
        "sound",
        "controller",
        "disk",
        "memballoon",
        "rng",
        "watchdog",
        "input",
        "serial",
        "video",
    ];
    // Slot shared by each USB2 controller set (EHCI plus UHCI companions), by index.
    let mut usb2_slots: std::collections::HashMap<String, u32> = Default::default();
    for kind in order {
        for device in devices.iter_mut().filter(|d| d.name == kind) {
            if device.child("address").is_some() || !wants_pci_slot(device) {
                continue;
            }
            if let Some(function) = usb2_set_function(device) {
                let index = device.attr("index").unwrap_or("0").to_string();
                let slot = match usb2_slots.get(&index) {
                    Some(slot) => *slot,
                    None => {
                        let slot = next_free(&mut used);
                        usb2_slots.insert(index, slot);
                        slot
                    }
                };
                let mut address = pci_address(slot, function);
                if function == 0 {
                    address.set_attr("multifunction", "on");
                }
                device.children.push(address);
                continue;
            }
            if kind == "video" && device.child("model").and_then(|m| m.attr("type")) == Some("none")
            {
                continue;
            }
            let slot = next_free(&mut used);
            device.children.push(pci_address(slot, 0));
        }
    }
}

fn parse_num(text: &str) -> u32 {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).unwrap_or(u32::MAX),
        None => text.parse().unwrap_or(u32::MAX),
    }
}

/// libvirt's device order, with implicit controllers grouped as it prints them.
fn sort_devices(devices: &mut [Element]) {
    const ORDER: &[&str] = &[
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
    let rank = |name: &str| ORDER.iter().position(|o| *o == name).unwrap_or(ORDER.len());
    let controller_rank = |d: &Element| match d.attr("type") {
        Some("usb") => 0,
        Some("pci") => 1,
        _ => 2,
    };
    devices.sort_by_key(|d| {
        (
            rank(&d.name),
            if d.name == "controller" {
                controller_rank(d)
            } else {
                0
            },
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::{parse_domain_xml, FormatOptions};

    fn facts() -> HostFacts {
        HostFacts {
            emulator: "/usr/bin/qemu-system-x86_64".into(),
            machine_aliases: vec![
                ("pc".into(), "pc-i440fx-7.2".into()),
                ("pc-i440fx-7.2".into(), "pc-i440fx-7.2".into()),
            ],
        }
    }

    #[test]
    fn minimal_guest_gets_libvirt_defaults() {
        let xml = "<domain type='qemu'><name>lvp-test</name>\
                   <uuid>462adde7-cde2-4751-aca8-a3b5b5e19414</uuid>\
                   <memory unit='KiB'>65536</memory><os><type>hvm</type></os></domain>";
        let mut def = parse_domain_xml(xml, &parse_options()).expect("parses");
        apply_qemu_defaults(&mut def, &facts()).expect("valid");
        let out = def.to_xml(FormatOptions::default());
        let expected = "<domain type='qemu'>
  <name>lvp-test</name>
  <uuid>462adde7-cde2-4751-aca8-a3b5b5e19414</uuid>
  <memory unit='KiB'>65536</memory>
  <currentMemory unit='KiB'>65536</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' index='0' model='piix3-uhci'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'/>
    <input type='mouse' bus='ps2'/>
    <input type='keyboard' bus='ps2'/>
    <audio id='1' type='none'/>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
";
        assert_eq!(out, expected);
    }

    #[test]
    fn interface_without_model_gets_rtl8139_before_its_address() {
        let xml =
            "<domain type='qemu'><name>n</name><memory>65536</memory><os><type>hvm</type></os>\
                   <devices><interface type='user'><mac address='52:54:00:00:00:01'/></interface>\
                   <interface type='user'><model type='virtio'/></interface></devices></domain>";
        let mut def = parse_domain_xml(xml, &parse_options()).expect("parses");
        apply_qemu_defaults(&mut def, &facts()).expect("valid");
        let nics: Vec<&Element> = def
            .devices
            .iter()
            .filter(|d| d.name == "interface")
            .collect();
        let names: Vec<&str> = nics[0].children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["mac", "model", "address"]);
        let model = |nic: &Element| {
            nic.child("model")
                .and_then(|m| m.attr("type"))
                .map(str::to_string)
        };
        assert_eq!(model(nics[0]).as_deref(), Some("rtl8139"));
        assert_eq!(model(nics[1]).as_deref(), Some("virtio"));
    }

    #[test]
    fn refuses_foreign_virt_type() {
        let xml = "<domain type='xen'><name>a</name><memory>1024</memory><os><type>hvm</type></os></domain>";
        let mut def = parse_domain_xml(xml, &parse_options()).expect("parses");
        let err = apply_qemu_defaults(&mut def, &facts()).expect_err("xen refused");
        assert!(err.to_string().contains("virt type 'xen'"), "{err}");
    }

    #[test]
    fn capabilities_give_machine_aliases() {
        let caps = "<capabilities><guest><os_type>hvm</os_type><arch name='x86_64'>\
                    <emulator>/usr/bin/qemu-system-x86_64</emulator>\
                    <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>\
                    <machine maxCpus='255'>pc-i440fx-7.2</machine></arch></guest></capabilities>";
        let f = HostFacts::from_capabilities(caps);
        assert_eq!(f.canonical_machine("pc"), "pc-i440fx-7.2");
        assert_eq!(f.canonical_machine("q35"), "q35");
        assert!(f.check_machine("pc").is_ok() && f.check_machine("pc-i440fx-7.2").is_ok());
        assert!(f.check_machine("q35").is_err());
    }

    #[test]
    fn machine_types_outside_the_probed_list_are_refused() {
        for machine in [
            "pc-q35-99.0",
            "pc,accel=kvm",
            "pc-i440fx-7.2,memory-backend=x",
        ] {
            let xml = format!(
                "<domain type='qemu'><name>m</name><memory>65536</memory>\
                 <os><type machine='{machine}'>hvm</type></os></domain>"
            );
            let mut def = parse_domain_xml(&xml, &parse_options()).expect("parses");
            let err = apply_qemu_defaults(&mut def, &facts()).expect_err("refused");
            assert_eq!(
                err.to_string(),
                format!(
                    "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' \
                     does not support machine type '{machine}'"
                )
            );
        }
        let unprobed = HostFacts {
            machine_aliases: Vec::new(),
            ..facts()
        };
        assert!(unprobed.check_machine("anything-1.0").is_ok());
        assert!(unprobed.check_machine("pc,x=y").is_err());
    }
}
