//! The `<guest>` elements: one per architecture for which a QEMU binary is found and
//! answers the machine-type probe, in libvirt's architecture order.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::arch::{from_qemu_target, guest_is_native, is_x86, Arch, ARCHES};
use super::emulators::default_emulator;
use super::kvm::kvm_usable;
use super::machines::{caps_machines, order_machines, probe_cached, CapsMachine};
use super::xml_text::escape;

/// Everything printed for one guest architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GuestCaps {
    pub(crate) arch: &'static Arch,
    pub(crate) emulator: PathBuf,
    pub(crate) machines: Vec<CapsMachine>,
    pub(crate) kvm: bool,
}

/// Where and how to look for emulators.
pub(crate) struct GuestSearch<'a> {
    pub(crate) host_arch: &'a str,
    pub(crate) dirs: &'a [PathBuf],
    pub(crate) native_fallbacks: &'a [PathBuf],
    pub(crate) probe_timeout: Duration,
    pub(crate) kvm_device: &'a Path,
}

/// Finds and probes the emulator of every architecture. Binaries that cannot be probed
/// are left out, as libvirt does.
pub(crate) fn discover_guests(search: &GuestSearch<'_>) -> Vec<GuestCaps> {
    let kvm = kvm_usable(search.kvm_device);
    ARCHES
        .iter()
        .filter_map(|arch| {
            let emulator =
                default_emulator(search.host_arch, arch, search.dirs, search.native_fallbacks)?;
            let probe = probe_cached(&emulator, search.probe_timeout).ok()?;
            // The preferred default machine follows the binary's own target.
            let binary_arch = probe
                .target
                .as_deref()
                .and_then(from_qemu_target)
                .unwrap_or(arch);
            let ordered = order_machines(&probe.machines, binary_arch.preferred_machine);
            Some(GuestCaps {
                arch,
                emulator,
                machines: caps_machines(&ordered),
                kvm: kvm && guest_is_native(search.host_arch, arch.name),
            })
        })
        .collect()
}

/// Appends one `<guest>` element (two-space indented) followed by a blank line.
pub(crate) fn format_guest(out: &mut String, guest: &GuestCaps) {
    out.push_str("  <guest>\n    <os_type>hvm</os_type>\n");
    let _ = writeln!(out, "    <arch name='{}'>", guest.arch.name);
    let _ = writeln!(out, "      <wordsize>{}</wordsize>", guest.arch.wordsize);
    let _ = writeln!(
        out,
        "      <emulator>{}</emulator>",
        escape(&guest.emulator.to_string_lossy())
    );
    for machine in &guest.machines {
        out.push_str("      <machine");
        if let Some(canonical) = &machine.canonical {
            let _ = write!(out, " canonical='{}'", escape(canonical));
        }
        if machine.max_cpus > 0 {
            let _ = write!(out, " maxCpus='{}'", machine.max_cpus);
        }
        if machine.deprecated {
            out.push_str(" deprecated='yes'");
        }
        let _ = writeln!(out, ">{}</machine>", escape(&machine.name));
    }
    out.push_str("      <domain type='qemu'/>\n");
    if guest.kvm {
        out.push_str("      <domain type='kvm'/>\n");
    }
    out.push_str("    </arch>\n    <features>\n");
    let name = guest.arch.name;
    if name == "i686" {
        out.push_str("      <pae/>\n      <nonpae/>\n");
    }
    if is_x86(name) || name == "aarch64" {
        out.push_str("      <acpi default='on' toggle='yes'/>\n");
    }
    if is_x86(name) {
        out.push_str("      <apic default='on' toggle='no'/>\n");
    }
    out.push_str(concat!(
        "      <cpuselection/>\n",
        "      <deviceboot/>\n",
        "      <disksnapshot default='on' toggle='no'/>\n",
        "    </features>\n",
        "  </guest>\n\n",
    ));
}

#[cfg(test)]
mod tests {
    use super::super::arch::by_name;
    use super::*;

    fn guest(arch: &str, kvm: bool) -> GuestCaps {
        GuestCaps {
            arch: by_name(arch).expect("known arch"),
            emulator: PathBuf::from("/usr/bin/qemu-system-i386"),
            machines: vec![
                CapsMachine {
                    name: "pc-i440fx-7.2".into(),
                    canonical: None,
                    max_cpus: 255,
                    deprecated: false,
                },
                CapsMachine {
                    name: "pc".into(),
                    canonical: Some("pc-i440fx-7.2".into()),
                    max_cpus: 255,
                    deprecated: false,
                },
                CapsMachine {
                    name: "pc-i440fx-1.4".into(),
                    canonical: None,
                    max_cpus: 255,
                    deprecated: true,
                },
            ],
            kvm,
        }
    }

    #[test]
    fn i686_guest_matches_libvirt_layout() {
        let mut out = String::new();
        format_guest(&mut out, &guest("i686", true));
        assert_eq!(
            out,
            "  <guest>\n    <os_type>hvm</os_type>\n    <arch name='i686'>\n\
             \x20     <wordsize>32</wordsize>\n\
             \x20     <emulator>/usr/bin/qemu-system-i386</emulator>\n\
             \x20     <machine maxCpus='255'>pc-i440fx-7.2</machine>\n\
             \x20     <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>\n\
             \x20     <machine maxCpus='255' deprecated='yes'>pc-i440fx-1.4</machine>\n\
             \x20     <domain type='qemu'/>\n      <domain type='kvm'/>\n    </arch>\n\
             \x20   <features>\n      <pae/>\n      <nonpae/>\n\
             \x20     <acpi default='on' toggle='yes'/>\n\
             \x20     <apic default='on' toggle='no'/>\n      <cpuselection/>\n\
             \x20     <deviceboot/>\n      <disksnapshot default='on' toggle='no'/>\n\
             \x20   </features>\n  </guest>\n\n"
        );
    }

    #[test]
    fn non_x86_guest_has_no_acpi_or_kvm() {
        let mut out = String::new();
        format_guest(&mut out, &guest("ppc64", false));
        assert!(!out.contains("acpi") && !out.contains("apic") && !out.contains("kvm"));
        assert!(out.contains("<cpuselection/>"));
    }
}
