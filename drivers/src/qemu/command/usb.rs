//! USB controllers (including ICH9 USB2 sets of one EHCI controller and its UHCI
//! companions) and input devices, with libvirt's aliases: controller index 0 is `usb`,
//! others `usbN`; inputs are `inputN` in device order.

use super::devices::pci_addr;
use crate::domain_xml::Element;
use crate::qemu::error::QemuError;

/// QEMU's device for a USB controller model (None: no device, as for model 'none').
fn usb_controller_driver(model: &str) -> Result<Option<&'static str>, QemuError> {
    Ok(Some(match model {
        "none" => return Ok(None),
        "piix3-uhci" => "piix3-usb-uhci",
        "piix4-uhci" => "piix4-usb-uhci",
        "ehci" => "usb-ehci",
        "ich9-ehci1" => "ich9-usb-ehci1",
        "ich9-uhci1" => "ich9-usb-uhci1",
        "ich9-uhci2" => "ich9-usb-uhci2",
        "ich9-uhci3" => "ich9-usb-uhci3",
        "nec-xhci" => "nec-usb-xhci",
        "qemu-xhci" => "qemu-xhci",
        other => {
            return Err(QemuError::Unsupported(format!(
                "controller type 'usb' model '{other}' is not supported by this qemu driver"
            )))
        }
    }))
}

/// The alias of USB controller `index` (and the bus name prefix its devices use).
fn usb_alias(index: &str) -> String {
    if index == "0" {
        "usb".to_string()
    } else {
        format!("usb{index}")
    }
}

/// `-device` for a `<controller type='usb'>`. Companions (`<master startport>`) join
/// the bus of the EHCI controller with the same index instead of making their own.
pub(super) fn usb_controller_args(
    device: &Element,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    let model = device.attr("model").unwrap_or("piix3-uhci");
    let Some(driver) = usb_controller_driver(model)? else {
        return Ok(());
    };
    let index = device.attr("index").unwrap_or("0");
    if !index.chars().all(|c| c.is_ascii_digit()) || index.is_empty() {
        return Err(QemuError::Unsupported(format!(
            "Cannot parse controller index {index}"
        )));
    }
    let alias = usb_alias(index);
    let spec = match device.child("master").and_then(|m| m.attr("startport")) {
        Some(startport) => {
            let startport: u32 = startport.parse().map_err(|_| {
                QemuError::Unsupported("Cannot parse <master> 'startport' attribute".to_string())
            })?;
            format!(
                "{driver},masterbus={alias}.0,firstport={startport}{}",
                pci_addr(device)
            )
        }
        None => {
            // `ports` of an xHCI controller: as many USB2 and USB3 ports.
            let ports = match (model, device.attr("ports")) {
                ("qemu-xhci" | "nec-xhci", Some(ports)) => {
                    let ports: u32 = ports
                        .parse()
                        .ok()
                        .filter(|n| (1..=15).contains(n))
                        .ok_or_else(|| {
                            QemuError::Unsupported(format!(
                                "'{model}' controller only supports up to '15' ports"
                            ))
                        })?;
                    format!(",p2={ports},p3={ports}")
                }
                _ => String::new(),
            };
            format!("{driver}{ports},id={alias}{}", pci_addr(device))
        }
    };
    argv.push("-device".into());
    argv.push(spec);
    Ok(())
}

/// `-device` for an input device; PS/2 devices are built into the machine.
pub(super) fn input_args(
    device: &Element,
    index: usize,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    let kind = device.attr("type").unwrap_or("");
    let bus = device.attr("bus").unwrap_or("");
    let id = device
        .child("alias")
        .and_then(|a| a.attr("name"))
        .filter(|a| {
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("input{index}"));
    let spec = match (bus, kind) {
        ("ps2", "mouse" | "keyboard") => return Ok(()),
        ("usb", "tablet" | "mouse" | "keyboard") => {
            let driver = match kind {
                "tablet" => "usb-tablet",
                "mouse" => "usb-mouse",
                _ => "usb-kbd",
            };
            let address = device.child("address");
            let bus_index = address.and_then(|a| a.attr("bus")).unwrap_or("0");
            let port = address.and_then(|a| a.attr("port"));
            let valid = |text: &str| text.chars().all(|c| c.is_ascii_digit() || c == '.');
            if !valid(bus_index) || !port.is_none_or(valid) {
                return Err(QemuError::Unsupported(
                    "Cannot parse USB address of input device".into(),
                ));
            }
            let mut spec = format!("{driver},id={id},bus={}.0", usb_alias(bus_index));
            if let Some(port) = port {
                spec.push_str(&format!(",port={port}"));
            }
            spec
        }
        ("virtio", "tablet" | "mouse" | "keyboard") => {
            format!("virtio-{kind}-pci,id={id}{}", pci_addr(device))
        }
        _ => {
            return Err(QemuError::Unsupported(format!(
                "input device type '{kind}' on bus '{bus}' is not supported by this qemu driver"
            )))
        }
    };
    argv.push("-device".into());
    argv.push(spec);
    Ok(())
}
