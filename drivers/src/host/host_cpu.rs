//! The `<cpu>` element of `<host>`.
//!
//! libvirt names the closest model of its CPU map and lists the extra features; that
//! needs CPUID decoding against the CPU map database and is not done here, so no
//! `<model>` or `<feature>` elements are emitted. Everything else libvirt reports
//! (vendor, microcode, signature, TSC counter, topology, address width, page sizes) is.

use std::fmt::Write as _;
use std::path::Path;

use super::arch::is_x86;
use super::cpuinfo::{parse_microcode, parse_phys_addr_bits, parse_x86_identity, x86_vendor_name};
use super::kvm::{tsc_info, TscInfo};
use super::nodeinfo::CpuTopology;

/// Everything printed inside `<host><cpu>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostCpu {
    pub(crate) arch: String,
    pub(crate) vendor: Option<&'static str>,
    pub(crate) microcode: u32,
    /// (family, model, stepping); printed only with a non-zero family.
    pub(crate) signature: Option<(u32, u32, u32)>,
    pub(crate) tsc: Option<TscInfo>,
    /// (sockets, cores, threads) per node.
    pub(crate) topology: Option<(u32, u32, u32)>,
    pub(crate) phys_addr_bits: Option<u32>,
    pub(crate) page_sizes_kib: Vec<u64>,
}

/// Gathers the host CPU description. `cpuinfo` is the text of /proc/cpuinfo (empty when
/// unreadable); `kvm_device` is asked for the TSC rate only on hosts with invariant TSC.
pub(crate) fn describe_host_cpu(
    arch: &str,
    cpuinfo: &str,
    topology: Option<CpuTopology>,
    page_sizes_kib: Vec<u64>,
    kvm_device: &Path,
) -> HostCpu {
    let mut cpu = HostCpu {
        arch: arch.to_string(),
        vendor: None,
        microcode: 0,
        signature: None,
        tsc: None,
        topology: topology.map(|t| (t.sockets, t.cores, t.threads)),
        phys_addr_bits: None,
        page_sizes_kib,
    };
    if !is_x86(arch) {
        return cpu;
    }
    let id = parse_x86_identity(cpuinfo);
    cpu.vendor = id.vendor_id.as_deref().and_then(x86_vendor_name);
    cpu.microcode = parse_microcode(cpuinfo);
    if let (Some(family), Some(model), Some(stepping)) = (id.family, id.model, id.stepping) {
        cpu.signature = Some((family, model, stepping));
    }
    // Linux derives both flags from the CPUID invariant-TSC bit.
    let invariant_tsc = ["constant_tsc", "nonstop_tsc"]
        .iter()
        .all(|flag| id.flags.iter().any(|f| f == flag));
    if invariant_tsc {
        cpu.tsc = tsc_info(kvm_device);
    }
    cpu.phys_addr_bits = parse_phys_addr_bits(cpuinfo);
    cpu
}

/// Appends the `<cpu>` element at four spaces of indentation.
pub(crate) fn format_host_cpu(out: &mut String, cpu: &HostCpu) {
    out.push_str("    <cpu>\n");
    let _ = writeln!(out, "      <arch>{}</arch>", cpu.arch);
    if let Some(vendor) = cpu.vendor {
        let _ = writeln!(out, "      <vendor>{vendor}</vendor>");
    }
    if cpu.microcode != 0 {
        let _ = writeln!(out, "      <microcode version='{}'/>", cpu.microcode);
    }
    if let Some((family, model, stepping)) = cpu.signature.filter(|s| s.0 != 0) {
        let _ = writeln!(
            out,
            "      <signature family='{family}' model='{model}' stepping='{stepping}'/>"
        );
    }
    if let Some(tsc) = cpu.tsc {
        let _ = writeln!(
            out,
            "      <counter name='tsc' frequency='{}' scaling='{}'/>",
            tsc.frequency_hz,
            if tsc.scaling { "yes" } else { "no" }
        );
    }
    if let Some((sockets, cores, threads)) = cpu.topology {
        let _ = writeln!(
            out,
            "      <topology sockets='{sockets}' dies='1' cores='{cores}' threads='{threads}'/>"
        );
    }
    if let Some(bits) = cpu.phys_addr_bits {
        let _ = writeln!(out, "      <maxphysaddr mode='emulate' bits='{bits}'/>");
    }
    for size in &cpu.page_sizes_kib {
        let _ = writeln!(out, "      <pages unit='KiB' size='{size}'/>");
    }
    out.push_str("    </cpu>\n");
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::fake_cpuinfo;
    use super::*;

    fn topology() -> Option<CpuTopology> {
        Some(CpuTopology {
            cpus: 8,
            nodes: 2,
            sockets: 1,
            cores: 2,
            threads: 2,
        })
    }

    #[test]
    fn x86_description_from_cpuinfo() {
        let cpu = describe_host_cpu(
            "x86_64",
            &fake_cpuinfo(2),
            topology(),
            vec![4, 2048],
            Path::new("/nonexistent/kvm"),
        );
        let mut xml = String::new();
        format_host_cpu(&mut xml, &cpu);
        assert_eq!(
            xml,
            "    <cpu>\n      <arch>x86_64</arch>\n      <vendor>Intel</vendor>\n\
             \x20     <microcode version='83899908'/>\n\
             \x20     <signature family='6' model='85' stepping='7'/>\n\
             \x20     <topology sockets='1' dies='1' cores='2' threads='2'/>\n\
             \x20     <maxphysaddr mode='emulate' bits='46'/>\n\
             \x20     <pages unit='KiB' size='4'/>\n      <pages unit='KiB' size='2048'/>\n\
             \x20   </cpu>\n"
        );
    }

    #[test]
    fn non_x86_reports_arch_topology_and_pages_only() {
        let cpu = describe_host_cpu(
            "aarch64",
            &fake_cpuinfo(1),
            topology(),
            vec![64],
            Path::new("/nonexistent/kvm"),
        );
        assert_eq!(cpu.vendor, None);
        assert_eq!(cpu.signature, None);
        assert_eq!(cpu.phys_addr_bits, None);
        let mut xml = String::new();
        format_host_cpu(&mut xml, &cpu);
        assert!(xml.contains("<arch>aarch64</arch>"));
        assert!(!xml.contains("microcode"));
    }
}
