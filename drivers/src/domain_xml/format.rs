//! [`DomainDef`] -> XML text in libvirt's `dumpxml` layout.

use super::element::push_indent;
use super::{escape, DomainDef, Element};
use crate::api::format_uuid;

/// What varies between the views of one definition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FormatOptions {
    /// Running domains carry `id='N'` on `<domain>`; `None` for inactive views.
    pub id: Option<i32>,
    /// Include secrets such as graphics passwords (`VIR_DOMAIN_XML_SECURE`).
    pub secure: bool,
}

impl FormatOptions {
    /// What a definition file on disk holds: the inactive view with its secrets, as
    /// libvirt writes it (the file is readable by root only).
    pub const PERSISTENT: FormatOptions = FormatOptions {
        id: None,
        secure: true,
    };
}

/// libvirt's top-level element order; unknown (foreign namespace) elements go last.
const TOP_LEVEL_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
];

const OS_CHILD_ORDER: &[&str] = &[
    "type",
    "firmware",
    "init",
    "initarg",
    "initenv",
    "initdir",
    "inituser",
    "initgroup",
    "loader",
    "nvram",
    "kernel",
    "initrd",
    "cmdline",
    "dtb",
    "root",
    "acpi",
    "boot",
    "bootmenu",
    "smbios",
    "bios",
];

fn rank(name: &str) -> usize {
    TOP_LEVEL_ORDER
        .iter()
        .position(|o| *o == name)
        .unwrap_or(TOP_LEVEL_ORDER.len())
}

fn text_element(name: &str, text: &str) -> Element {
    Element::new(name).with_text(text)
}

impl DomainDef {
    /// Formats the definition as libvirt's `virDomainGetXMLDesc` would.
    pub fn to_xml(&self, options: FormatOptions) -> String {
        let mut parts: Vec<(usize, String)> = Vec::new();
        let add = |parts: &mut Vec<(usize, String)>, element: &Element| {
            let mut out = String::new();
            element.write(&mut out, 2);
            parts.push((rank(&element.name), out));
        };
        add(&mut parts, &text_element("name", &self.name));
        add(&mut parts, &text_element("uuid", &format_uuid(&self.uuid)));
        if let Some(title) = &self.title {
            add(&mut parts, &text_element("title", title));
        }
        if let Some(description) = &self.description {
            add(&mut parts, &text_element("description", description));
        }
        add(
            &mut parts,
            &Element::new("memory")
                .with_attr("unit", "KiB")
                .with_text(&self.max_memory_kib.to_string()),
        );
        add(
            &mut parts,
            &Element::new("currentMemory")
                .with_attr("unit", "KiB")
                .with_text(&self.current_memory_kib.to_string()),
        );
        add(&mut parts, &self.vcpu_element());
        add(&mut parts, &self.os_element());
        add(&mut parts, &self.clock);
        add(&mut parts, &text_element("on_poweroff", &self.on_poweroff));
        add(&mut parts, &text_element("on_reboot", &self.on_reboot));
        add(&mut parts, &text_element("on_crash", &self.on_crash));
        for extra in &self.extra {
            if extra.name == "metadata" {
                parts.push((rank("metadata"), metadata_xml(extra)));
            } else {
                add(&mut parts, extra);
            }
        }
        parts.push((rank("devices"), self.devices_xml(options)));
        parts.sort_by_key(|(rank, _)| *rank);

        let mut out = format!("<domain type='{}'", escape(&self.virt_type));
        if let Some(id) = options.id {
            out.push_str(&format!(" id='{id}'"));
        }
        out.push_str(">\n");
        for (_, part) in parts {
            out.push_str(&part);
        }
        out.push_str("</domain>\n");
        out
    }

    fn vcpu_element(&self) -> Element {
        let mut vcpu = Element::new("vcpu").with_attr("placement", &self.vcpu.placement);
        if let Some(cpuset) = &self.vcpu.cpuset {
            vcpu.set_attr("cpuset", cpuset);
        }
        if self.vcpu.current != self.vcpu.max {
            vcpu.set_attr("current", &self.vcpu.current.to_string());
        }
        vcpu.with_text(&self.vcpu.max.to_string())
    }

    fn os_element(&self) -> Element {
        let mut os = Element::new("os");
        os.attrs = self.os.attrs.clone();
        let mut os_type = Element::new("type").with_attr("arch", &self.os.arch);
        if let Some(machine) = &self.os.machine {
            os_type.set_attr("machine", machine);
        }
        os.children.push(os_type.with_text(&self.os.os_type));
        for (name, value) in [
            ("kernel", &self.os.kernel),
            ("initrd", &self.os.initrd),
            ("cmdline", &self.os.cmdline),
        ] {
            if let Some(value) = value {
                os.children.push(text_element(name, value));
            }
        }
        for dev in &self.os.boot_devs {
            os.children.push(Element::new("boot").with_attr("dev", dev));
        }
        os.children.extend(self.os.extra.iter().cloned());
        os.order_children(OS_CHILD_ORDER);
        os
    }

    fn devices_xml(&self, options: FormatOptions) -> String {
        let mut out = String::from("  <devices>\n");
        for device in &self.devices {
            if device.name == "graphics" && !options.secure && device.attr("passwd").is_some() {
                let mut redacted = device.clone();
                redacted.remove_attr("passwd");
                redacted.write(&mut out, 4);
            } else {
                device.write(&mut out, 4);
            }
        }
        out.push_str("  </devices>\n");
        out
    }
}

/// `<metadata>` children belong to applications and are printed as libxml2 dumps them
/// (double-quoted attributes).
fn metadata_xml(metadata: &Element) -> String {
    let mut out = String::new();
    push_indent(&mut out, 2);
    if metadata.children.is_empty() {
        out.push_str("<metadata/>\n");
        return out;
    }
    out.push_str("<metadata>\n");
    for child in &metadata.children {
        child.write_double_quoted(&mut out, 4);
    }
    push_indent(&mut out, 2);
    out.push_str("</metadata>\n");
    out
}
