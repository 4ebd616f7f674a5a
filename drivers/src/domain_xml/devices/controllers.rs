//! Controllers: index assignment and the controllers libvirt adds for devices that need
//! one (drive-addressed disks, virtio consoles and channels).

use std::collections::{HashMap, HashSet};

use super::Element;

/// Gives controllers without an index the lowest free one of their type (linear in the
/// number of controllers: a definition may hold thousands).
pub fn normalise_controllers(devices: &mut [Element]) {
    let mut used: HashSet<(String, u64)> = devices
        .iter()
        .filter(|d| d.name == "controller")
        .filter_map(|d| {
            let kind = d.attr("type")?.to_string();
            let index = d.attr("index")?.parse().ok()?;
            Some((kind, index))
        })
        .collect();
    let mut next_free: HashMap<String, u64> = HashMap::new();
    // USB companion controllers (`<master>`) share the index of the controller they
    // serve: the last USB controller before them.
    let mut last_usb_index: Option<String> = None;
    for controller in devices.iter_mut().filter(|d| d.name == "controller") {
        let kind = controller.attr("type").unwrap_or("").to_string();
        if kind == "usb"
            && controller.attr("index").is_none()
            && controller.child("master").is_some()
        {
            let index = last_usb_index.clone().unwrap_or_else(|| "0".to_string());
            controller.set_attr("index", &index);
        }
        if controller.attr("index").is_none() {
            let cursor = next_free.entry(kind.clone()).or_insert(0);
            while used.contains(&(kind.clone(), *cursor)) {
                *cursor += 1;
            }
            let index = *cursor;
            used.insert((kind.clone(), index));
            controller.set_attr("index", &index.to_string());
        }
        if kind == "usb" {
            last_usb_index = controller.attr("index").map(str::to_string);
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
        insert_missing_controllers(devices, controller_type, &wanted);
    }
    let needs_virtio_serial = devices.iter().any(|d| {
        matches!(d.name.as_str(), "console" | "channel")
            && d.child("target").and_then(|t| t.attr("type")) == Some("virtio")
    });
    if needs_virtio_serial {
        insert_missing_controllers(devices, "virtio-serial", &[0]);
    }
}

/// Inserts a controller of `kind` for each index of `wanted` (ascending) that has none:
/// after the last-placed controller of that type with a lower index, or at the end.
/// One pass over the devices, whatever the number of controllers.
fn insert_missing_controllers(devices: &mut Vec<Element>, kind: &str, wanted: &[u64]) {
    let index_of = |d: &Element| -> Option<u64> {
        if d.name == "controller" && d.attr("type") == Some(kind) {
            d.attr("index").and_then(|i| i.parse().ok())
        } else {
            None
        }
    };
    // (index, position) of the existing controllers of this type, by index.
    let mut existing: Vec<(u64, usize)> = devices
        .iter()
        .enumerate()
        .filter_map(|(pos, d)| index_of(d).map(|i| (i, pos)))
        .collect();
    existing.sort_unstable();
    let present: HashSet<u64> = existing.iter().map(|(i, _)| *i).collect();
    // Where each missing controller goes: after an original position, or at the end
    // (and once one went to the end, every later one follows it there).
    let mut after: HashMap<usize, Vec<u64>> = HashMap::new();
    let mut at_end: Vec<u64> = Vec::new();
    let mut lower = 0;
    let mut last_position: Option<usize> = None;
    for &index in wanted.iter().filter(|i| !present.contains(i)) {
        while lower < existing.len() && existing[lower].0 < index {
            last_position = last_position.max(Some(existing[lower].1));
            lower += 1;
        }
        match last_position {
            Some(pos) if at_end.is_empty() => after.entry(pos).or_default().push(index),
            _ => at_end.push(index),
        }
    }
    if after.is_empty() && at_end.is_empty() {
        return;
    }
    let controller = |index: u64| {
        Element::new("controller")
            .with_attr("type", kind)
            .with_attr("index", &index.to_string())
    };
    let old = std::mem::take(devices);
    for (pos, device) in old.into_iter().enumerate() {
        devices.push(device);
        for index in after.remove(&pos).unwrap_or_default() {
            devices.push(controller(index));
        }
    }
    devices.extend(at_end.into_iter().map(controller));
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

    /// Thousands of controllers: indexes and implicit controllers are found without
    /// rescanning the device list per controller (which took minutes before).
    #[test]
    fn many_controllers_get_distinct_indexes_and_missing_ones_in_order() {
        let count = 20_000;
        let mut devices: Vec<Element> = (0..count)
            .map(|_| Element::new("controller").with_attr("type", "scsi"))
            .collect();
        normalise_controllers(&mut devices);
        let indexes: Vec<String> = devices
            .iter()
            .map(|d| d.attr("index").unwrap_or("").to_string())
            .collect();
        let expected: Vec<String> = (0..count).map(|i| i.to_string()).collect();
        assert_eq!(indexes, expected);

        let mut devices: Vec<Element> = (0..count as u64)
            .map(|i| disk("scsi", &(count as u64 + i).to_string()))
            .collect();
        devices.insert(
            0,
            Element::new("controller")
                .with_attr("type", "scsi")
                .with_attr("index", "5"),
        );
        add_implicit_controllers(&mut devices);
        let added: Vec<u64> = devices
            .iter()
            .filter(|d| d.name == "controller")
            .filter_map(|d| d.attr("index").and_then(|i| i.parse().ok()))
            .collect();
        assert_eq!(added.len(), count + 1);
        assert!(
            added.windows(2).all(|w| w[0] < w[1]),
            "ascending after index 5"
        );
        assert_eq!(devices[1].attr("index"), Some(count.to_string().as_str()));
    }
}
