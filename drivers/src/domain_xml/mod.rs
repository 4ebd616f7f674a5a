//! Domain XML: parsing libvirt's `<domain>` documents into a model the drivers use, and
//! formatting it back the way libvirt's `dumpxml` prints it.
//!
//! Fields the drivers act on (name, uuid, memory, vcpus, os, lifecycle actions) are typed;
//! the rest (features, clock, cpu, devices, ...) is kept as XML trees, normalised on parse
//! (defaults filled in, addresses assigned, attributes in libvirt's order) so the output
//! matches libvirt's for the configurations clients commonly write.

mod devices;
mod element;
mod error;
mod format;
mod limits;
mod metadata;
mod parse;
#[cfg(test)]
mod parse_tests;
mod perf;
mod units;

pub use devices::{disk_name_index, is_net_model_name};
pub use element::{escape, Element};
pub use error::DomainXmlError;
pub use format::FormatOptions;
pub use limits::{check_document as check_xml_limits, MAX_BYTES, MAX_DEPTH, MAX_NODES};
pub use metadata::{get_metadata, metadata_targets, metadata_type, set_metadata};
pub use parse::{is_arch_name, parse_domain_xml, ParseOptions};
pub use perf::PERF_EVENTS;

use crate::api::Uuid;

/// `<vcpu>`: how many virtual CPUs and where they may run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VcpuDef {
    pub max: u32,
    pub current: u32,
    /// "static" or "auto".
    pub placement: String,
    pub cpuset: Option<String>,
}

/// `<os>`: guest type, architecture and boot configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsDef {
    /// "hvm", "xen", "linux", "exe", ...
    pub os_type: String,
    pub arch: String,
    pub machine: Option<String>,
    /// `<boot dev=.../>` in order.
    pub boot_devs: Vec<String>,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub cmdline: Option<String>,
    /// Attributes of `<os>` itself (e.g. firmware).
    pub attrs: Vec<(String, String)>,
    /// Other `<os>` children (loader, nvram, bootmenu, smbios, ...), kept as written.
    pub extra: Vec<Element>,
}

/// A parsed domain definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainDef {
    /// The `type` attribute of `<domain>`: "test", "kvm", "qemu", ...
    pub virt_type: String,
    pub name: String,
    pub uuid: Uuid,
    pub title: Option<String>,
    pub description: Option<String>,
    /// `<memory>` in KiB.
    pub max_memory_kib: u64,
    /// `<currentMemory>` in KiB (never above `max_memory_kib`).
    pub current_memory_kib: u64,
    pub vcpu: VcpuDef,
    pub os: OsDef,
    pub on_poweroff: String,
    pub on_reboot: String,
    pub on_crash: String,
    /// `<clock>`, defaulting to UTC.
    pub clock: Element,
    /// Devices in libvirt's order, normalised.
    pub devices: Vec<Element>,
    /// Other top-level elements (metadata, features, cpu, numatune, pm, seclabel, ...).
    pub extra: Vec<Element>,
}

impl DomainDef {
    /// Number of vCPUs currently enabled.
    pub fn vcpus(&self) -> u32 {
        self.vcpu.current
    }

    /// Interface device names (`<target dev>`), used to pick free names.
    pub fn interface_names(&self) -> Vec<String> {
        self.devices
            .iter()
            .filter(|d| d.name == "interface")
            .filter_map(|d| d.child("target").and_then(|t| t.attr("dev")))
            .map(str::to_string)
            .collect()
    }
}
