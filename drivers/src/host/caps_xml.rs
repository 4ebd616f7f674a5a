//! `virConnectGetCapabilities` for the QEMU driver: the `<capabilities>` document with
//! this host's facts and one `<guest>` per usable QEMU binary, laid out element for
//! element like libvirt 9.0 (two-space indentation, blank lines after `<capabilities>`,
//! `</host>` and each `</guest>`).
//!
//! Parts that cannot be read are left out rather than failing the call, as libvirt only
//! logs warnings for them. `<power_management>` is always empty: suspend support is not
//! probed.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use uuid::Uuid;

use super::arch::host_arch_name;
use super::cache_banks::{host_cache_banks, pretty_size, CacheBank};
use super::caps_guests::{discover_guests, format_guest, GuestSearch};
use super::emulators::default_search_dirs;
use super::host_cpu::{describe_host_cpu, format_host_cpu};
use super::host_uuid::uuid_is_valid;
use super::nodeinfo::{cpu_topology, node_info_at};
use super::numa::{host_cells, host_page_sizes, NumaCell};
use super::sysfs::{format_cpu_list, HostRoots};
use super::xml_text::escape;

/// One `<secmodel>` of `<host>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapsSecModel {
    pub model: String,
    pub doi: String,
    /// (`type` attribute, label) of each `<baselabel>`.
    pub base_labels: Vec<(String, String)>,
}

impl CapsSecModel {
    /// The "none" model every QEMU driver lists first when no MAC driver is active.
    pub fn none() -> Self {
        CapsSecModel {
            model: "none".into(),
            doi: "0".into(),
            base_labels: Vec::new(),
        }
    }

    /// The DAC model with the user and group guests run as.
    pub fn dac(uid: u32, gid: u32) -> Self {
        let label = format!("+{uid}:+{gid}");
        CapsSecModel {
            model: "dac".into(),
            doi: "0".into(),
            base_labels: vec![("kvm".into(), label.clone()), ("qemu".into(), label)],
        }
    }
}

/// Inputs of the capabilities document that are configuration rather than host facts.
#[derive(Clone, Debug)]
pub struct CapsOptions {
    /// Shown as `<uuid>` unless it is a placeholder (see [`super::uuid_is_valid`]).
    pub host_uuid: Uuid,
    pub security_models: Vec<CapsSecModel>,
    /// Directories searched for `qemu-system-*`, in order.
    pub emulator_search_dirs: Vec<PathBuf>,
    /// Absolute paths tried last for guests native to the host (e.g. RHEL's qemu-kvm).
    pub native_emulator_fallbacks: Vec<PathBuf>,
    /// Limit for one binary's machine-type probe.
    pub probe_timeout: Duration,
    /// KVM is offered when this opens read-write.
    pub kvm_device: PathBuf,
    pub(crate) roots: HostRoots,
    pub(crate) host_arch: String,
}

impl CapsOptions {
    /// Defaults of a root daemon: the "none" and root DAC security models, emulators from
    /// `PATH`, `/dev/kvm`, and a 30 s probe limit.
    pub fn new(host_uuid: Uuid) -> Self {
        CapsOptions {
            host_uuid,
            security_models: vec![CapsSecModel::none(), CapsSecModel::dac(0, 0)],
            emulator_search_dirs: default_search_dirs(),
            native_emulator_fallbacks: vec![PathBuf::from("/usr/libexec/qemu-kvm")],
            probe_timeout: Duration::from_secs(30),
            kvm_device: PathBuf::from("/dev/kvm"),
            roots: HostRoots::default(),
            host_arch: host_arch_name(),
        }
    }
}

/// Whether the kernel has IOMMU groups (any entry under /sys/kernel/iommu_groups).
fn host_has_iommu(roots: &HostRoots) -> bool {
    std::fs::read_dir(roots.sysfs.join("kernel/iommu_groups"))
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false)
}

