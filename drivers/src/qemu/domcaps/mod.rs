//! `virConnectGetDomainCapabilities` for the qemu driver: what a guest of one emulator,
//! architecture, machine type and virtualization type can be given, in libvirt 9.0's
//! document layout. The facts come from the capabilities document (emulators, machine
//! types and their vCPU limits), a QMP probe of the emulator (CPU models, host-model
//! CPU, compiled-in devices) and QEMU's firmware descriptors.

mod cpu_compare;
mod cpu_map;
mod firmware;
mod probe;
mod xml;

use crate::api::{codes, domains, DriverError, DriverResult};

/// One `<guest><arch>` of the capabilities document.
#[derive(Clone, Debug, Default)]
struct GuestArch {
    arch: String,
    emulator: String,
    /// (name, canonical name, maxCpus)
    machines: Vec<(String, Option<String>, u32)>,
    domain_types: Vec<String>,
}

fn guest_arches(caps: &str) -> Vec<GuestArch> {
    let Ok(doc) = roxmltree::Document::parse(caps) else {
        return Vec::new();
    };
    doc.descendants()
        .filter(|n| n.has_tag_name("arch") && n.parent().is_some_and(|p| p.has_tag_name("guest")))
        .map(|arch| {
            let child_text = |name: &str| {
                arch.children()
                    .find(|c| c.has_tag_name(name))
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .to_string()
            };
            GuestArch {
                arch: arch.attribute("name").unwrap_or("").to_string(),
                emulator: child_text("emulator"),
                machines: arch
                    .children()
                    .filter(|c| c.has_tag_name("machine"))
                    .filter_map(|m| {
                        Some((
                            m.text()?.to_string(),
                            m.attribute("canonical").map(str::to_string),
                            m.attribute("maxCpus")
                                .and_then(|n| n.parse().ok())
                                .unwrap_or(1),
                        ))
                    })
                    .collect(),
                domain_types: arch
                    .children()
                    .filter(|c| c.has_tag_name("domain"))
                    .filter_map(|d| d.attribute("type").map(str::to_string))
                    .collect(),
            }
        })
        .collect()
}

/// libvirt's `virDomainVirtType` names (for "unknown virttype" versus "not supported").
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

fn invalid(message: String) -> DriverError {
    DriverError::new(codes::INVALID_ARG, domains::QEMU, message)
}

/// What the caller asked for, resolved against the host as libvirt resolves it.
pub struct Request<'a> {
    pub emulator: Option<&'a str>,
    pub arch: Option<&'a str>,
    pub machine: Option<&'a str>,
    pub virttype: Option<&'a str>,
}

/// The resolved target of a domain capabilities document.
struct Target {
    emulator: String,
    arch: String,
    machine: String,
    max_vcpus: u32,
    kvm: bool,
}

