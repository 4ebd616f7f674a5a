//! Controllers: index assignment and the controllers libvirt adds for devices that need
//! one (drive-addressed disks, virtio consoles and channels).

use super::Element;

pub fn normalise_controllers(devices: &mut [Element]) {
    let mut used: Vec<(String, u64)> = devices
        .iter()
        .filter(|d| d.name == "controller")
        .filter_map(|d| {
            let kind = d.attr("type")?.to_string();
            let index = d.attr("index")?.parse().ok()?;
            Some((kind, index))
        })
        .collect();
    for controller in devices.iter_mut().filter(|d| d.name == "controller") {
        let kind = controller.attr("type").unwrap_or("").to_string();
        if controller.attr("index").is_none() {
            let index = (0..)
                .find(|i| !used.contains(&(kind.clone(), *i)))
                .unwrap_or(0);
            used.push((kind.clone(), index));
            controller.set_attr("index", &index.to_string());
        }
        controller.order_attrs(&[
            "type",
            "index",
            "model",
            "ports",
            "vectors",
            "maxGrantFrames",
            "maxEventChannels",
        ]);
    }
}

/// Adds missing controllers in libvirt's order: scsi, fdc, ide, sata for disks, then
/// virtio-serial for virtio consoles and channels. A new controller goes after the last
/// controller of its type with a lower index, or after all devices.
pub fn add_implicit_controllers(devices: &mut Vec<Element>) {
    for (controller_type, bus) in [
        ("scsi", "scsi"),
        ("fdc", "fdc"),
        ("ide", "ide"),
        ("sata", "sata"),
    ] {
        let mut wanted: Vec<u64> = devices
            .iter()
            .filter(|d| d.name == "disk")
            .filter(|d| d.child("target").and_then(|t| t.attr("bus")) == Some(bus))
            .filter_map(|d| d.child("address"))
            .filter(|a| a.attr("type") == Some("drive"))
            .filter_map(|a| a.attr("controller").and_then(|c| c.parse().ok()))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        for index in wanted {
            ensure_controller(devices, controller_type, index);
        }
    }
    let needs_virtio_serial = devices.iter().any(|d| {
        matches!(d.name.as_str(), "console" | "channel")
            && d.child("target").and_then(|t| t.attr("type")) == Some("virtio")
    });
    if needs_virtio_serial {
        ensure_controller(devices, "virtio-serial", 0);
    }
}

fn ensure_controller(devices: &mut Vec<Element>, kind: &str, index: u64) {
    let same_type = |d: &Element| d.name == "controller" && d.attr("type") == Some(kind);
    let exists = devices
        .iter()
        .any(|d| same_type(d) && d.attr("index").and_then(|i| i.parse().ok()) == Some(index));
    if exists {
        return;
    }
    let controller = Element::new("controller")
        .with_attr("type", kind)
        .with_attr("index", &index.to_string());
    let after = devices.iter().rposition(|d| {
        same_type(d) && d.attr("index").and_then(|i| i.parse::<u64>().ok()) < Some(index)
    });
    match after {
        Some(pos) => devices.insert(pos + 1, controller),
        None => devices.push(controller),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(bus: &str, controller: &str) -> Element {
        Element::new("disk")
            .with_child(Element::new("target").with_attr("bus", bus))
            .with_child(
                Element::new("address")
                    .with_attr("type", "drive")
                    .with_attr("controller", controller),
            )
    }

    fn controllers(devices: &[Element]) -> Vec<(String, String)> {
        devices
            .iter()
            .filter(|d| d.name == "controller")
            .map(|d| {
                (
                    d.attr("type").unwrap_or("").to_string(),
                    d.attr("index").unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn adds_disk_controllers_in_libvirt_order() {
        let mut devices = vec![
            Element::new("controller").with_attr("type", "usb"),
            disk("sata", "0"),
            disk("ide", "0"),
            disk("scsi", "0"),
        ];
        normalise_controllers(&mut devices);
        add_implicit_controllers(&mut devices);
        assert_eq!(
            controllers(&devices),
            vec![
                ("usb".to_string(), "0".to_string()),
                ("scsi".to_string(), "0".to_string()),
                ("ide".to_string(), "0".to_string()),
                ("sata".to_string(), "0".to_string())
            ]
        );
    }

    #[test]
    fn keeps_existing_and_adds_virtio_serial() {
        let mut devices = vec![
            Element::new("controller")
                .with_attr("type", "ide")
                .with_attr("index", "0"),
            disk("ide", "0"),
            Element::new("channel").with_child(Element::new("target").with_attr("type", "virtio")),
        ];
        add_implicit_controllers(&mut devices);
        assert_eq!(
            controllers(&devices),
            vec![
                ("ide".to_string(), "0".to_string()),
                ("virtio-serial".to_string(), "0".to_string())
            ]
        );
    }
}
