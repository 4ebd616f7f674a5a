//! `<disk>` defaults: bus from the target name, drive addresses, read-only CD-ROMs.

use super::{DomainXmlError, Element};

const DISK_CHILD_ORDER: &[&str] = &[
    "driver",
    "auth",
    "source",
    "backingStore",
    "mirror",
    "geometry",
    "blockio",
    "target",
    "iotune",
    "readonly",
    "shareable",
    "transient",
    "serial",
    "wwn",
    "vendor",
    "product",
    "encryption",
    "boot",
    "alias",
    "address",
];

const DISK_BUSES: &[&str] = &[
    "ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd",
];

/// Target-name prefixes and the bus each implies, longest first.
const NAME_PREFIXES: &[(&str, &str)] = &[
    ("xvd", "xen"),
    ("ubd", "uml"),
    ("hd", "ide"),
    ("sd", "scsi"),
    ("vd", "virtio"),
    ("fd", "fdc"),
];

/// Index of a disk from its target name ("hda" -> 0, "sdb" -> 1, "vdaa" -> 26), as libvirt
/// computes it; `None` for names libvirt does not understand.
pub fn disk_name_index(name: &str) -> Option<u64> {
    let rest = NAME_PREFIXES
        .iter()
        .find_map(|(prefix, _)| name.strip_prefix(prefix))?;
    let letters: String = rest
        .chars()
        .take_while(|c| c.is_ascii_lowercase())
        .collect();
    let digits = &rest[letters.len()..];
    if letters.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut index: u64 = 0;
    for (i, ch) in letters.bytes().enumerate() {
        let value = u64::from(ch - b'a');
        index = if i == 0 {
            value
        } else {
            (index + 1) * 26 + value
        };
    }
    Some(index)
}

pub fn normalise_disk(disk: &mut Element) -> Result<(), DomainXmlError> {
    if disk.attr("type").is_none() {
        disk.set_attr("type", "file");
    }
    if disk.attr("device").is_none() {
        disk.set_attr("device", "disk");
    }
    disk.order_attrs(&["type", "device", "model", "rawio", "sgio", "snapshot"]);
    let is_cdrom = disk.attr("device") == Some("cdrom");

    let source_path = disk
        .child("source")
        .and_then(|s| s.attr("file").or(s.attr("dev")).or(s.attr("dir")))
        .unwrap_or("")
        .to_string();
    let target = disk
        .child_mut("target")
        .ok_or_else(|| DomainXmlError::DiskWithoutTarget(source_path.clone()))?;
    let dev = target
        .attr("dev")
        .ok_or_else(|| DomainXmlError::DiskWithoutTarget(source_path.clone()))?
        .to_string();
    let bus = match target.attr("bus") {
        Some(bus) if DISK_BUSES.contains(&bus) => bus.to_string(),
        Some(bus) => return Err(DomainXmlError::UnknownDiskBus(bus.to_string())),
        None => NAME_PREFIXES
            .iter()
            .find(|(prefix, _)| dev.starts_with(prefix))
            .map(|(_, bus)| bus.to_string())
            .unwrap_or_else(|| "ide".to_string()),
    };
    target.set_attr("bus", &bus);
    target.order_attrs(&["dev", "bus", "tray", "removable", "rotation_rate"]);
    if let Some(driver) = disk.child_mut("driver") {
        driver.order_attrs(&[
            "name",
            "type",
            "cache",
            "error_policy",
            "rerror_policy",
            "io",
            "ioeventfd",
            "event_idx",
            "copy_on_read",
            "discard",
            "iothread",
            "detect_zeroes",
            "queues",
            "queue_size",
        ]);
    }

    if is_cdrom && disk.child("readonly").is_none() {
        disk.children.push(Element::new("readonly"));
    }
    if disk.child("address").is_none() {
        if let Some(address) = drive_address(&bus, &dev)? {
            disk.children.push(address);
        }
    }
    disk.order_children(DISK_CHILD_ORDER);
    Ok(())
}

