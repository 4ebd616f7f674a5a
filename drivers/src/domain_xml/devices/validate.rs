//! Define-time checks of device attributes that hypervisors turn into command-line
//! options: libvirt's enumerations and character rules, so a value such as
//! `e1000,romfile=/etc/shadow` never reaches a driver.

use super::{DomainXmlError, Element};

/// Characters libvirt allows in a NIC model it does not know by name.
const NET_MODEL_EXTRA_CHARS: &[char] = &['_', '-'];

/// `virStorageFileFormat` names accepted in `<driver type>` ("none" is not), plus the
/// Xen spelling "aio" libvirt reads as raw.
const DISK_FORMATS: &[&str] = &[
    "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop", "cow",
    "qcow", "qcow2", "qed", "vmdk", "aio",
];

const DISK_CACHE_MODES: &[&str] = &[
    "default",
    "none",
    "writethrough",
    "writeback",
    "directsync",
    "unsafe",
];
const DISK_IO_MODES: &[&str] = &["default", "native", "threads", "io_uring"];
const DISK_DISCARD_MODES: &[&str] = &["default", "unmap", "ignore"];

/// `virDomainVideoType` names.
const VIDEO_MODELS: &[&str] = &[
    "default",
    "vga",
    "cirrus",
    "vmvga",
    "xen",
    "vbox",
    "qxl",
    "parallels",
    "virtio",
    "gop",
    "none",
    "bochs",
    "ramfb",
];

const WATCHDOG_MODELS: &[&str] = &["i6300esb", "ib700", "diag288", "itco"];
const WATCHDOG_ACTIONS: &[&str] = &[
    "reset",
    "shutdown",
    "poweroff",
    "pause",
    "dump",
    "none",
    "inject-nmi",
];
const MEMBALLOON_MODELS: &[&str] = &[
    "virtio",
    "xen",
    "none",
    "virtio-transitional",
    "virtio-non-transitional",
];
const GRAPHICS_TYPES: &[&str] = &[
    "sdl",
    "vnc",
    "rdp",
    "desktop",
    "spice",
    "egl-headless",
    "dbus",
];

/// Checks one device; called for every device of a definition as it is parsed.
pub fn validate_device(device: &Element) -> Result<(), DomainXmlError> {
    match device.name.as_str() {
        "interface" => validate_interface(device),
        "disk" => validate_disk(device),
        "video" => match device.child("model") {
            Some(model) => enum_attr(model, "type", VIDEO_MODELS),
            None => Ok(()),
        },
        "watchdog" => {
            enum_attr(device, "model", WATCHDOG_MODELS)?;
            enum_attr(device, "action", WATCHDOG_ACTIONS)
        }
        "memballoon" => enum_attr(device, "model", MEMBALLOON_MODELS),
        "graphics" => enum_attr(device, "type", GRAPHICS_TYPES),
        _ => Ok(()),
    }
}

fn validate_interface(interface: &Element) -> Result<(), DomainXmlError> {
    let Some(model) = interface.child("model").and_then(|m| m.attr("type")) else {
        return Ok(());
    };
    if is_net_model_name(model) {
        Ok(())
    } else {
        Err(DomainXmlError::BadNetModel)
    }
}

/// libvirt's rule for NIC models: letters, digits, '_' and '-' only.
pub fn is_net_model_name(model: &str) -> bool {
    !model.is_empty()
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || NET_MODEL_EXTRA_CHARS.contains(&c))
}

fn validate_disk(disk: &Element) -> Result<(), DomainXmlError> {
    let Some(driver) = disk.child("driver") else {
        return Ok(());
    };
    if let Some(format) = driver.attr("type") {
        if !DISK_FORMATS.contains(&format) {
            return Err(DomainXmlError::UnknownDiskFormat(format.to_string()));
        }
    }
    enum_attr(driver, "cache", DISK_CACHE_MODES)?;
    enum_attr(driver, "io", DISK_IO_MODES)?;
    enum_attr(driver, "discard", DISK_DISCARD_MODES)
}

/// An optional attribute that must be one of `allowed` when present.
fn enum_attr(element: &Element, attr: &str, allowed: &[&str]) -> Result<(), DomainXmlError> {
    match element.attr(attr) {
        Some(value) if !allowed.contains(&value) => Err(DomainXmlError::InvalidAttr {
            attr: attr.to_string(),
            element: element.name.clone(),
            value: value.to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(xml: &str) -> Element {
        let doc = roxmltree::Document::parse(xml).expect("test xml parses");
        Element::from_node(doc.root_element())
    }

    const INJECTIONS: &[&str] = &[
        ",romfile=/etc/shadow",
        "e1000,romfile=/etc/shadow",
        "virtio,,x",
        "e1000 ",
        "e1000\n",
        "",
    ];

    #[test]
    fn nic_models_follow_libvirts_character_rule() {
        for good in [
            "virtio",
            "e1000",
            "rtl8139",
            "e1000e",
            "virtio-net-pci",
            "my_nic",
        ] {
            let device = el(&format!(
                "<interface type='user'><model type='{good}'/></interface>"
            ));
            assert_eq!(validate_device(&device), Ok(()), "{good}");
        }
        for bad in INJECTIONS {
            let device = el(&format!(
                "<interface type='user'><model type='{bad}'/></interface>"
            ));
            assert_eq!(
                validate_device(&device),
                Err(DomainXmlError::BadNetModel),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn enumerated_attributes_refuse_option_text() {
        let cases = [
            "<disk><driver name='qemu' type='{}'/></disk>",
            "<disk><driver cache='{}'/></disk>",
            "<disk><driver io='{}'/></disk>",
            "<disk><driver discard='{}'/></disk>",
            "<video><model type='{}'/></video>",
            "<watchdog model='{}'/>",
            "<watchdog model='i6300esb' action='{}'/>",
            "<memballoon model='{}'/>",
            "<graphics type='{}'/>",
        ];
        for case in cases {
            for bad in INJECTIONS {
                let xml = case.replace("{}", bad);
                assert!(validate_device(&el(&xml)).is_err(), "accepted {xml:?}");
            }
        }
        let good = [
            "<disk><driver name='qemu' type='qcow2' cache='none' io='native' discard='unmap'/></disk>",
            "<video><model type='virtio'/></video>",
            "<watchdog model='i6300esb' action='poweroff'/>",
            "<memballoon model='virtio'/>",
            "<graphics type='vnc'/>",
        ];
        for xml in good {
            assert_eq!(validate_device(&el(xml)), Ok(()), "{xml}");
        }
    }

    #[test]
    fn errors_read_like_libvirts() {
        let err = validate_device(&el("<disk><driver type='qcow9'/></disk>")).expect_err("bad");
        assert_eq!(err.to_string(), "unknown driver format value 'qcow9'");
        let err = validate_device(&el("<watchdog model='x,y'/>")).expect_err("bad");
        assert_eq!(
            err.to_string(),
            "Invalid value for attribute 'model' in element 'watchdog': 'x,y'."
        );
    }
}
