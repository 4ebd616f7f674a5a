//! Serial ports and consoles: port numbers, console target types, and the serial/console
//! pairing libvirt keeps for HVM guests (the first console is the first serial port).

use super::Element;

const CHARDEV_CHILD_ORDER: &[&str] = &["source", "protocol", "log", "target", "alias", "address"];

pub fn normalise_chardevs(devices: &mut Vec<Element>, os_type: &str) {
    number_ports(devices, "serial", None);
    number_ports(devices, "parallel", None);
    number_ports(devices, "console", Some("serial"));
    if os_type == "hvm" {
        pair_first_console_with_serial(devices);
    }
    for device in devices.iter_mut() {
        if matches!(
            device.name.as_str(),
            "serial" | "parallel" | "console" | "channel"
        ) {
            if let Some(target) = device.child_mut("target") {
                target.order_attrs(&["type", "port", "name", "state"]);
            }
            device.order_children(CHARDEV_CHILD_ORDER);
        }
    }
}

/// Gives the n-th device of a kind `<target port='n'/>` unless it has a port, and the
/// default target type when `default_type` is set.
fn number_ports(devices: &mut [Element], kind: &str, default_type: Option<&str>) {
    for (index, device) in devices.iter_mut().filter(|d| d.name == kind).enumerate() {
        if device.child("target").is_none() {
            device.children.push(Element::new("target"));
        }
        if let Some(target) = device.child_mut("target") {
            if let Some(default_type) = default_type {
                if target.attr("type").is_none() {
                    target.set_attr("type", default_type);
                }
            }
            if target.attr("port").is_none() {
                target.set_attr("port", &index.to_string());
            }
        }
    }
}

/// Copies a character device's type and source into a new device of another kind.
fn copy_chardev(from: &Element, kind: &str, target: Element) -> Element {
    let mut copy = Element::new(kind);
    copy.attrs = from
        .attrs
        .iter()
        .filter(|(key, _)| key == "type")
        .cloned()
        .collect();
    copy.children = from
        .children
        .iter()
        .filter(|c| !matches!(c.name.as_str(), "target" | "alias" | "address"))
        .cloned()
        .collect();
    copy.children.push(target);
    copy
}

fn pair_first_console_with_serial(devices: &mut Vec<Element>) {
    let first_console = devices.iter().position(|d| d.name == "console");
    let first_serial = devices.iter().position(|d| d.name == "serial");
    let console_is_serial = first_console
        .and_then(|i| devices[i].child("target"))
        .and_then(|t| t.attr("type"))
        == Some("serial");
    match (first_console, first_serial) {
        (Some(console), None) if console_is_serial => {
            let serial = copy_chardev(
                &devices[console],
                "serial",
                Element::new("target").with_attr("port", "0"),
            );
            devices.insert(console, serial);
        }
        (Some(console), Some(serial)) if console_is_serial => {
            let port = devices[serial]
                .child("target")
                .and_then(|t| t.attr("port"))
                .unwrap_or("0")
                .to_string();
            if let Some(target) = devices[console].child_mut("target") {
                target.set_attr("port", &port);
            }
        }
        (_, Some(serial)) => {
            let port = devices[serial]
                .child("target")
                .and_then(|t| t.attr("port"))
                .unwrap_or("0")
                .to_string();
            let console = copy_chardev(
                &devices[serial],
                "console",
                Element::new("target")
                    .with_attr("type", "serial")
                    .with_attr("port", &port),
            );
            let at = first_console.unwrap_or(devices.len());
            devices.insert(at, console);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_xml(devices: &[Element]) -> String {
        let mut out = String::new();
        for d in devices {
            d.write(&mut out, 0);
        }
        out
    }

    #[test]
    fn console_alone_gets_a_serial_twin() {
        let mut devices = vec![Element::new("console").with_attr("type", "pty")];
        normalise_chardevs(&mut devices, "hvm");
        assert_eq!(
            to_xml(&devices),
            "<serial type='pty'>\n  <target port='0'/>\n</serial>\n\
             <console type='pty'>\n  <target type='serial' port='0'/>\n</console>\n"
        );
    }

    #[test]
    fn serial_gets_console_copy_before_virtio_console() {
        let mut devices = vec![
            Element::new("serial")
                .with_attr("type", "file")
                .with_child(Element::new("source").with_attr("path", "/tmp/s.log")),
            Element::new("console")
                .with_attr("type", "pty")
                .with_child(Element::new("target").with_attr("type", "virtio")),
        ];
        normalise_chardevs(&mut devices, "hvm");
        assert_eq!(
            to_xml(&devices),
            "<serial type='file'>\n  <source path='/tmp/s.log'/>\n  <target port='0'/>\n</serial>\n\
             <console type='file'>\n  <source path='/tmp/s.log'/>\n  <target type='serial' port='0'/>\n</console>\n\
             <console type='pty'>\n  <target type='virtio' port='0'/>\n</console>\n"
        );
    }

    #[test]
    fn xen_console_has_no_serial_twin() {
        let mut devices = vec![Element::new("console").with_attr("type", "pty")];
        normalise_chardevs(&mut devices, "xen");
        assert_eq!(devices.len(), 1);
        assert_eq!(
            devices[0].child("target").and_then(|t| t.attr("type")),
            Some("serial")
        );
    }
}