fn resolve(caps: &str, request: &Request) -> DriverResult<Target> {
    let arches = guest_arches(caps);
    let host_arch = std::env::consts::ARCH;
    let guest = match (request.emulator, request.arch) {
        (_, Some(arch)) => {
            if !crate::domain_xml::is_arch_name(arch) {
                return Err(invalid(format!("unknown architecture: {arch}")));
            }
            let found = arches.iter().find(|g| g.arch == arch).ok_or_else(|| {
                DriverError::new(
                    codes::CONFIG_UNSUPPORTED,
                    domains::QEMU,
                    format!("unable to find any emulator to serve '{arch}' architecture"),
                )
            })?;
            if let Some(emulator) = request.emulator {
                if emulator != found.emulator {
                    return Err(invalid(format!(
                        "emulator '{emulator}' does not support arch '{arch}'"
                    )));
                }
            }
            found
        }
        (Some(emulator), None) => {
            arches
                .iter()
                .find(|g| g.emulator == emulator)
                .ok_or_else(|| {
                    DriverError::new(
                        codes::OPERATION_FAILED,
                        domains::QEMU,
                        format!("Cannot check QEMU binary {emulator}: No such file or directory"),
                    )
                })?
        }
        (None, None) => arches
            .iter()
            .find(|g| g.arch == host_arch)
            .or_else(|| arches.first())
            .ok_or_else(|| {
                DriverError::new(
                    codes::CONFIG_UNSUPPORTED,
                    domains::QEMU,
                    format!("unable to find any emulator to serve '{host_arch}' architecture"),
                )
            })?,
    };
    let kvm_available = guest.domain_types.iter().any(|t| t == "kvm");
    let kvm = match request.virttype {
        None => kvm_available,
        Some("qemu") => false,
        Some("kvm") if kvm_available => true,
        Some(other) if VIRT_TYPES.contains(&other) => {
            return Err(invalid(format!(
                "Emulator '{}' does not support virt type '{other}'",
                guest.emulator
            )))
        }
        Some(other) => return Err(invalid(format!("unknown virttype: {other}"))),
    };
    let machine_name = request.machine.unwrap_or(match guest.arch.as_str() {
        "x86_64" | "i686" => "pc",
        _ => "",
    });
    let machine = guest
        .machines
        .iter()
        .find(|(name, _, _)| name == machine_name)
        .or_else(|| guest.machines.first().filter(|_| request.machine.is_none()))
        .ok_or_else(|| {
            invalid(format!(
                "the machine '{machine_name}' is not supported by emulator '{}'",
                guest.emulator
            ))
        })?;
    let canonical = machine.1.clone().unwrap_or_else(|| machine.0.clone());
    let max_vcpus = guest
        .machines
        .iter()
        .find(|(name, _, _)| *name == canonical)
        .map(|m| m.2)
        .unwrap_or(machine.2);
    Ok(Target {
        emulator: guest.emulator.clone(),
        arch: guest.arch.clone(),
        machine: canonical,
        max_vcpus,
        kvm,
    })
}

/// The domain capabilities document.
pub fn domain_capabilities(caps: &str, request: &Request) -> DriverResult<String> {
    let target = resolve(caps, request)?;
    let accel = if target.kvm { "kvm" } else { "tcg" };
    let probe = probe::probe(std::path::Path::new(&target.emulator), accel).map_err(|e| {
        DriverError::new(
            codes::INTERNAL_ERROR,
            domains::QEMU,
            format!("failed to probe {}: {e}", target.emulator),
        )
    })?;
    let loaders = firmware::uefi_loaders(&target.arch, &target.machine);
    Ok(xml::document(&target, &probe, &loaders))
}

/// `virConnectGetCPUModelNames`: libvirt's CPU map for the architecture's CPU driver.
pub fn cpu_model_names(arch: &str) -> DriverResult<Vec<String>> {
    if !crate::domain_xml::is_arch_name(arch) {
        return Err(invalid(format!("cannot find architecture {arch}")));
    }
    let names = cpu_map::model_names(arch).ok_or_else(|| {
        DriverError::new(
            codes::NO_SUPPORT,
            domains::CPU,
            format!("'{arch}' architecture is not supported by CPU driver"),
        )
    })?;
    Ok(names.iter().map(|n| n.to_string()).collect())
}

fn probe_for(target: &Target) -> DriverResult<std::sync::Arc<probe::EmulatorCaps>> {
    let accel = if target.kvm { "kvm" } else { "tcg" };
    probe::probe(std::path::Path::new(&target.emulator), accel).map_err(|e| {
        DriverError::new(
            codes::INTERNAL_ERROR,
            domains::QEMU,
            format!("failed to probe {}: {e}", target.emulator),
        )
    })
}

const NO_REQUEST: Request<'static> = Request {
    emulator: None,
    arch: None,
    machine: None,
    virttype: None,
};

