//! What libvirt's LXC driver adds to a definition: defaults filled in when it is parsed
//! and the parts only a running container shows.

use super::xml::{ContainerSpec, FilesystemSpec};
use crate::domain_xml::{DomainDef, Element};

/// Where the supervisor is installed on Debian; shown as the container's `<emulator>`.
pub const EMULATOR: &str = "/usr/lib/libvirt/libvirt_lxc";

/// The defaults libvirt's LXC driver fills in, so `dumpxml` shows what it shows: the
/// emulator, `accessmode='passthrough'` on filesystems, ram sizes in KiB and consoles of
/// target type `lxc`.
pub fn normalise_lxc_devices(def: &mut DomainDef, spec: &ContainerSpec) {
    if !def.devices.iter().any(|d| d.name == "emulator") {
        def.devices
            .insert(0, Element::new("emulator").with_text(EMULATOR));
    }
    let mut ram_sizes = spec.filesystems.iter().filter_map(|fs| match fs {
        FilesystemSpec::Ram { usage_kib, .. } => Some(*usage_kib),
        FilesystemSpec::Bind { .. } => None,
    });
    for device in def.devices.iter_mut() {
        match device.name.as_str() {
            "filesystem" => {
                if device.attr("type").is_none() {
                    device.set_attr("type", "mount");
                }
                if device.attr("accessmode").is_none() {
                    device.set_attr("accessmode", "passthrough");
                }
                device.order_attrs(&["type", "accessmode"]);
                if device.attr("type") == Some("ram") {
                    if let (Some(kib), Some(source)) =
                        (ram_sizes.next(), device.child_mut("source"))
                    {
                        source.set_attr("usage", &kib.to_string());
                        source.set_attr("units", "KiB");
                    }
                }
            }
            "console" => {
                let target = match device.child_mut("target") {
                    Some(target) => target,
                    None => {
                        device.children.push(Element::new("target"));
                        let last = device.children.len() - 1;
                        &mut device.children[last]
                    }
                };
                if matches!(target.attr("type"), None | Some("serial")) {
                    target.set_attr("type", "lxc");
                }
                if target.attr("port").is_none() {
                    target.set_attr("port", "0");
                }
                target.order_attrs(&["type", "port"]);
            }
            _ => {}
        }
    }
}

/// A copy of `def` whose first console shows the pty of a running container, as libvirt
/// prints it (`tty`, `<source path>`, `<alias>`); with `None` those live-only parts are
/// removed. Idempotent, so a status file read back is decorated only once.
pub fn with_console_tty(def: &DomainDef, tty: Option<&str>) -> DomainDef {
    let mut out = def.clone();
    let mut first = true;
    for device in out.devices.iter_mut().filter(|d| d.name == "console") {
        device.remove_attr("tty");
        device
            .children
            .retain(|c| c.name != "source" && c.name != "alias");
        if let (true, Some(path)) = (first, tty) {
            device.set_attr("tty", path);
            device.order_attrs(&["type", "tty"]);
            device
                .children
                .insert(0, Element::new("source").with_attr("path", path));
            device
                .children
                .push(Element::new("alias").with_attr("name", "console0"));
        }
        first = false;
    }
    out
}

/// The pty a live definition's first console shows.
pub fn console_tty(def: &DomainDef) -> Option<String> {
    def.devices
        .iter()
        .find(|d| d.name == "console")
        .and_then(|d| d.attr("tty"))
        .map(str::to_string)
}