fn format_cells(out: &mut String, cells: &[NumaCell]) {
    if cells.is_empty() {
        return;
    }
    out.push_str("    <topology>\n");
    let _ = writeln!(out, "      <cells num='{}'>", cells.len());
    for cell in cells {
        let _ = writeln!(out, "        <cell id='{}'>", cell.id);
        if cell.memory_kib != 0 {
            let _ = writeln!(
                out,
                "          <memory unit='KiB'>{}</memory>",
                cell.memory_kib
            );
        }
        for (size, count) in &cell.pages {
            let _ = writeln!(
                out,
                "          <pages unit='KiB' size='{size}'>{count}</pages>"
            );
        }
        if !cell.distances.is_empty() {
            out.push_str("          <distances>\n");
            for (id, value) in &cell.distances {
                let _ = writeln!(out, "            <sibling id='{id}' value='{value}'/>");
            }
            out.push_str("          </distances>\n");
        }
        if cell.cpus.is_empty() {
            out.push_str("          <cpus num='0'/>\n");
        } else {
            let _ = writeln!(out, "          <cpus num='{}'>", cell.cpus.len());
            for cpu in &cell.cpus {
                let _ = writeln!(
                    out,
                    "            <cpu id='{}' socket_id='{}' die_id='{}' core_id='{}' siblings='{}'/>",
                    cpu.id,
                    cpu.socket_id,
                    cpu.die_id,
                    cpu.core_id,
                    format_cpu_list(&cpu.siblings)
                );
            }
            out.push_str("          </cpus>\n");
        }
        out.push_str("        </cell>\n");
    }
    out.push_str("      </cells>\n    </topology>\n");
}

fn format_cache(out: &mut String, banks: &[CacheBank]) {
    if banks.is_empty() {
        return;
    }
    out.push_str("    <cache>\n");
    for bank in banks {
        let (size, unit) = pretty_size(bank.size_bytes);
        let _ = writeln!(
            out,
            "      <bank id='{}' level='{}' type='{}' size='{size}' unit='{unit}' cpus='{}'/>",
            bank.id,
            bank.level,
            bank.kind,
            format_cpu_list(&bank.cpus)
        );
    }
    out.push_str("    </cache>\n");
}

fn format_secmodels(out: &mut String, models: &[CapsSecModel]) {
    for model in models {
        out.push_str("    <secmodel>\n");
        let _ = writeln!(out, "      <model>{}</model>", escape(&model.model));
        let _ = writeln!(out, "      <doi>{}</doi>", escape(&model.doi));
        for (kind, label) in &model.base_labels {
            let _ = writeln!(
                out,
                "      <baselabel type='{}'>{}</baselabel>",
                escape(kind),
                escape(label)
            );
        }
        out.push_str("    </secmodel>\n");
    }
}

fn format_host(out: &mut String, opts: &CapsOptions) {
    let roots = &opts.roots;
    let arch = opts.host_arch.as_str();
    let info = node_info_at(roots, arch).ok();
    let cpuinfo = std::fs::read_to_string(roots.cpuinfo()).unwrap_or_default();
    let cpu = describe_host_cpu(
        arch,
        &cpuinfo,
        cpu_topology(roots, arch).ok(),
        host_page_sizes(roots),
        &opts.kvm_device,
    );

    out.push_str("  <host>\n");
    if uuid_is_valid(&opts.host_uuid) {
        let _ = writeln!(out, "    <uuid>{}</uuid>", opts.host_uuid.hyphenated());
    }
    format_host_cpu(out, &cpu);
    out.push_str("    <power_management/>\n");
    let iommu = if host_has_iommu(roots) { "yes" } else { "no" };
    let _ = writeln!(out, "    <iommu support='{iommu}'/>");
    out.push_str(concat!(
        "    <migration_features>\n",
        "      <live/>\n",
        "      <uri_transports>\n",
        "        <uri_transport>tcp</uri_transport>\n",
        "        <uri_transport>rdma</uri_transport>\n",
        "      </uri_transports>\n",
        "    </migration_features>\n",
    ));
    format_cells(out, &host_cells(roots, info.as_ref()));
    format_cache(out, &host_cache_banks(roots));
    format_secmodels(out, &opts.security_models);
    out.push_str("  </host>\n\n");
}

/// The capabilities document of this host as the QEMU driver reports it.
///
/// This blocks: it reads sysfs, may create a throw-away KVM VM for the TSC rate, and the
/// first call for each QEMU binary starts it to list its machine types (bounded by
/// `probe_timeout`; answers, and failures, are cached until the binary changes). Async
/// callers should run it on a blocking thread.
pub fn capabilities_xml(opts: &CapsOptions) -> String {
    let mut out = String::from("<capabilities>\n\n");
    format_host(&mut out, opts);
    let search = GuestSearch {
        host_arch: &opts.host_arch,
        dirs: &opts.emulator_search_dirs,
        native_fallbacks: &opts.native_emulator_fallbacks,
        probe_timeout: opts.probe_timeout,
        kvm_device: &opts.kvm_device,
    };
    for guest in discover_guests(&search) {
        format_guest(&mut out, &guest);
    }
    out.push_str("</capabilities>\n");
    out
}
