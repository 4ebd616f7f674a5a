//! `<domain>` document -> [`DomainDef`], with libvirt's checks and defaults.

use roxmltree::{Document, Node, ParsingOptions};

use super::devices::normalise_devices;
use super::limits;
use super::units::parse_memory_kib;
use super::{DomainDef, DomainXmlError, Element, OsDef, VcpuDef};
use crate::api::parse_uuid;

/// Hypervisor-specific defaults applied while parsing.
#[derive(Clone, Debug)]
pub struct ParseOptions {
    /// Architecture used when `<type arch>` is absent.
    pub default_arch: String,
    /// Prefix for generated interface names ("testnet" gives testnet0, testnet1, ...).
    pub ifname_prefix: Option<String>,
    /// Video model used when `<video><model type>` is absent, for hvm guests.
    pub default_video: String,
    /// Parsing a running guest's status XML: the bridge a network interface was given
    /// at start (`<source network=... bridge=...>`) is kept, as libvirt keeps it.
    pub status: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            default_arch: "i686".to_string(),
            ifname_prefix: None,
            default_video: "cirrus".to_string(),
            status: false,
        }
    }
}

/// `virDomainVirtType` names libvirt 9.0 accepts in `<domain type>`.
const VIRT_TYPES: &[&str] = &[
    "none",
    "qemu",
    "kqemu",
    "kvm",
    "xen",
    "lxc",
    "uml",
    "openvz",
    "test",
    "vmware",
    "hyperv",
    "vbox",
    "phyp",
    "parallels",
    "bhyve",
    "vz",
    "hvf",
];

const OS_TYPES: &[&str] = &["hvm", "xen", "linux", "exe", "uml", "xenpvh"];

/// `virArch` names.
const ARCHES: &[&str] = &[
    "i686",
    "x86_64",
    "aarch64",
    "alpha",
    "armv6l",
    "armv7l",
    "armv7b",
    "cris",
    "loongarch64",
    "lm32",
    "m68k",
    "microblaze",
    "microblazeel",
    "mips",
    "mipsel",
    "mips64",
    "mips64el",
    "openrisc",
    "parisc",
    "parisc64",
    "ppc",
    "ppcle",
    "ppc64",
    "ppc64le",
    "ppcemb",
    "riscv32",
    "riscv64",
    "s390",
    "s390x",
    "sh4",
    "sh4eb",
    "sparc",
    "sparc64",
    "unicore32",
    "xtensa",
    "xtensaeb",
];

/// Whether `name` is an architecture name libvirt knows.
pub fn is_arch_name(name: &str) -> bool {
    ARCHES.contains(&name)
}

const BOOT_DEVS: &[&str] = &["fd", "cdrom", "hd", "network"];
const LIFECYCLE_ACTIONS: &[&str] = &["destroy", "restart", "rename-restart", "preserve"];
const CRASH_ACTIONS: &[&str] = &[
    "destroy",
    "restart",
    "rename-restart",
    "preserve",
    "coredump-destroy",
    "coredump-restart",
];

/// Top-level elements modelled field by field (everything else lands in `extra`).
const MODELLED: &[&str] = &[
    "name",
    "uuid",
    "title",
    "description",
    "memory",
    "currentMemory",
    "vcpu",
    "os",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "devices",
];

