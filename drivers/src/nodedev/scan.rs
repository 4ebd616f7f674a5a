//! Builds the device list from sysfs the way libvirt's udev backend does: a
//! device's kind comes from its DEVTYPE (or PCI_CLASS / INTERFACE when it has
//! none), devices of other kinds are left out, and a device's parent is the
//! nearest listed device above it in sysfs, or `computer`.

use std::collections::HashMap;
use std::path::PathBuf;

use super::model::*;
use super::sysfs::{device_name, list_dir, HostPaths, RawDevice};
use super::{ids, net, pci};

/// Every device of the host, `computer` first.
pub fn scan(paths: &HostPaths) -> Vec<Device> {
    let mut seen = std::collections::HashSet::new();
    let mut raw = Vec::new();
    for dir in [
        "bus/pci/devices",
        "bus/usb/devices",
        "bus/scsi/devices",
        "class/net",
        "class/block",
    ] {
        for entry in list_dir(&paths.sys.join(dir)) {
            if let Some(dev) = RawDevice::read(paths, &entry) {
                if seen.insert(dev.syspath.clone()) {
                    raw.push(dev);
                }
            }
        }
    }
    raw.sort_by(|a, b| a.syspath.cmp(&b.syspath));
    let mut devices = vec![computer(paths)];
    let mut by_path: HashMap<PathBuf, String> = HashMap::new();
    let mut built = Vec::new();
    for dev in &raw {
        if let Some(device) = build(paths, dev) {
            by_path.insert(dev.syspath.clone(), device.name.clone());
            built.push((dev.syspath.clone(), device));
        }
    }
    for (syspath, mut device) in built {
        let parent = syspath
            .ancestors()
            .skip(1)
            .find_map(|p| by_path.get(p))
            .cloned()
            .unwrap_or_else(|| "computer".to_string());
        device.parent = Some(parent);
        devices.push(device);
    }
    devices
}

fn computer(paths: &HostPaths) -> Device {
    let dmi = paths.sys.join("devices/virtual/dmi/id");
    let read = |name: &str| {
        std::fs::read_to_string(dmi.join(name))
            .ok()
            .map(|v| v.trim_end_matches(['\n', '\r']).to_string())
            .filter(|v| !v.is_empty())
    };
    let hw_uuid = read("product_uuid")
        .and_then(|u| crate::api::parse_uuid(&u))
        .unwrap_or([0; 16]);
    Device {
        name: "computer".to_string(),
        path: None,
        devnode: None,
        links: Vec::new(),
        parent: None,
        driver: None,
        cap: Cap::System(SystemCap {
            product: read("product_name"),
            hw_vendor: read("sys_vendor"),
            hw_version: read("product_version"),
            hw_serial: read("product_serial"),
            hw_uuid: crate::api::format_uuid(&hw_uuid),
            fw_vendor: read("bios_vendor"),
            fw_version: read("bios_version"),
            fw_date: read("bios_date"),
        }),
    }
}

fn build(paths: &HostPaths, dev: &RawDevice) -> Option<Device> {
    let (name, cap) = match dev.devtype() {
        Some("usb_device") => (
            device_name("usb", &dev.sysname, None),
            usb_device(paths, dev)?,
        ),
        Some("usb_interface") => (device_name("usb", &dev.sysname, None), usb_interface(dev)?),
        Some("scsi_host") => (
            device_name("scsi", &dev.sysname, None),
            scsi_host(paths, dev)?,
        ),
        Some("scsi_target") => (
            device_name("scsi", &dev.sysname, None),
            Cap::ScsiTarget(dev.sysname.clone()),
        ),
        Some("scsi_device") => (device_name("scsi", &dev.sysname, None), scsi_device(dev)?),
        Some("disk") => {
            let cap = storage(dev)?;
            let serial = match &cap {
                Cap::Storage(s) => s.serial.clone(),
                _ => None,
            };
            (device_name("block", &dev.sysname, serial.as_deref()), cap)
        }
        Some("wlan") => net_device(dev)?,
        Some(_) => return None,
        None if dev.prop("INTERFACE").is_some() => net_device(dev)?,
        None if dev.prop("PCI_CLASS").is_some() => (
            device_name("pci", &dev.sysname, None),
            Cap::Pci(pci::read(paths, dev)?),
        ),
        None => return None,
    };
    Some(Device {
        name,
        path: Some(dev.syspath.display().to_string()),
        devnode: dev.devnode(),
        links: dev.links.clone(),
        parent: None,
        driver: dev.driver.clone(),
        cap,
    })
}

fn net_device(dev: &RawDevice) -> Option<(String, Cap)> {
    let cap = net::read(dev)?;
    let name = device_name("net", &cap.ifname, cap.address.as_deref());
    Some((name, Cap::Net(cap)))
}