/// The drive address libvirt assigns to a disk on a controller-based bus.
fn drive_address(bus: &str, dev: &str) -> Result<Option<Element>, DomainXmlError> {
    let per_controller: Option<(u64, u64)> = match bus {
        // (units per controller, units per bus)
        "ide" => Some((4, 2)),
        "scsi" => Some((7, 7)),
        "sata" => Some((6, 6)),
        "fdc" => Some((2, 2)),
        _ => None,
    };
    let index = disk_name_index(dev);
    let Some((per_ctrl, per_bus)) = per_controller else {
        if index.is_none() {
            return Err(unknown_disk_name(dev));
        }
        return Ok(None);
    };
    let index = index.ok_or_else(|| unknown_disk_name(dev))?;
    let controller = index / per_ctrl;
    let bus_no = (index % per_ctrl) / per_bus;
    let unit = index % per_bus;
    Ok(Some(
        Element::new("address")
            .with_attr("type", "drive")
            .with_attr("controller", &controller.to_string())
            .with_attr("bus", &bus_no.to_string())
            .with_attr("target", "0")
            .with_attr("unit", &unit.to_string()),
    ))
}

fn unknown_disk_name(dev: &str) -> DomainXmlError {
    DomainXmlError::UnknownDiskName(dev.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_indexes() {
        assert_eq!(disk_name_index("hda"), Some(0));
        assert_eq!(disk_name_index("hdc"), Some(2));
        assert_eq!(disk_name_index("sdz"), Some(25));
        assert_eq!(disk_name_index("vdaa"), Some(26));
        assert_eq!(disk_name_index("xvdb1"), Some(1));
        assert_eq!(disk_name_index("xyz"), None);
        assert_eq!(disk_name_index("vd"), None);
    }

    fn attrs(el: &Element) -> Vec<(&str, &str)> {
        el.attrs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn ide_cdrom_gets_address_and_readonly() {
        let mut disk = Element::new("disk")
            .with_attr("device", "cdrom")
            .with_child(Element::new("target").with_attr("dev", "hdc"));
        normalise_disk(&mut disk).expect("valid disk");
        assert_eq!(attrs(&disk), vec![("type", "file"), ("device", "cdrom")]);
        let names: Vec<&str> = disk.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["target", "readonly", "address"]);
        let address = disk.child("address").expect("address added");
        assert_eq!(
            attrs(address),
            vec![
                ("type", "drive"),
                ("controller", "0"),
                ("bus", "1"),
                ("target", "0"),
                ("unit", "0")
            ]
        );
        assert_eq!(
            disk.child("target").and_then(|t| t.attr("bus")),
            Some("ide")
        );
    }

    #[test]
    fn scsi_and_sata_units() {
        let address = drive_address("scsi", "sdb")
            .ok()
            .flatten()
            .expect("address");
        assert_eq!(address.attr("unit"), Some("1"));
        let address = drive_address("sata", "sdh")
            .ok()
            .flatten()
            .expect("address");
        assert_eq!(
            (address.attr("controller"), address.attr("unit")),
            (Some("1"), Some("1"))
        );
    }

    #[test]
    fn errors_for_bad_targets() {
        let mut disk =
            Element::new("disk").with_child(Element::new("target").with_attr("dev", "xyz"));
        assert_eq!(
            normalise_disk(&mut disk),
            Err(DomainXmlError::UnknownDiskName("xyz".into()))
        );
        let mut disk = Element::new("disk");
        assert!(matches!(
            normalise_disk(&mut disk),
            Err(DomainXmlError::DiskWithoutTarget(_))
        ));
        let mut disk = Element::new("disk").with_child(
            Element::new("target")
                .with_attr("dev", "vda")
                .with_attr("bus", "nope"),
        );
        assert_eq!(
            normalise_disk(&mut disk),
            Err(DomainXmlError::UnknownDiskBus("nope".into()))
        );
    }
}
