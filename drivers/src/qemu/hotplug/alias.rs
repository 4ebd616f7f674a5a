//! Device aliases: the names QEMU knows devices by (`-device ...,id=ALIAS`), shown
//! as `<alias name>` in the live XML and used to find devices again for statistics
//! and hot unplug. Named as libvirt names them; user aliases (`ua-*`) are kept.

use crate::domain_xml::{disk_name_index, DomainDef, Element};

/// The alias of a device, if it has one.
pub fn alias_of(device: &Element) -> Option<&str> {
    device.child("alias").and_then(|a| a.attr("name"))
}

/// A user alias libvirt accepts: `ua-` then letters, digits, `_` and `-`.
pub fn is_user_alias(name: &str) -> bool {
    name.strip_prefix("ua-").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 128
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    })
}

/// Drops aliases that are not user aliases (libvirt ignores them in input XML).
pub fn strip_generated_alias(device: &mut Element) {
    if alias_of(device).is_some_and(|a| !is_user_alias(a)) {
        device.children.retain(|c| c.name != "alias");
    }
}

/// Sets `<alias name>`, placed before `<address>` as libvirt prints it.
pub fn set_alias(device: &mut Element, name: &str) {
    device.children.retain(|c| c.name != "alias");
    let alias = Element::new("alias").with_attr("name", name);
    match device.children.iter().position(|c| c.name == "address") {
        Some(at) => device.children.insert(at, alias),
        None => device.children.push(alias),
    }
}

/// The alias libvirt gives a disk: by its bus and drive address or target name.
pub fn disk_alias(disk: &Element) -> String {
    let target = disk.child("target");
    let bus = target.and_then(|t| t.attr("bus")).unwrap_or("ide");
    let dev = target.and_then(|t| t.attr("dev")).unwrap_or("");
    let index = disk_name_index(dev).unwrap_or(0);
    let address = disk
        .child("address")
        .filter(|a| a.attr("type") == Some("drive"));
    let num = |name: &str| {
        address
            .and_then(|a| a.attr(name))
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    match bus {
        "ide" | "sata" | "fdc" => {
            format!("{bus}{}-{}-{}", num("controller"), num("bus"), num("unit"))
        }
        "scsi" => format!(
            "scsi{}-{}-{}-{}",
            num("controller"),
            num("bus"),
            num("target"),
            num("unit")
        ),
        "virtio" => format!("virtio-disk{index}"),
        other => format!("{other}-disk{index}"),
    }
}

/// Gives the disks, NICs and balloon of a definition about to start their aliases.
pub fn assign_aliases(def: &mut DomainDef) {
    let (mut net, mut input, mut serial, mut rng) = (0, 0, 0, 0);
    for device in def.devices.iter_mut() {
        let counter = match device.name.as_str() {
            "interface" => Some(&mut net),
            "input" => Some(&mut input),
            "serial" => Some(&mut serial),
            "rng" => Some(&mut rng),
            _ => None,
        };
        let number = counter.map(|c| {
            *c += 1;
            *c - 1
        });
        if alias_of(device).is_some_and(is_user_alias) {
            continue;
        }
        match device.name.as_str() {
            "input" | "serial" | "rng" => {
                let alias = format!("{}{}", device.name, number.unwrap_or(0));
                set_alias(device, &alias);
            }
            "watchdog" => set_alias(device, "watchdog0"),
            "controller" if device.attr("type") == Some("scsi") => {
                let alias = format!("scsi{}", device.attr("index").unwrap_or("0"));
                set_alias(device, &alias);
            }
            "disk" => {
                let alias = disk_alias(device);
                set_alias(device, &alias);
            }
            "interface" => {
                set_alias(device, &format!("net{}", number.unwrap_or(0)));
            }
            "memballoon" if device.attr("model") == Some("virtio") => {
                set_alias(device, "balloon0");
            }
            _ => {}
        }
    }
}

/// A guest started by a daemon that gave no aliases: its devices run under the
/// ids that daemon's command line used (by position), which become their aliases
/// so that statistics and unplug find them.
pub fn adopt_unnamed_ids(def: &mut DomainDef) {
    let (mut disks, mut nics) = (0, 0);
    for device in def.devices.iter_mut() {
        let unnamed = alias_of(device).is_none();
        match device.name.as_str() {
            "disk" => {
                if unnamed {
                    let bus = device
                        .child("target")
                        .and_then(|t| t.attr("bus"))
                        .unwrap_or("ide")
                        .to_string();
                    set_alias(device, &format!("{bus}-disk{disks}"));
                }
                disks += 1;
            }
            "interface" => {
                if unnamed {
                    set_alias(device, &format!("net{nics}"));
                }
                nics += 1;
            }
            "memballoon" if unnamed && device.attr("model") == Some("virtio") => {
                set_alias(device, "balloon0");
            }
            _ => {}
        }
    }
}

/// The alias for a NIC plugged into a running guest: one past the highest `netN`.
pub fn next_net_alias(def: &DomainDef) -> String {
    let next = def
        .devices
        .iter()
        .filter_map(alias_of)
        .filter_map(|a| a.strip_prefix("net")?.parse::<u32>().ok())
        .map(|n| n + 1)
        .max()
        .unwrap_or(0);
    format!("net{next}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(dev: &str, bus: &str) -> Element {
        Element::new("disk").with_child(
            Element::new("target")
                .with_attr("dev", dev)
                .with_attr("bus", bus),
        )
    }

    #[test]
    fn disk_aliases_follow_libvirt() {
        assert_eq!(disk_alias(&disk("vdc", "virtio")), "virtio-disk2");
        let ide = disk("hdc", "ide").with_child(
            Element::new("address")
                .with_attr("type", "drive")
                .with_attr("controller", "0")
                .with_attr("bus", "1")
                .with_attr("unit", "0"),
        );
        assert_eq!(disk_alias(&ide), "ide0-1-0");
    }

    #[test]
    fn guests_without_aliases_keep_their_command_line_ids() {
        let mut def = crate::domain_xml::parse_domain_xml(
            "<domain type='qemu'><name>a</name><memory>1024</memory><os><type>hvm</type></os>\
             <devices><disk type='file'><source file='/a'/><target dev='hda'/></disk>\
             <disk type='file'><source file='/b'/><target dev='vdb'/><alias name='virtio-disk1'/></disk>\
             <interface type='user'/></devices></domain>",
            &crate::qemu::defaults::parse_options(),
        )
        .expect("parses");
        adopt_unnamed_ids(&mut def);
        let aliases: Vec<&str> = def.devices.iter().filter_map(alias_of).collect();
        assert_eq!(aliases, ["ide-disk0", "virtio-disk1", "net0"]);
    }

    #[test]
    fn user_aliases_are_checked() {
        assert!(is_user_alias("ua-disk_1"));
        assert!(!is_user_alias("ua-"));
        assert!(!is_user_alias("ua-a,b"));
        assert!(!is_user_alias("virtio-disk0"));
    }

    #[test]
    fn alias_goes_before_the_address() {
        let mut d = disk("vda", "virtio").with_child(Element::new("address"));
        set_alias(&mut d, "virtio-disk0");
        let names: Vec<&str> = d.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["target", "alias", "address"]);
    }
}
