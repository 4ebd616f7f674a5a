//! Hot plug of the devices that are one QEMU frontend with at most one backend
//! (`object-add` or `chardev-add`): SCSI controllers, input devices, RNGs,
//! watchdogs and PCI/USB serial ports, with libvirt 9.0's refusals for the kinds
//! and buses QEMU cannot plug or unplug.

use serde_json::{json, Value};

use super::alias::{alias_of, is_user_alias, set_alias};
use super::device_xml::{assign_pci_slot, check_plain_text, pci_slot};
use super::qemu_refused;
use crate::api::{codes, domains, DriverError, DriverResult};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::qmp::Monitor;

/// Device kinds this module plugs.
pub const KINDS: &[&str] = &[
    "controller",
    "input",
    "rng",
    "watchdog",
    "serial",
    "console",
];

fn err(code: i32, text: impl Into<String>) -> DriverError {
    DriverError::new(code, domains::QEMU, text)
}

/// What QEMU gets for one device.
struct Plan {
    backend: Backend,
    device: Value,
    /// Monitor commands run before `device_add` (the watchdog's action).
    before: Option<(&'static str, Value)>,
}

enum Backend {
    None,
    Object(Value),
    Chardev(String, Value),
}

/// Plugs `device` (one of [`KINDS`]) into the running guest described by `def`,
/// giving it its alias and address; nothing is left behind when QEMU refuses.
pub fn plug(def: &DomainDef, monitor: &Monitor, device: &mut Element) -> DriverResult<()> {
    let plan = prepare(def, device)?;
    if let Some((command, args)) = plan.before {
        monitor
            .execute(command, Some(args))
            .map_err(|e| qemu_refused(command, e))?;
    }
    let backend_id = match &plan.backend {
        Backend::None => None,
        Backend::Object(args) => {
            monitor
                .execute("object-add", Some(args.clone()))
                .map_err(|e| qemu_refused("object-add", e))?;
            Some(("object-del", args["id"].clone()))
        }
        Backend::Chardev(id, backend) => {
            let reply = monitor
                .execute("chardev-add", Some(json!({"id": id, "backend": backend})))
                .map_err(|e| qemu_refused("chardev-add", e))?;
            if let Some(pty) = reply.get("pty").and_then(Value::as_str) {
                record_pty(device, pty);
            }
            Some(("chardev-remove", json!(id)))
        }
    };
    if let Err(e) = monitor.execute("device_add", Some(plan.device)) {
        if let Some((command, id)) = backend_id {
            let _ = monitor.execute(command, Some(json!({ "id": id })));
        }
        return Err(qemu_refused("device_add", e));
    }
    Ok(())
}

/// What is left once QEMU deleted a device: its RNG object or its chardev.
pub fn release(monitor: &Monitor, device: &Element) {
    let Some(alias) = alias_of(device) else {
        return;
    };
    match device.name.as_str() {
        "rng" => {
            let _ = monitor.execute("object-del", Some(json!({ "id": format!("obj{alias}") })));
        }
        "serial" => {
            let _ = monitor.execute(
                "chardev-remove",
                Some(json!({ "id": format!("char{alias}") })),
            );
        }
        _ => {}
    }
}

fn prepare(def: &DomainDef, device: &mut Element) -> DriverResult<Plan> {
    match device.name.as_str() {
        "controller" => prepare_controller(def, device),
        "input" => prepare_input(def, device),
        "rng" => prepare_rng(def, device),
        "watchdog" => prepare_watchdog(def, device),
        "serial" => prepare_serial(def, device),
        "console" => Err(err(
            codes::OPERATION_UNSUPPORTED,
            "attaching serial console is not supported",
        )),
        other => Err(err(
            codes::OPERATION_UNSUPPORTED,
            format!("live attach of device '{other}' is not supported"),
        )),
    }
}

/// The alias a new device gets: its user alias, or `prefix` with one more than the
/// highest number in use.
fn give_alias(def: &DomainDef, device: &mut Element, prefix: &str) -> DriverResult<String> {
    if let Some(user) = alias_of(device).filter(|a| is_user_alias(a)) {
        let user = user.to_string();
        if def
            .devices
            .iter()
            .any(|d| alias_of(d) == Some(user.as_str()))
        {
            return Err(DriverError::xml_error(format!(
                "non unique alias detected: {user}"
            )));
        }
        return Ok(user);
    }
    let alias = format!("{prefix}{}", next_number(def, prefix));
    set_alias(device, &alias);
    Ok(alias)
}

fn next_number(def: &DomainDef, prefix: &str) -> u32 {
    def.devices
        .iter()
        .filter_map(alias_of)
        .filter_map(|a| a.strip_prefix(prefix)?.parse::<u32>().ok())
        .map(|n| n + 1)
        .max()
        .unwrap_or(0)
}

/// `device_add` arguments for a PCI device on bus 0, slot assigned in `device`.
fn pci_device(
    def: &DomainDef,
    device: &mut Element,
    driver: &str,
    alias: &str,
) -> DriverResult<Value> {
    assign_pci_slot(def, device)?;
    let mut args = json!({"driver": driver, "id": alias, "bus": "pci.0"});
    if let Some(slot) = pci_slot(device) {
        args["addr"] = json!(format!("0x{slot:x}"));
    }
    Ok(args)
}

/// `device_add` arguments for a device on USB bus 0, on its port or the next free one.
pub fn usb_device(def: &DomainDef, device: &mut Element, driver: &str, alias: &str) -> Value {
    let used: Vec<String> = def
        .devices
        .iter()
        .filter_map(|d| d.child("address"))
        .filter(|a| a.attr("type") == Some("usb"))
        .filter_map(|a| a.attr("port").map(str::to_string))
        .collect();
    let port = match device
        .child("address")
        .filter(|a| a.attr("type") == Some("usb"))
        .and_then(|a| a.attr("port"))
    {
        Some(port) => port.to_string(),
        None => {
            let port = (1..)
                .map(|p: u32| p.to_string())
                .find(|p| !used.contains(p))
                .unwrap_or_default();
            device.children.retain(|c| c.name != "address");
            device.children.push(
                Element::new("address")
                    .with_attr("type", "usb")
                    .with_attr("bus", "0")
                    .with_attr("port", &port),
            );
            port
        }
    };
    json!({"driver": driver, "id": alias, "bus": "usb.0", "port": port})
}

fn prepare_controller(def: &DomainDef, device: &mut Element) -> DriverResult<Plan> {
    let kind = device.attr("type").unwrap_or("").to_string();
    if kind != "scsi" {
        return Err(err(
            codes::OPERATION_UNSUPPORTED,
            format!("'{kind}' controller cannot be hot plugged."),
        ));
    }
    match device.attr("model") {
        None => device.set_attr("model", "virtio-scsi"),
        Some("virtio-scsi") => {}
        Some(other) => {
            return Err(err(
                codes::CONFIG_UNSUPPORTED,
                format!("SCSI controller model '{other}' is not supported by this qemu driver"),
            ))
        }
    }
    let index = match device.attr("index") {
        Some(i) => i.parse::<u32>().map_err(|_| {
            err(
                codes::CONFIG_UNSUPPORTED,
                format!("Cannot parse controller index {i}"),
            )
        })?,
        None => {
            let index = (0..)
                .find(|i| scsi_controller(def, *i).is_none())
                .unwrap_or(0);
            device.set_attr("index", &index.to_string());
            index
        }
    };
    device.order_attrs(&["type", "index", "model"]);
    if scsi_controller(def, index).is_some() {
        return Err(err(
            codes::OPERATION_FAILED,
            format!("target scsi:{index} already exists"),
        ));
    }
    // QEMU names the controller's bus after its id, which the disks name.
    let alias = format!("scsi{index}");
    set_alias(device, &alias);
    let args = pci_device(def, device, "virtio-scsi-pci", &alias)?;
    Ok(Plan {
        backend: Backend::None,
        device: args,
        before: None,
    })
}

/// The position of SCSI controller `index` in `def`.
pub fn scsi_controller(def: &DomainDef, index: u32) -> Option<usize> {
    def.devices.iter().position(|d| {
        d.name == "controller"
            && d.attr("type") == Some("scsi")
            && d.attr("index").and_then(|i| i.parse::<u32>().ok()) == Some(index)
    })
}

fn prepare_input(def: &DomainDef, device: &mut Element) -> DriverResult<Plan> {
    let bus = device.attr("bus").unwrap_or("").to_string();
    let kind = device.attr("type").unwrap_or("").to_string();
    if !matches!(bus.as_str(), "usb" | "virtio") {
        return Err(err(
            codes::OPERATION_UNSUPPORTED,
            format!("input device on bus '{bus}' cannot be hot plugged."),
        ));
    }
    if !matches!(kind.as_str(), "tablet" | "mouse" | "keyboard") {
        return Err(err(
            codes::CONFIG_UNSUPPORTED,
            format!(
                "input device type '{kind}' on bus '{bus}' is not supported by this qemu driver"
            ),
        ));
    }
    let alias = give_alias(def, device, "input")?;
    let args = if bus == "virtio" {
        pci_device(def, device, &format!("virtio-{kind}-pci"), &alias)?
    } else {
        let driver = match kind.as_str() {
            "tablet" => "usb-tablet",
            "mouse" => "usb-mouse",
            _ => "usb-kbd",
        };
        usb_device(def, device, driver, &alias)
    };
    Ok(Plan {
        backend: Backend::None,
        device: args,
        before: None,
    })
}

fn prepare_rng(def: &DomainDef, device: &mut Element) -> DriverResult<Plan> {
    let model = device.attr("model").unwrap_or("").to_string();
    if model != "virtio" {
        return Err(err(
            codes::CONFIG_UNSUPPORTED,
            format!("unknown rng model '{model}'"),
        ));
    }
    let backend = device.child("backend");
    let backend_model = backend
        .and_then(|b| b.attr("model"))
        .unwrap_or("random")
        .to_string();
    let source = backend
        .and_then(|b| b.text.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("/dev/urandom")
        .to_string();
    let alias = give_alias(def, device, "rng")?;
    let object = match backend_model.as_str() {
        "random" => {
            if !matches!(
                source.as_str(),
                "/dev/urandom" | "/dev/random" | "/dev/hwrng"
            ) {
                return Err(err(
                    codes::CONFIG_UNSUPPORTED,
                    format!("file '{source}' is not a supported random source"),
                ));
            }
            json!({"qom-type": "rng-random", "id": format!("obj{alias}"), "filename": source})
        }
        "builtin" => json!({"qom-type": "rng-builtin", "id": format!("obj{alias}")}),
        other => {
            return Err(err(
                codes::CONFIG_UNSUPPORTED,
                format!("rng backend model '{other}' is not supported by this qemu driver"),
            ))
        }
    };
    let mut args = pci_device(def, device, "virtio-rng-pci", &alias)?;
    args["rng"] = json!(format!("obj{alias}"));
    Ok(Plan {
        backend: Backend::Object(object),
        device: args,
        before: None,
    })
}

fn prepare_watchdog(def: &DomainDef, device: &mut Element) -> DriverResult<Plan> {
    if def.devices.iter().any(|d| d.name == "watchdog") {
        return Err(err(
            codes::OPERATION_INVALID,
            "domain already has a watchdog",
        ));
    }
    let model = device.attr("model").unwrap_or("").to_string();
    if model != "i6300esb" {
        return Err(err(
            codes::OPERATION_UNSUPPORTED,
            format!("hotplug of watchdog of model {model} is not supported"),
        ));
    }
    let action = match device.attr("action").unwrap_or("reset") {
        "dump" => "pause".to_string(),
        a @ ("reset" | "shutdown" | "poweroff" | "pause" | "none" | "inject-nmi") => a.to_string(),
        other => {
            return Err(err(
                codes::CONFIG_UNSUPPORTED,
                format!("watchdog action '{other}' is not supported by this qemu driver"),
            ))
        }
    };
    let alias = give_alias(def, device, "watchdog")?;
    let args = pci_device(def, device, "i6300esb", &alias)?;
    Ok(Plan {
        backend: Backend::None,
        device: args,
        before: Some(("set-action", json!({ "watchdog": action }))),
    })
}

/// A serial port's target type (x86 serial ports are ISA ones unless told).
pub fn serial_target_type(serial: &Element) -> &str {
    serial
        .child("target")
        .and_then(|t| t.attr("type"))
        .unwrap_or("isa-serial")
}

fn serial_port(serial: &Element) -> Option<u32> {
    serial
        .child("target")
        .and_then(|t| t.attr("port"))
        .and_then(|p| p.parse().ok())
}

fn prepare_serial(def: &DomainDef, device: &mut Element) -> DriverResult<Plan> {
    let target_type = serial_target_type(device).to_string();
    let driver = match target_type.as_str() {
        "isa-serial" => "isa-serial",
        "pci-serial" => "pci-serial",
        "usb-serial" => "usb-serial",
        other => {
            return Err(err(
                codes::CONFIG_UNSUPPORTED,
                format!("serial target type '{other}' is not supported by this qemu driver"),
            ))
        }
    };
    let serials = || def.devices.iter().filter(|d| d.name == "serial");
    let port = match serial_port(device) {
        Some(port) => {
            if serials().any(|s| serial_port(s) == Some(port)) {
                return Err(err(codes::OPERATION_INVALID, "chardev already exists"));
            }
            port
        }
        None => (0..)
            .find(|p| !serials().any(|s| serial_port(s) == Some(*p)))
            .unwrap_or(0),
    };
    let target = match device.child_mut("target") {
        Some(t) => t,
        None => {
            device.children.push(Element::new("target"));
            device.children.last_mut().expect("just pushed")
        }
    };
    target.set_attr("type", &target_type);
    target.set_attr("port", &port.to_string());
    target.order_attrs(&["type", "port"]);
    if target.child("model").is_none() {
        target
            .children
            .push(Element::new("model").with_attr("name", driver));
    }
    let backend = chardev_backend(device)?;
    let alias = give_alias(def, device, "serial")?;
    let mut args = match driver {
        "pci-serial" => pci_device(def, device, driver, &alias)?,
        "usb-serial" => usb_device(def, device, driver, &alias),
        _ => json!({"driver": driver, "id": alias, "index": port}),
    };
    let chardev = format!("char{alias}");
    args["chardev"] = json!(chardev);
    Ok(Plan {
        backend: Backend::Chardev(chardev, backend),
        device: args,
        before: None,
    })
}

/// The `chardev-add` backend of a serial port (pty, file or null).
fn chardev_backend(device: &Element) -> DriverResult<Value> {
    match device.attr("type").unwrap_or("pty") {
        "pty" => Ok(json!({"type": "pty", "data": {}})),
        "null" => Ok(json!({"type": "null", "data": {}})),
        "file" => {
            let path = device
                .child("source")
                .and_then(|s| s.attr("path"))
                .ok_or_else(|| {
                    err(
                        codes::CONFIG_UNSUPPORTED,
                        "file serial without a source path",
                    )
                })?;
            check_plain_text("serial file path", path)?;
            if !path.starts_with('/') {
                return Err(err(
                    codes::CONFIG_UNSUPPORTED,
                    format!("serial file path '{path}' must be absolute"),
                ));
            }
            Ok(json!({"type": "file", "data": {"out": path, "append": true}}))
        }
        other => Err(err(
            codes::CONFIG_UNSUPPORTED,
            format!("serial type '{other}' is not supported by this qemu driver"),
        )),
    }
}

/// A pty serial port shows the pseudo terminal QEMU opened, as libvirt writes it.
fn record_pty(device: &mut Element, pty: &str) {
    device.set_attr("type", "pty");
    device.children.retain(|c| c.name != "source");
    let source = Element::new("source").with_attr("path", pty);
    let at = device
        .children
        .iter()
        .position(|c| c.name == "target")
        .unwrap_or(0);
    device.children.insert(at, source);
}

/// Where the device described by `wanted` sits in `devices`, matched as libvirt
/// matches these kinds for detach: controllers by type and index, inputs by type
/// and bus, RNGs by model, the watchdog, serial ports by target type and port.
pub fn find(devices: &[Element], wanted: &Element) -> Option<usize> {
    let same_address = |d: &Element| match wanted.child("address") {
        Some(a) => d.child("address").is_some_and(|b| {
            a.attr("type") == b.attr("type")
                && a.attr("slot") == b.attr("slot")
                && a.attr("port") == b.attr("port")
        }),
        None => true,
    };
    devices.iter().position(|d| {
        d.name == wanted.name
            && same_address(d)
            && match wanted.name.as_str() {
                "controller" => {
                    d.attr("type") == wanted.attr("type") && d.attr("index") == wanted.attr("index")
                }
                "input" => {
                    d.attr("type") == wanted.attr("type") && d.attr("bus") == wanted.attr("bus")
                }
                "rng" => d.attr("model") == wanted.attr("model"),
                "watchdog" => true,
                "serial" => {
                    serial_target_type(d) == serial_target_type(wanted)
                        && (serial_port(wanted).is_none() || serial_port(d) == serial_port(wanted))
                }
                _ => false,
            }
    })
}

/// libvirt's "not found" error for a device of these kinds missing from the live
/// (`live`) or persistent definition.
pub fn missing(device: &Element, live: bool) -> DriverError {
    let model = device.attr("model").unwrap_or("");
    let (code, text) = match (device.name.as_str(), live) {
        ("controller", true) => (
            codes::OPERATION_FAILED,
            format!(
                "controller {}:{} not found",
                device.attr("type").unwrap_or(""),
                device.attr("index").unwrap_or("0")
            ),
        ),
        ("input", _) => (
            codes::OPERATION_FAILED,
            "matching input device not found".to_string(),
        ),
        ("rng", true) => (
            codes::DEVICE_MISSING,
            format!("model '{model}' RNG device not present in domain configuration"),
        ),
        ("rng", false) => (
            codes::OPERATION_FAILED,
            "no matching RNG device was found".to_string(),
        ),
        ("watchdog", true) => (
            codes::DEVICE_MISSING,
            "watchdog device not present in domain configuration".to_string(),
        ),
        ("watchdog", false) => (
            codes::OPERATION_INVALID,
            "domain has no watchdog".to_string(),
        ),
        ("serial", true) => (
            codes::DEVICE_MISSING,
            "chr type 'serial' device not present in domain configuration".to_string(),
        ),
        _ => (
            codes::DEVICE_MISSING,
            "device not present in domain configuration".to_string(),
        ),
    };
    err(code, text)
}

/// Refuses to unplug what QEMU cannot take out of a running guest.
pub fn check_unplug(def: &DomainDef, device: &Element) -> DriverResult<()> {
    match device.name.as_str() {
        "controller" => {
            let kind = device.attr("type").unwrap_or("");
            if kind != "scsi" {
                return Err(err(
                    codes::OPERATION_UNSUPPORTED,
                    format!("'{kind}' controller cannot be hot unplugged."),
                ));
            }
            let index = device.attr("index").unwrap_or("0");
            let busy = def.devices.iter().any(|d| {
                d.name == "disk"
                    && d.child("target").and_then(|t| t.attr("bus")) == Some("scsi")
                    && d.child("address")
                        .and_then(|a| a.attr("controller"))
                        .unwrap_or("0")
                        == index
            });
            if busy {
                return Err(err(
                    codes::OPERATION_FAILED,
                    "device cannot be detached: device is busy",
                ));
            }
        }
        "input" => {
            let bus = device.attr("bus").unwrap_or("");
            if !matches!(bus, "usb" | "virtio") {
                return Err(err(
                    codes::OPERATION_UNSUPPORTED,
                    format!("input device on bus '{bus}' cannot be detached"),
                ));
            }
        }
        "watchdog" => {
            let model = device.attr("model").unwrap_or("");
            if model != "i6300esb" {
                return Err(err(
                    codes::OPERATION_UNSUPPORTED,
                    format!("hot unplug of watchdog of model {model} is not supported"),
                ));
            }
        }
        // QEMU itself refuses to unplug an ISA serial port.
        "serial" | "rng" => {}
        other => {
            return Err(err(
                codes::OPERATION_UNSUPPORTED,
                format!("live detach of device '{other}' is not supported"),
            ))
        }
    }
    if alias_of(device).is_none() {
        return Err(err(
            codes::OPERATION_FAILED,
            format!("Cannot detach {} device with no alias", device.name),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "frontends_tests.rs"]
mod tests;
