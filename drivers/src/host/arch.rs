//! CPU architectures as libvirt 9.0 names and orders them. The capabilities document
//! lists guests in this table's order, so the order is part of the output.

/// One architecture libvirt knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Arch {
    /// Name used in XML ("i686", "x86_64", ...).
    pub(crate) name: &'static str,
    pub(crate) wordsize: u32,
    /// Suffix of the QEMU binary for this architecture (`qemu-system-<suffix>`).
    pub(crate) qemu_suffix: &'static str,
    /// Machine type libvirt makes the default when the binary offers it (matched against
    /// machine names and aliases); `None` keeps QEMU's own default.
    pub(crate) preferred_machine: Option<&'static str>,
}

const fn arch(
    name: &'static str,
    wordsize: u32,
    qemu_suffix: &'static str,
    preferred_machine: Option<&'static str>,
) -> Arch {
    Arch {
        name,
        wordsize,
        qemu_suffix,
        preferred_machine,
    }
}

/// All architectures, in libvirt's enumeration order.
pub(crate) const ARCHES: &[Arch] = &[
    arch("alpha", 64, "alpha", Some("clipper")),
    arch("armv6l", 32, "arm", Some("integratorcp")),
    arch("armv7l", 32, "arm", Some("integratorcp")),
    arch("armv7b", 32, "armv7b", Some("integratorcp")),
    arch("aarch64", 64, "aarch64", Some("integratorcp")),
    arch("cris", 32, "cris", Some("axis-dev88")),
    arch("i686", 32, "i386", Some("pc")),
    arch("ia64", 64, "ia64", None),
    arch("lm32", 32, "lm32", Some("lm32-evr")),
    arch("m68k", 32, "m68k", Some("mcf5208evb")),
    arch("microblaze", 32, "microblaze", Some("petalogix-s3adsp1800")),
    arch(
        "microblazeel",
        32,
        "microblazeel",
        Some("petalogix-s3adsp1800"),
    ),
    arch("mips", 32, "mips", Some("malta")),
    arch("mipsel", 32, "mipsel", Some("malta")),
    arch("mips64", 64, "mips64", Some("malta")),
    arch("mips64el", 64, "mips64el", Some("malta")),
    arch("or32", 32, "or32", Some("or1k-sim")),
    arch("parisc", 32, "parisc", None),
    arch("parisc64", 64, "parisc64", None),
    arch("ppc", 32, "ppc", Some("g3beige")),
    arch("ppcle", 32, "ppcle", Some("g3beige")),
    arch("ppc64", 64, "ppc64", Some("pseries")),
    arch("ppc64le", 64, "ppc64le", Some("pseries")),
    arch("ppcemb", 32, "ppcemb", Some("bamboo")),
    arch("riscv32", 32, "riscv32", Some("spike_v1.10")),
    arch("riscv64", 64, "riscv64", Some("spike_v1.10")),
    arch("s390", 32, "s390", None),
    arch("s390x", 64, "s390x", Some("s390-ccw-virtio")),
    arch("sh4", 32, "sh4", Some("shix")),
    arch("sh4eb", 64, "sh4eb", Some("shix")),
    arch("sparc", 32, "sparc", Some("SS-5")),
    arch("sparc64", 64, "sparc64", Some("sun4u")),
    arch("unicore32", 32, "unicore32", Some("puv3")),
    arch("x86_64", 64, "x86_64", Some("pc")),
    arch("xtensa", 32, "xtensa", Some("sim")),
    arch("xtensaeb", 32, "xtensaeb", Some("sim")),
];

/// Looks an architecture up by its XML name.
pub(crate) fn by_name(name: &str) -> Option<&'static Arch> {
    ARCHES.iter().find(|a| a.name == name)
}

/// The architecture a QEMU binary reports in `query-target` ("i386", "arm", ...).
pub(crate) fn from_qemu_target(target: &str) -> Option<&'static Arch> {
    match target {
        "i386" => by_name("i686"),
        "arm" => by_name("armv7l"),
        other => by_name(other),
    }
}

/// Canonical name of a `uname` machine string ("amd64" -> "x86_64", "i586" -> "i686").
pub(crate) fn canonical_machine_name(machine: &str) -> String {
    let bytes = machine.as_bytes();
    if bytes.len() == 4 && bytes[0] == b'i' && bytes[2] == b'8' && bytes[3] == b'6' {
        return "i686".to_string();
    }
    match machine {
        "amd64" => "x86_64".to_string(),
        "arm64" => "aarch64".to_string(),
        other => other.to_string(),
    }
}

/// The host's architecture name, from `uname`.
pub(crate) fn host_arch_name() -> String {
    match nix::sys::utsname::uname() {
        Ok(uts) => canonical_machine_name(&uts.machine().to_string_lossy()),
        Err(_) => std::env::consts::ARCH.to_string(),
    }
}

/// Whether a guest of `guest` architecture runs natively (with KVM) on a `host`.
pub(crate) fn guest_is_native(host: &str, guest: &str) -> bool {
    let ppc64 = |a: &str| a == "ppc64" || a == "ppc64le";
    host == guest
        || (host == "x86_64" && guest == "i686")
        || (host == "aarch64" && guest == "armv7l")
        || (ppc64(host) && ppc64(guest))
}

/// Whether `name` is one of the two x86 architectures.
pub(crate) fn is_x86(name: &str) -> bool {
    name == "i686" || name == "x86_64"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_follows_libvirt_order() {
        let i686 = ARCHES.iter().position(|a| a.name == "i686");
        let x86_64 = ARCHES.iter().position(|a| a.name == "x86_64");
        assert!(i686 < x86_64, "i686 guests are listed before x86_64 guests");
        assert_eq!(
            by_name("i686").map(|a| (a.wordsize, a.qemu_suffix)),
            Some((32, "i386"))
        );
        assert_eq!(from_qemu_target("i386").map(|a| a.name), Some("i686"));
        assert_eq!(from_qemu_target("arm").map(|a| a.name), Some("armv7l"));
    }

    #[test]
    fn uname_names_are_canonicalised() {
        assert_eq!(canonical_machine_name("i586"), "i686");
        assert_eq!(canonical_machine_name("amd64"), "x86_64");
        assert_eq!(canonical_machine_name("x86_64"), "x86_64");
        assert!(by_name(&host_arch_name()).is_some());
    }

    #[test]
    fn nativeness() {
        assert!(guest_is_native("x86_64", "i686"));
        assert!(guest_is_native("ppc64le", "ppc64"));
        assert!(!guest_is_native("x86_64", "aarch64"));
    }
}
