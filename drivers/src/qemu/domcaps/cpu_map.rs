//! The CPU model names libvirt 9.0 knows (its CPU map), by architecture: what
//! `virsh cpu-models` lists, and which of QEMU's models domain capabilities name.

/// x86 models of libvirt 9.0's CPU map, in its order.
const X86_MODELS: &[&str] = &[
    "486",
    "pentium",
    "pentium2",
    "pentium3",
    "pentiumpro",
    "coreduo",
    "n270",
    "core2duo",
    "qemu32",
    "kvm32",
    "cpu64-rhel5",
    "cpu64-rhel6",
    "qemu64",
    "kvm64",
    "Conroe",
    "Penryn",
    "Nehalem",
    "Nehalem-IBRS",
    "Westmere",
    "Westmere-IBRS",
    "SandyBridge",
    "SandyBridge-IBRS",
    "IvyBridge",
    "IvyBridge-IBRS",
    "Haswell-noTSX",
    "Haswell-noTSX-IBRS",
    "Haswell",
    "Haswell-IBRS",
    "Broadwell-noTSX",
    "Broadwell-noTSX-IBRS",
    "Broadwell",
    "Broadwell-IBRS",
    "Skylake-Client",
    "Skylake-Client-IBRS",
    "Skylake-Client-noTSX-IBRS",
    "Skylake-Server",
    "Skylake-Server-IBRS",
    "Skylake-Server-noTSX-IBRS",
    "Cascadelake-Server",
    "Cascadelake-Server-noTSX",
    "Icelake-Client",
    "Icelake-Client-noTSX",
    "Icelake-Server",
    "Icelake-Server-noTSX",
    "Cooperlake",
    "Snowridge",
    "athlon",
    "phenom",
    "Opteron_G1",
    "Opteron_G2",
    "Opteron_G3",
    "Opteron_G4",
    "Opteron_G5",
    "EPYC",
    "EPYC-IBPB",
    "EPYC-Rome",
    "EPYC-Milan",
    "Dhyana",
];

const PPC64_MODELS: &[&str] = &[
    "POWER6",
    "POWER7",
    "POWER8",
    "POWER9",
    "POWER10",
    "POWERPC_e5500",
    "POWERPC_e6500",
];

/// Models libvirt's map gives no vendor (QEMU gives them one of its own).
const VENDORLESS: &[&str] = &[
    "486",
    "pentium",
    "pentium2",
    "pentium3",
    "pentiumpro",
    "qemu32",
    "qemu64",
    "kvm32",
    "kvm64",
    "cpu64-rhel5",
    "cpu64-rhel6",
];

/// The model names of `arch` for `virConnectGetCPUModelNames`: `Ok(None)` for an
/// architecture libvirt has no CPU driver for.
pub fn model_names(arch: &str) -> Option<&'static [&'static str]> {
    match arch {
        "x86_64" | "i686" => Some(X86_MODELS),
        "ppc64" | "ppc64le" => Some(PPC64_MODELS),
        "aarch64" | "armv6l" | "armv7l" | "armv7b" | "s390" | "s390x" => Some(&[]),
        _ => None,
    }
}

/// Whether domain capabilities list this QEMU model (an x86 model of the map).
pub fn is_listed_model(name: &str) -> bool {
    X86_MODELS.contains(&name)
}

/// The vendor libvirt's map gives a model (QEMU's own answer depends on the
/// accelerator: under KVM every model takes the host's vendor).
pub fn vendor_name(model: &str) -> &'static str {
    if VENDORLESS.contains(&model) {
        "unknown"
    } else if model == "Dhyana" {
        "Hygon"
    } else if model == "athlon"
        || model == "phenom"
        || model.starts_with("Opteron_")
        || model.starts_with("EPYC")
    {
        "AMD"
    } else {
        "Intel"
    }
}

/// "GenuineIntel" -> "Intel", and so on.
pub fn cpuid_vendor_name(cpuid_vendor: &str) -> &'static str {
    match cpuid_vendor {
        "GenuineIntel" => "Intel",
        "AuthenticAMD" => "AMD",
        "HygonGenuine" => "Hygon",
        _ => "unknown",
    }
}

/// libvirt's spelling of a QEMU feature name where the two differ.
pub fn feature_name(qemu: &str) -> String {
    match qemu {
        "lahf-lm" => "lahf_lm".into(),
        "fxsr-opt" => "fxsr_opt".into(),
        "cmp-legacy" => "cmp_legacy".into(),
        "tsc-adjust" => "tsc_adjust".into(),
        "nodeid-msr" => "nodeid_msr".into(),
        "perfctr-core" => "perfctr_core".into(),
        "perfctr-nb" => "perfctr_nb".into(),
        "pclmulqdq" => "pclmuldq".into(),
        "ds-cpl" => "ds_cpl".into(),
        other => other.to_string(),
    }
}
