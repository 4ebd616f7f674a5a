//! Command-line arguments of the devices other than graphics.

use super::{is_plain_name, opt_value};
use crate::domain_xml::{is_net_model_name, Element};
use crate::qemu::error::QemuError;

thread_local! {
    /// Whether the command line being built is for a q35 machine, whose root bus is
    /// `pcie.0` and whose built-in AHCI controller is `ide`. Set for the duration of
    /// one [`super::build_command_line`] call on its thread.
    static Q35: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `build` with the machine kind the device helpers need to name buses.
pub(super) fn with_machine<T>(q35: bool, build: impl FnOnce() -> T) -> T {
    let before = Q35.with(|c| c.replace(q35));
    let result = build();
    Q35.with(|c| c.set(before));
    result
}

fn is_q35() -> bool {
    Q35.with(|c| c.get())
}

/// `,bus=pci.0,addr=0xN` for a device with a PCI address (`pcie.0` for the root bus of
/// a q35 machine, `pci.N` for the bus of controller N).
pub(super) fn pci_addr(device: &Element) -> String {
    let Some(address) = device.child("address") else {
        return String::new();
    };
    if address.attr("type") != Some("pci") {
        return String::new();
    }
    let bus = address.attr("bus").unwrap_or("0x00");
    let bus = u32::from_str_radix(bus.trim_start_matches("0x"), 16).unwrap_or(0);
    let bus_name = match (bus, is_q35()) {
        (0, true) => "pcie.0".to_string(),
        (n, _) => format!("pci.{n}"),
    };
    let slot = address.attr("slot").unwrap_or("0x00");
    let slot = u32::from_str_radix(slot.trim_start_matches("0x"), 16).unwrap_or(0);
    let function = address.attr("function").unwrap_or("0x0");
    let function = u32::from_str_radix(function.trim_start_matches("0x"), 16).unwrap_or(0);
    let multifunction = if address.attr("multifunction") == Some("on") {
        ",multifunction=on"
    } else {
        ""
    };
    if function == 0 {
        format!(",bus={bus_name}{multifunction},addr=0x{slot:x}")
    } else {
        format!(",bus={bus_name}{multifunction},addr=0x{slot:x}.0x{function:x}")
    }
}

pub(super) fn controller_args(device: &Element, argv: &mut Vec<String>) -> Result<(), QemuError> {
    match (device.attr("type"), device.attr("model")) {
        (Some("pci"), Some("pcie-root-port")) => {
            let index = device.attr("index").unwrap_or("1");
            let target = device.child("target");
            let number = |attr: &str, default: &str| -> Result<u32, QemuError> {
                let text = target.and_then(|t| t.attr(attr)).unwrap_or(default);
                let parsed = match text.strip_prefix("0x") {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => text.parse(),
                };
                parsed.map_err(|_| {
                    QemuError::Unsupported(format!("Cannot parse controller {attr} '{text}'"))
                })
            };
            if !index.chars().all(|c| c.is_ascii_digit()) || index.is_empty() {
                return Err(QemuError::Unsupported(format!(
                    "Cannot parse controller index {index}"
                )));
            }
            argv.push("-device".into());
            argv.push(format!(
                "pcie-root-port,port={},chassis={},id=pci.{index}{}",
                number("port", "0x10")?,
                number("chassis", index)?,
                pci_addr(device)
            ));
        }
        (Some("sata"), _) if is_q35() && device.attr("index") == Some("0") => {}
        (Some("pci"), _) | (Some("ide"), _) => {}
        (Some("virtio-serial"), _) => {
            argv.push("-device".into());
            argv.push(format!(
                "virtio-serial-pci,id=virtio-serial0{}",
                pci_addr(device)
            ));
        }
        (Some("sata"), _) => {
            argv.push("-device".into());
            argv.push(format!("ich9-ahci,id=sata0{}", pci_addr(device)));
        }
        (Some("scsi"), _) => {
            let index = device.attr("index").unwrap_or("0");
            if !index.chars().all(|c| c.is_ascii_digit()) || index.is_empty() {
                return Err(QemuError::Unsupported(format!(
                    "Cannot parse controller index {index}"
                )));
            }
            argv.push("-device".into());
            argv.push(format!(
                "virtio-scsi-pci,id=scsi{index}{}",
                pci_addr(device)
            ));
        }
        (kind, model) => {
            return Err(QemuError::Unsupported(format!(
                "controller type '{}' model '{}' is not supported by this qemu driver",
                kind.unwrap_or(""),
                model.unwrap_or("")
            )))
        }
    }
    Ok(())
}

/// The `-drive` options of a LUKS disk: qcow2 with LUKS inside, or a LUKS
/// image (`<driver type='raw'/>`), unlocked by the secret object `secret_id`.
fn luks_drive_format(format: &str, secret_id: &str) -> String {
    if format == "raw" {
        format!("format=luks,key-secret={secret_id}")
    } else {
        format!("format={format},encrypt.format=luks,encrypt.key-secret={secret_id}")
    }
}

/// `secret`: the id and `-object` value of an encrypted disk's passphrase.
pub(super) fn disk_args(
    device: &Element,
    index: usize,
    secret: Option<(&str, &str)>,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    let encrypted = device.child("encryption").is_some()
        || device
            .child("source")
            .is_some_and(|s| s.child("encryption").is_some());
    let kind = device.attr("type").unwrap_or("file");
    let source = device.child("source");
    let path = match kind {
        "file" => source.and_then(|s| s.attr("file")),
        "block" => source.and_then(|s| s.attr("dev")),
        other => {
            return Err(QemuError::Unsupported(format!(
                "disk type '{other}' is not supported by this qemu driver"
            )))
        }
    };
    let target = device.child("target");
    let bus = target.and_then(|t| t.attr("bus")).unwrap_or("ide");
    let dev = target.and_then(|t| t.attr("dev")).unwrap_or("hda");
    let cdrom = device.attr("device") == Some("cdrom");
    let format = match device.child("driver").and_then(|d| d.attr("type")) {
        None | Some("aio") => "raw",
        Some(format) if is_plain_name(format) => format,
        Some(format) => {
            return Err(QemuError::Unsupported(format!(
                "unknown driver format value '{format}'"
            )))
        }
    };
    // Ids are the device's alias (given at start), as libvirt names them.
    let id = device_id(device).unwrap_or_else(|| format!("{bus}-disk{index}"));
    let drive_id = format!("drive-{id}");
    let mut drive = String::new();
    match (path, encrypted.then_some(secret)) {
        (Some(path), Some(Some((secret_id, object)))) => {
            argv.push("-object".into());
            argv.push(object.to_string());
            drive.push_str(&format!(
                "file={},{},",
                opt_value(path),
                luks_drive_format(format, secret_id)
            ));
        }
        (_, Some(None)) => {
            return Err(QemuError::Unsupported(format!(
                "the passphrase of encrypted disk '{dev}' is not available"
            )))
        }
        (Some(path), _) => drive.push_str(&format!("file={},format={format},", opt_value(path))),
        (None, _) => {}
    }
    drive.push_str(&format!("if=none,id={drive_id}"));
    drive.push_str(&crate::qemu::live_tuning::block_iotune::drive_throttling(
        device,
    ));
    if cdrom || device.child("readonly").is_some() {
        drive.push_str(",readonly=on");
    }
    // `<driver discard='unmap'>`: the guest's discards free the image's blocks.
    match device.child("driver").and_then(|d| d.attr("discard")) {
        Some(policy @ ("unmap" | "ignore")) => drive.push_str(&format!(",discard={policy}")),
        Some("default") | None => {}
        Some(other) => {
            return Err(QemuError::Unsupported(format!(
                "unknown disk discard value '{other}'"
            )))
        }
    }
    argv.push("-drive".into());
    argv.push(drive);
    let frontend = match (bus, cdrom) {
        ("virtio", _) => format!(
            "virtio-blk-pci,drive={drive_id},id={id}{}",
            pci_addr(device)
        ),
        ("ide", true) | ("sata", true) => {
            let unit = drive_unit(device);
            let bus_name = if bus == "sata" && is_q35() {
                format!("ide.{unit}")
            } else if bus == "sata" {
                format!("sata0.{unit}")
            } else {
                format!("ide.{}", unit / 2)
            };
            format!("ide-cd,bus={bus_name},drive={drive_id},id={id}")
        }
        ("ide", false) | ("sata", false) => {
            let unit = drive_unit(device);
            let bus_name = if bus == "sata" && is_q35() {
                format!("ide.{unit}")
            } else if bus == "sata" {
                format!("sata0.{unit}")
            } else {
                format!("ide.{}", unit / 2)
            };
            format!("ide-hd,bus={bus_name},drive={drive_id},id={id}")
        }
        ("scsi", _) => {
            let address = device.child("address");
            let num = |name: &str| {
                address
                    .and_then(|a| a.attr(name))
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            };
            format!(
                "scsi-{},bus=scsi{}.0,channel={},scsi-id={},lun={},drive={drive_id},id={id}",
                if cdrom { "cd" } else { "hd" },
                num("controller"),
                num("bus"),
                num("target"),
                num("unit")
            )
        }
        ("usb", false) => format!("usb-storage,drive={drive_id},id={id}{}", usb_port(device)),
        (other, _) => {
            return Err(QemuError::Unsupported(format!(
                "disk bus '{other}' of disk '{dev}' is not supported by this qemu driver"
            )))
        }
    };
    argv.push("-device".into());
    argv.push(frontend);
    Ok(())
}

/// `,bus=usb.0,port=N` for a device with a port on USB bus 0 (other addresses are
/// left to QEMU).
fn usb_port(device: &Element) -> String {
    let address = device
        .child("address")
        .filter(|a| a.attr("type") == Some("usb") && a.attr("bus").unwrap_or("0") == "0");
    match address.and_then(|a| a.attr("port")) {
        Some(port) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            format!(",bus=usb.0,port={port}")
        }
        _ => String::new(),
    }
}