/// Parses and validates a domain definition; generates a UUID when none is given.
pub fn parse_domain_xml(xml: &str, options: &ParseOptions) -> Result<DomainDef, DomainXmlError> {
    limits::check_document(xml)?;
    let parsing = ParsingOptions {
        nodes_limit: limits::MAX_NODES,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(xml, parsing).map_err(|err| malformed(xml, &err))?;
    let root = doc.root_element();
    if root.tag_name().name() != "domain" {
        return Err(DomainXmlError::WrongRoot(
            root.tag_name().name().to_string(),
        ));
    }
    let virt_type = root
        .attribute("type")
        .ok_or(DomainXmlError::MissingVirtType)?;
    if !VIRT_TYPES.contains(&virt_type) {
        return Err(DomainXmlError::UnknownVirtType(virt_type.to_string()));
    }

    let name = child_text(root, "name").unwrap_or_default();
    if name.is_empty() {
        return Err(DomainXmlError::MissingName);
    }
    if name.contains('/') {
        return Err(DomainXmlError::NameWithSlash(name));
    }
    if name.contains('\n') {
        return Err(DomainXmlError::NameWithNewline);
    }

    let uuid = match child_text(root, "uuid") {
        Some(text) => parse_uuid(&text).ok_or(DomainXmlError::MalformedUuid)?,
        None => *uuid::Uuid::new_v4().as_bytes(),
    };

    let (max_memory_kib, current_memory_kib) = parse_memory(root)?;
    let vcpu = parse_vcpu(root)?;
    let os = parse_os(root, options)?;

    let on_poweroff = lifecycle(root, "on_poweroff", LIFECYCLE_ACTIONS, "destroy")?;
    let on_reboot = lifecycle(root, "on_reboot", LIFECYCLE_ACTIONS, "restart")?;
    let on_crash = lifecycle(root, "on_crash", CRASH_ACTIONS, "destroy")?;

    let clock = child(root, "clock")
        .map(Element::from_node)
        .unwrap_or_else(|| Element::new("clock").with_attr("offset", "utc"));

    let mut extra: Vec<Element> = root
        .children()
        .filter(|n| n.is_element() && !MODELLED.contains(&n.tag_name().name()))
        .map(Element::from_node)
        .collect();
    if vcpu.placement == "auto" && !extra.iter().any(|e| e.name == "numatune") {
        extra.push(
            Element::new("numatune").with_child(
                Element::new("memory")
                    .with_attr("mode", "strict")
                    .with_attr("placement", "auto"),
            ),
        );
    }
    if let Some(features) = extra.iter_mut().find(|e| e.name == "features") {
        features.order_children(FEATURE_ORDER);
    }
    if let Some(perf) = extra.iter_mut().find(|e| e.name == "perf") {
        super::perf::normalise(perf)?;
    }
    extra.retain(|e| e.name != "perf" || !e.children.is_empty());

    let raw_devices: Vec<Element> = child(root, "devices")
        .map(|d| {
            d.children()
                .filter(|n| n.is_element())
                .map(Element::from_node)
                .collect()
        })
        .unwrap_or_default();
    let devices = normalise_devices(raw_devices, &os.os_type, options)?;

    Ok(DomainDef {
        virt_type: virt_type.to_string(),
        name,
        uuid,
        title: child_text(root, "title"),
        description: child_text(root, "description"),
        max_memory_kib,
        current_memory_kib,
        vcpu,
        os,
        on_poweroff,
        on_reboot,
        on_crash,
        clock,
        devices,
        extra,
    })
}

/// libvirt's `<features>` order.
const FEATURE_ORDER: &[&str] = &[
    "acpi",
    "apic",
    "pae",
    "hap",
    "viridian",
    "privnet",
    "hyperv",
    "kvm",
    "pvspinlock",
    "capabilities",
    "pmu",
    "vmport",
    "gic",
    "smm",
    "ioapic",
    "hpt",
    "vmcoreinfo",
    "htm",
    "nested-hv",
    "msrs",
    "ccf-assist",
    "xen",
    "cfpc",
    "sbbc",
    "ibs",
    "tcg",
    "async-teardown",
];

/// Reports a parse failure like libvirt's XML layer: "(domain_definition):LINE: MESSAGE",
/// then the offending line and a caret under the column.
fn malformed(xml: &str, err: &roxmltree::Error) -> DomainXmlError {
    if xml.trim().is_empty() {
        return DomainXmlError::Malformed(
            "(domain_definition):1: Document is empty\n(null)\n^".to_string(),
        );
    }
    let pos = err.pos();
    let line_start = xml
        .split_inclusive('\n')
        .take((pos.row as usize).saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        .min(xml.len());
    let line_chars = xml[line_start..]
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .count();
    let col = (pos.col as usize).saturating_sub(1).min(line_chars);
    DomainXmlError::Malformed(format!(
        "(domain_definition):{}: {}\n{}",
        pos.row,
        err,
        limits::context(xml, line_start, col)
    ))
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// Text of the first child element `name`; `None` when absent or empty.
fn child_text(node: Node, name: &str) -> Option<String> {
    let text: String = child(node, name)?
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect();
    if text.is_empty() {
        None
    } else {
        Some(text)
    }
}

fn parse_memory(root: Node) -> Result<(u64, u64), DomainXmlError> {
    let max = match child(root, "memory") {
        Some(node) => match child_text(root, "memory") {
            Some(text) => parse_memory_kib(&text, node.attribute("unit"), "./memory[1]")?,
            None => 0,
        },
        None => 0,
    };
    if max == 0 {
        return Err(DomainXmlError::MissingMemory);
    }
    let current = match (
        child(root, "currentMemory"),
        child_text(root, "currentMemory"),
    ) {
        (Some(node), Some(text)) => {
            parse_memory_kib(&text, node.attribute("unit"), "./currentMemory[1]")?
        }
        _ => 0,
    };
    let current = if current == 0 || current > max {
        max
    } else {
        current
    };
    Ok((max, current))
}

fn parse_vcpu(root: Node) -> Result<VcpuDef, DomainXmlError> {
    let node = child(root, "vcpu");
    let max = match child_text(root, "vcpu") {
        Some(text) => text
            .trim()
            .parse::<u32>()
            .map_err(|_| DomainXmlError::BadMaxVcpus)?,
        None => 1,
    };
    if max == 0 {
        return Err(DomainXmlError::ZeroVcpus);
    }
    let current = match node.and_then(|n| n.attribute("current")) {
        Some(text) => text
            .trim()
            .parse::<u32>()
            .map_err(|_| DomainXmlError::BadCurrentVcpus)?,
        None => max,
    };
    if current > max {
        return Err(DomainXmlError::CurrentVcpusAboveMax);
    }
    let current = if current == 0 { max } else { current };
    let cpuset = node.and_then(|n| n.attribute("cpuset")).map(str::to_string);
    let placement = match node.and_then(|n| n.attribute("placement")) {
        Some(p @ ("static" | "auto")) => p.to_string(),
        Some(other) => return Err(DomainXmlError::BadPlacement(other.to_string())),
        None => "static".to_string(),
    };
    Ok(VcpuDef {
        max,
        current,
        placement,
        cpuset,
    })
}

fn parse_os(root: Node, options: &ParseOptions) -> Result<OsDef, DomainXmlError> {
    let os = child(root, "os").ok_or(DomainXmlError::MissingOsType)?;
    let type_node = child(os, "type").ok_or(DomainXmlError::MissingOsType)?;
    let os_type = child_text(os, "type")
        .map(|t| t.trim().to_string())
        .ok_or(DomainXmlError::MissingOsType)?;
    if !OS_TYPES.contains(&os_type.as_str()) {
        return Err(DomainXmlError::UnknownOsType(os_type));
    }
    let arch = match type_node.attribute("arch") {
        Some(arch) if ARCHES.contains(&arch) => arch.to_string(),
        Some(arch) => return Err(DomainXmlError::UnknownArch(arch.to_string())),
        None => options.default_arch.clone(),
    };
    if os_type == "exe" && child_text(os, "init").is_none() {
        return Err(DomainXmlError::MissingInit);
    }
    let mut boot_devs = Vec::new();
    for boot in os
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "boot")
    {
        let dev = boot.attribute("dev").unwrap_or("");
        if !BOOT_DEVS.contains(&dev) {
            return Err(DomainXmlError::UnknownBootDev(dev.to_string()));
        }
        boot_devs.push(dev.to_string());
    }
    if boot_devs.is_empty() && os_type == "hvm" {
        boot_devs.push("hd".to_string());
    }
    let handled = ["type", "boot", "kernel", "initrd", "cmdline"];
    let extra = os
        .children()
        .filter(|c| c.is_element() && !handled.contains(&c.tag_name().name()))
        .map(Element::from_node)
        .collect();
    Ok(OsDef {
        os_type,
        arch,
        machine: type_node.attribute("machine").map(str::to_string),
        boot_devs,
        kernel: child_text(os, "kernel"),
        initrd: child_text(os, "initrd"),
        cmdline: child_text(os, "cmdline"),
        attrs: os
            .attributes()
            .map(|a| (a.name().to_string(), a.value().to_string()))
            .collect(),
        extra,
    })
}

fn lifecycle(
    root: Node,
    which: &str,
    allowed: &[&str],
    default: &str,
) -> Result<String, DomainXmlError> {
    match child_text(root, which) {
        Some(value) => {
            let value = value.trim().to_string();
            if allowed.contains(&value.as_str()) {
                Ok(value)
            } else {
                Err(DomainXmlError::UnknownLifecycleAction {
                    which: which.to_string(),
                    value,
                })
            }
        }
        None => Ok(default.to_string()),
    }
}