/// The host CPU as the kernel reports it (`/proc/cpuinfo` vendor and flags, in QEMU's
/// feature names): what `virConnectCompareCPU` compares against, as libvirt compares
/// with the CPUID of the host rather than with what the hypervisor offers.
fn host_cpu() -> (String, std::collections::BTreeSet<String>) {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.split(':').next().map(str::trim) == Some(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let vendor = cpu_map::cpuid_vendor_name(&field("vendor_id")).to_string();
    let features = field("flags")
        .split_ascii_whitespace()
        .map(|flag| match flag {
            "sse4_1" => "sse4.1".to_string(),
            "sse4_2" => "sse4.2".to_string(),
            "tsc_deadline_timer" => "tsc-deadline".to_string(),
            other => other.replace('_', "-"),
        })
        .collect();
    (vendor, features)
}

/// `virConnectCompareCPU`: against the host CPU.
pub fn compare_cpu(caps: &str, xml: &str, flags: u32) -> DriverResult<i32> {
    let mut target = resolve(caps, &NO_REQUEST)?;
    target.kvm = false;
    let probe = probe_for(&target)?;
    let (vendor, features) = host_cpu();
    cpu_compare::compare(xml, &probe, &vendor, &features, flags, "host CPU")
}

/// `virConnectCompareHypervisorCPU`: against the CPU the hypervisor offers guests.
pub fn compare_hypervisor_cpu(
    caps: &str,
    request: &Request,
    xml: &str,
    flags: u32,
) -> DriverResult<i32> {
    let target = resolve(caps, request)?;
    let probe = probe_for(&target)?;
    cpu_compare::compare(
        xml,
        &probe,
        cpu_compare::host_vendor(&probe),
        &probe.host_features,
        flags,
        "the CPU provided by hypervisor on the host",
    )
}

/// `virConnectBaselineCPU`.
pub fn baseline_cpu(caps: &str, xmls: &[String], flags: u32) -> DriverResult<String> {
    let mut target = resolve(caps, &NO_REQUEST)?;
    target.kvm = false;
    let probe = probe_for(&target)?;
    cpu_compare::baseline(xmls, &probe, None, flags)
}

/// `virConnectBaselineHypervisorCPU`: also limited to what the hypervisor offers.
pub fn baseline_hypervisor_cpu(
    caps: &str,
    request: &Request,
    xmls: &[String],
    flags: u32,
) -> DriverResult<String> {
    let target = resolve(caps, request)?;
    let probe = probe_for(&target)?;
    cpu_compare::baseline(xmls, &probe, Some(&probe.host_features), flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: &str = "<capabilities><guest><os_type>hvm</os_type><arch name='x86_64'>\
        <emulator>/usr/bin/qemu-system-x86_64</emulator>\
        <machine maxCpus='255'>pc-i440fx-7.2</machine>\
        <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>\
        <machine maxCpus='288'>pc-q35-7.2</machine>\
        <machine canonical='pc-q35-7.2' maxCpus='288'>q35</machine>\
        <domain type='qemu'/></arch></guest></capabilities>";

    fn request<'a>(
        arch: Option<&'a str>,
        machine: Option<&'a str>,
        virttype: Option<&'a str>,
    ) -> Request<'a> {
        Request {
            emulator: None,
            arch,
            machine,
            virttype,
        }
    }

    #[test]
    fn defaults_and_aliases_resolve_to_canonical_machines() {
        let t = resolve(CAPS, &request(None, None, None)).expect("default");
        assert_eq!(
            (t.machine.as_str(), t.max_vcpus, t.kvm),
            ("pc-i440fx-7.2", 255, false)
        );
        let t = resolve(CAPS, &request(Some("x86_64"), Some("q35"), Some("qemu"))).expect("q35");
        assert_eq!((t.machine.as_str(), t.max_vcpus), ("pc-q35-7.2", 288));
    }

    #[test]
    fn refusals_use_libvirts_words() {
        let message = |r: Request| resolve(CAPS, &r).err().expect("refused").message;
        assert_eq!(
            message(request(None, Some("nope"), None)),
            "invalid argument: the machine 'nope' is not supported by emulator '/usr/bin/qemu-system-x86_64'"
        );
        assert_eq!(
            message(request(Some("ppc64"), None, None)),
            "unsupported configuration: unable to find any emulator to serve 'ppc64' architecture"
        );
        assert_eq!(
            message(request(None, None, Some("kvm"))),
            "invalid argument: Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'kvm'"
        );
        assert_eq!(
            message(request(None, None, Some("bogus"))),
            "invalid argument: unknown virttype: bogus"
        );
        assert_eq!(
            cpu_model_names("mips").expect_err("no driver").message,
            "this function is not supported by the connection driver: 'mips' architecture is not supported by CPU driver"
        );
        assert_eq!(cpu_model_names("x86_64").expect("x86").len(), 58);
    }
}