/// The device's alias when it is one QEMU accepts as an id (aliases are given by the
/// driver or are checked `ua-` names).
fn device_id(device: &Element) -> Option<String> {
    device
        .child("alias")
        .and_then(|a| a.attr("name"))
        .filter(|a| {
            !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        .map(str::to_string)
}

/// Position on the IDE/SATA controller: bus * 2 + unit for IDE, unit for SATA.
fn drive_unit(device: &Element) -> u32 {
    let address = device.child("address");
    let num = |name: &str| {
        address
            .and_then(|a| a.attr(name))
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    num("bus") * 2 + num("unit")
}

/// `<panic model='isa'/>`: the pvpanic device through which a crashed guest reports
/// GUEST_PANICKED; QEMU only pauses it, `on_crash` decides the rest.
pub(super) fn panic_args(device: &Element, argv: &mut Vec<String>) -> Result<(), QemuError> {
    match device.attr("model").unwrap_or("isa") {
        "isa" => {
            argv.extend(["-device".into(), "pvpanic,ioport=1285".into()]);
            argv.extend(["-action".into(), "panic=pause".into()]);
            Ok(())
        }
        other => Err(QemuError::Unsupported(format!(
            "panic model '{other}' is not supported by this qemu driver"
        ))),
    }
}

pub(super) fn interface_args(
    device: &Element,
    index: usize,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    let id = device_id(device).unwrap_or_else(|| format!("net{index}"));
    let netdev = match device.attr("type") {
        Some("user") => format!("user,id=host{id}"),
        Some("bridge" | "network") => {
            // The tap was made and added to the bridge before QEMU starts.
            let Some(tap) = device.child("target").and_then(|t| t.attr("dev")) else {
                return Err(QemuError::Failed(
                    "bridge interface without a tap device".into(),
                ));
            };
            format!(
                "tap,ifname={},script=no,downscript=no,id=host{id}",
                opt_value(tap)
            )
        }
        Some(other) => {
            return Err(QemuError::Unsupported(format!(
                "interface type '{other}' is not supported by this qemu driver"
            )))
        }
        None => return Err(QemuError::Unsupported("interface without a type".into())),
    };
    let model = device
        .child("model")
        .and_then(|m| m.attr("type"))
        .unwrap_or("rtl8139");
    let model = match model {
        "virtio" => "virtio-net-pci",
        other if is_net_model_name(other) => other,
        _ => {
            return Err(QemuError::Unsupported(
                "Model name contains invalid characters".into(),
            ))
        }
    };
    let mac = device
        .child("mac")
        .and_then(|m| m.attr("address"))
        .unwrap_or("52:54:00:00:00:01");
    if !is_mac_address(mac) {
        return Err(QemuError::Unsupported(format!(
            "unable to parse mac address '{mac}'"
        )));
    }
    argv.push("-netdev".into());
    argv.push(netdev);
    argv.push("-device".into());
    argv.push(format!(
        "{model},netdev=host{id},id={id},mac={mac}{}",
        pci_addr(device)
    ));
    Ok(())
}

pub(super) fn chardev_args(
    device: &Element,
    index: usize,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    let id = device_id(device).unwrap_or_else(|| format!("serial{index}"));
    let target_type = device
        .child("target")
        .and_then(|t| t.attr("type"))
        .unwrap_or("isa-serial");
    let frontend = match target_type {
        "isa-serial" => format!("isa-serial,chardev=char{id},id={id},index={index}"),
        "pci-serial" => format!("pci-serial,chardev=char{id},id={id}{}", pci_addr(device)),
        "usb-serial" => format!("usb-serial,chardev=char{id},id={id}{}", usb_port(device)),
        other => {
            return Err(QemuError::Unsupported(format!(
                "serial target type '{other}' is not supported by this qemu driver"
            )))
        }
    };
    let backend = match device.attr("type") {
        Some("pty") => format!("pty,id=char{id}"),
        Some("file") => {
            let path = device
                .child("source")
                .and_then(|s| s.attr("path"))
                .ok_or_else(|| {
                    QemuError::Unsupported("file serial without a source path".into())
                })?;
            if !path.starts_with('/') {
                return Err(QemuError::Unsupported(format!(
                    "serial file path '{path}' must be absolute"
                )));
            }
            format!("file,id=char{id},path={},append=on", opt_value(path))
        }
        Some("null") => format!("null,id=char{id}"),
        other => {
            return Err(QemuError::Unsupported(format!(
                "serial type '{}' is not supported by this qemu driver",
                other.unwrap_or("")
            )))
        }
    };
    argv.push("-chardev".into());
    argv.push(backend);
    argv.push("-device".into());
    argv.push(frontend);
    Ok(())
}

pub(super) fn video_args(device: &Element, argv: &mut Vec<String>) -> Result<(), QemuError> {
    let model = device
        .child("model")
        .and_then(|m| m.attr("type"))
        .unwrap_or("cirrus");
    let qemu_device = match model {
        "none" => return Ok(()),
        "vga" => "VGA",
        "cirrus" => "cirrus-vga",
        "virtio" => "virtio-vga",
        "qxl" => "qxl-vga",
        "bochs" => "bochs-display",
        "vmvga" => "vmware-svga",
        "ramfb" => "ramfb",
        other => {
            return Err(QemuError::Unsupported(format!(
                "video type '{other}' is not supported by this qemu driver"
            )))
        }
    };
    argv.push("-device".into());
    argv.push(format!("{qemu_device},id=video0{}", pci_addr(device)));
    Ok(())
}

/// The watchdog device and QEMU's action when it fires (libvirt pauses for "dump").
pub(super) fn watchdog_args(device: &Element, argv: &mut Vec<String>) -> Result<(), QemuError> {
    let model = match device.attr("model").unwrap_or("i6300esb") {
        model @ ("i6300esb" | "ib700" | "diag288") => model,
        other => {
            return Err(QemuError::Unsupported(format!(
                "watchdog model '{other}' is not supported by this qemu driver"
            )))
        }
    };
    let action = match device.attr("action").unwrap_or("reset") {
        "dump" => "pause",
        action @ ("reset" | "shutdown" | "poweroff" | "pause" | "none" | "inject-nmi") => action,
        other => {
            return Err(QemuError::Unsupported(format!(
                "watchdog action '{other}' is not supported by this qemu driver"
            )))
        }
    };
    argv.push("-device".into());
    let id = device_id(device).unwrap_or_else(|| "watchdog0".to_string());
    argv.push(format!("{model},id={id}{}", pci_addr(device)));
    argv.push("-action".into());
    argv.push(format!("watchdog={action}"));
    Ok(())
}

/// Six colon-separated hexadecimal octets.
fn is_mac_address(text: &str) -> bool {
    let octets: Vec<&str> = text.split(':').collect();
    octets.len() == 6
        && octets
            .iter()
            .all(|o| (1..=2).contains(&o.len()) && o.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `<rng model='virtio'>`: the host's random device (`/dev/urandom` or `/dev/random`)
/// or QEMU's built-in generator behind a virtio-rng device.
pub(super) fn rng_args(device: &Element, argv: &mut Vec<String>) -> Result<(), QemuError> {
    let id = device_id(device).unwrap_or_else(|| "rng0".to_string());
    let model = device.attr("model").unwrap_or("virtio");
    let frontend = match model {
        "virtio" => "virtio-rng-pci",
        "virtio-transitional" => "virtio-rng-pci-transitional",
        "virtio-non-transitional" => "virtio-rng-pci-non-transitional",
        other => {
            return Err(QemuError::Unsupported(format!(
                "unknown rng model '{other}'"
            )))
        }
    };
    let backend = device.child("backend");
    let object = match backend.and_then(|b| b.attr("model")).unwrap_or("random") {
        "random" => {
            let source = backend
                .and_then(|b| b.text.as_deref())
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .unwrap_or("/dev/urandom");
            if !matches!(source, "/dev/urandom" | "/dev/random" | "/dev/hwrng") {
                return Err(QemuError::Unsupported(format!(
                    "file '{source}' is not a supported random source"
                )));
            }
            format!("rng-random,id=objrng0,filename={source}")
        }
        "builtin" => "rng-builtin,id=objrng0".to_string(),
        other => {
            return Err(QemuError::Unsupported(format!(
                "rng backend model '{other}' is not supported by this qemu driver"
            )))
        }
    };
    argv.push("-object".into());
    argv.push(object.replace("id=objrng0", &format!("id=obj{id}")));
    argv.push("-device".into());
    argv.push(format!(
        "{frontend},rng=obj{id},id={id}{}",
        pci_addr(device)
    ));
    Ok(())
}
