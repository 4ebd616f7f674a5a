//! Finding the QEMU binary for each guest architecture, by libvirt's rules: try
//! `qemu-system-<arch>`, then the binary of the architecture the guest runs natively on,
//! then a distribution's `qemu-kvm` for native guests.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::arch::{by_name, guest_is_native, Arch};

/// Directories searched when the environment has no `PATH` (GLib's default search
/// path without the current directory, which is what libvirt falls back to).
const FALLBACK_SEARCH_DIRS: &[&str] = &["/bin", "/usr/bin"];

/// The directories the daemon searches for emulators: its `PATH`, like libvirtd.
pub(crate) fn default_search_dirs() -> Vec<PathBuf> {
    match std::env::var_os("PATH") {
        Some(path) if !path.is_empty() => std::env::split_paths(&path)
            .filter(|dir| dir.is_absolute())
            .collect(),
        _ => FALLBACK_SEARCH_DIRS.iter().map(PathBuf::from).collect(),
    }
}

/// Whether `path` is a regular file with an execute bit.
pub(crate) fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// First `dir/name` in `dirs` that is executable.
fn find_in_dirs(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn find_for_suffix(suffix: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    find_in_dirs(&format!("qemu-system-{suffix}"), dirs)
}

/// The architecture whose binary can run `guest` when there is no binary of its own.
fn fallback_target(host: &str, guest: &'static Arch) -> &'static Arch {
    let target = if guest_is_native(host, guest.name) {
        by_name(host)
    } else {
        None
    };
    let target = target.unwrap_or(guest);
    if target.name == "ppc64le" {
        by_name("ppc64").unwrap_or(target)
    } else {
        target
    }
}

/// The emulator libvirt would use for `guest` guests on a `host` machine.
/// `native_fallbacks` are absolute paths tried last for native guests (`qemu-kvm`).
pub(crate) fn default_emulator(
    host: &str,
    guest: &'static Arch,
    dirs: &[PathBuf],
    native_fallbacks: &[PathBuf],
) -> Option<PathBuf> {
    // 32-bit ARM guests get KVM on 64-bit ARM hosts only through the aarch64 binary.
    if host == "aarch64" && guest.name == "armv7l" {
        if let Some(found) = find_for_suffix("aarch64", dirs) {
            return Some(found);
        }
    }
    if let Some(found) = find_for_suffix(guest.qemu_suffix, dirs) {
        return Some(found);
    }
    let target = fallback_target(host, guest);
    if target.name != guest.name {
        if let Some(found) = find_for_suffix(target.qemu_suffix, dirs) {
            return Some(found);
        }
    }
    if guest_is_native(host, guest.name) {
        return native_fallbacks
            .iter()
            .find(|path| is_executable(path))
            .cloned();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::FakeHost;
    use super::*;

    fn make_exec(host: &FakeHost, rel: &str) -> PathBuf {
        host.write(rel, "#!/bin/sh\n");
        let path = host.path(rel);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    #[test]
    fn search_order_and_fallbacks() {
        let host = FakeHost::new();
        let dirs = vec![host.path("a"), host.path("b")];
        let x86_64 = make_exec(&host, "b/qemu-system-x86_64");
        host.write("a/qemu-system-i386", "not executable");
        let i686 = by_name("i686").expect("i686");
        // No executable i386 binary: an i686 guest on an x86_64 host uses the 64-bit one.
        assert_eq!(
            default_emulator("x86_64", i686, &dirs, &[]),
            Some(x86_64.clone())
        );
        let i386 = make_exec(&host, "b/qemu-system-i386");
        assert_eq!(default_emulator("x86_64", i686, &dirs, &[]), Some(i386));
        let aarch64 = by_name("aarch64").expect("aarch64");
        assert_eq!(default_emulator("x86_64", aarch64, &dirs, &[]), None);
        let qemu_kvm = make_exec(&host, "libexec/qemu-kvm");
        let x86 = by_name("x86_64").expect("x86_64");
        let empty = vec![host.path("empty")];
        assert_eq!(
            default_emulator("x86_64", x86, &empty, std::slice::from_ref(&qemu_kvm)),
            Some(qemu_kvm.clone())
        );
        assert_eq!(
            default_emulator("x86_64", aarch64, &empty, &[qemu_kvm]),
            None
        );
    }

    #[test]
    fn ppc64le_guest_uses_ppc64_binary() {
        let host = FakeHost::new();
        let dirs = vec![host.path("bin")];
        let ppc64 = make_exec(&host, "bin/qemu-system-ppc64");
        let le = by_name("ppc64le").expect("ppc64le");
        assert_eq!(default_emulator("x86_64", le, &dirs, &[]), Some(ppc64));
    }

    #[test]
    fn default_dirs_are_absolute() {
        assert!(default_search_dirs().iter().all(|d| d.is_absolute()));
    }
}