fn usb_device(paths: &HostPaths, dev: &RawDevice) -> Option<Cap> {
    let hex = |prop: &str, attr: &str| {
        dev.prop(prop)
            .and_then(|v| u32::from_str_radix(v, 16).ok())
            .or_else(|| dev.attr_u64(attr, 16).map(|v| v as u32))
            .unwrap_or(0)
    };
    let vendor = hex("ID_VENDOR_ID", "idVendor");
    let product = hex("ID_MODEL_ID", "idProduct");
    let (db_vendor, db_product) = ids::lookup(&paths.usb_ids, vendor, product);
    Some(Cap::UsbDev(UsbDevCap {
        bus: dev.prop("BUSNUM")?.parse().ok()?,
        device: dev.prop("DEVNUM")?.parse().ok()?,
        product,
        product_name: dev
            .prop("ID_MODEL_FROM_DATABASE")
            .map(str::to_string)
            .or_else(|| dev.attr("product"))
            .or(db_product),
        vendor,
        vendor_name: dev
            .prop("ID_VENDOR_FROM_DATABASE")
            .map(str::to_string)
            .or_else(|| dev.attr("manufacturer"))
            .or(db_vendor),
    }))
}

fn usb_interface(dev: &RawDevice) -> Option<Cap> {
    let hex = |attr: &str| dev.attr_u64(attr, 16).map(|v| v as u32);
    Some(Cap::UsbInterface(UsbInterfaceCap {
        number: hex("bInterfaceNumber")?,
        class: hex("bInterfaceClass")?,
        subclass: hex("bInterfaceSubClass")?,
        protocol: hex("bInterfaceProtocol")?,
        description: dev.attr("interface"),
    }))
}

fn scsi_host(paths: &HostPaths, dev: &RawDevice) -> Option<Cap> {
    let host = dev.sysname.strip_prefix("host")?.parse().ok()?;
    let unique_id = std::fs::read_to_string(
        paths
            .sys
            .join("class/scsi_host")
            .join(&dev.sysname)
            .join("unique_id"),
    )
    .ok()
    .and_then(|v| v.trim().parse::<i64>().ok());
    Some(Cap::ScsiHost(ScsiHostCap { host, unique_id }))
}

fn scsi_device(dev: &RawDevice) -> Option<Cap> {
    let mut parts = dev.sysname.split(':').map(|p| p.parse::<u32>().ok());
    let (host, bus, target, lun) = (
        parts.next()??,
        parts.next()??,
        parts.next()??,
        parts.next()??,
    );
    let kind = dev.attr_u64("type", 10).and_then(|t| {
        Some(
            match t {
                0 => "disk",
                1 => "tape",
                3 => "processor",
                4 => "worm",
                5 => "cdrom",
                6 => "scanner",
                7 => "mod",
                8 => "changer",
                12 => "raid",
                13 => "enclosure",
                _ => return None,
            }
            .to_string(),
        )
    });
    Some(Cap::Scsi(ScsiCap {
        host,
        bus,
        target,
        lun,
        kind,
    }))
}

/// Disks only: the drive type comes from udev (`ID_TYPE`) or, without it, from
/// the device name as libvirt guesses it (virtio, Xen and DASD disks); other
/// block devices are left out, as libvirt leaves them out.
fn storage(dev: &RawDevice) -> Option<Cap> {
    let block = dev.devnode()?;
    let drive_type = match dev.prop("ID_TYPE").filter(|t| *t != "generic") {
        Some(t) => t.to_string(),
        None if dev.prop("ID_DRIVE_FLOPPY") == Some("1") => "floppy".to_string(),
        None if dev.prop("ID_CDROM") == Some("1") => "cd".to_string(),
        None if dev.prop("ID_DRIVE_FLASH_SD") == Some("1") => "sd".to_string(),
        None => ["/dev/vd", "/dev/xvd"]
            .iter()
            .any(|p| block.starts_with(p))
            .then(|| "disk".to_string())
            .or_else(|| block.starts_with("/dev/dasd").then(|| "dasd".to_string()))?,
    };
    if drive_type != "disk" {
        return None;
    }
    let num_blocks = dev.attr_u64("size", 10)?;
    let logical_block_size = dev.attr_u64("queue/logical_block_size", 10)?;
    let trimmed = |attr: &str| {
        dev.attr(attr)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Some(Cap::Storage(StorageCap {
        block,
        bus: dev.prop("ID_BUS").map(str::to_string),
        drive_type,
        model: trimmed("device/model"),
        vendor: trimmed("device/vendor"),
        serial: dev.prop("ID_SERIAL").map(str::to_string),
        size: num_blocks.saturating_mul(logical_block_size),
        logical_block_size,
        num_blocks,
    }))
}
