//! What the host's KVM device allows: whether guests can use it at all, and the TSC
//! frequency a KVM vCPU sees (reported as `<counter name='tsc'>` on hosts with an
//! invariant TSC).

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// Whether `device` opens for reading and writing, which is what QEMU needs for KVM.
pub(crate) fn kvm_usable(device: &Path) -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .is_ok()
}

/// TSC frequency of a KVM vCPU and whether KVM can scale it for guests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TscInfo {
    pub(crate) frequency_hz: u64,
    pub(crate) scaling: bool,
}

// ioctl numbers from <linux/kvm.h> (type 0xAE, no size encoded).
const KVM_CREATE_VM: libc::c_ulong = 0xAE01;
const KVM_CHECK_EXTENSION: libc::c_ulong = 0xAE03;
const KVM_CREATE_VCPU: libc::c_ulong = 0xAE41;
const KVM_GET_TSC_KHZ: libc::c_ulong = 0xAEA3;
const KVM_CAP_TSC_CONTROL: libc::c_ulong = 60;
const KVM_CAP_NR_VCPUS: libc::c_ulong = 9;
const KVM_CAP_MAX_VCPUS: libc::c_ulong = 66;
/// What libvirt assumes when KVM answers neither vCPU capability.
const KVM_VCPUS_FALLBACK: i32 = 4;

/// Runs an argument-less-or-integer KVM ioctl, returning its non-negative result.
fn kvm_ioctl(fd: &impl AsRawFd, request: libc::c_ulong, arg: libc::c_ulong) -> Option<i32> {
    // SAFETY: these KVM requests take an integer argument (not a pointer) and the fd is
    // open for the duration of the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg) };
    (rc >= 0).then_some(rc)
}

/// The most vCPUs a KVM guest may have, as libvirt asks for it: the maximum capability,
/// else the recommended count, else 4. `Err` when the device does not open.
pub fn kvm_max_vcpus(device: &Path) -> std::io::Result<i32> {
    let kvm = OpenOptions::new().read(true).write(true).open(device)?;
    Ok(kvm_ioctl(&kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS)
        .filter(|n| *n > 0)
        .or_else(|| kvm_ioctl(&kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS).filter(|n| *n > 0))
        .unwrap_or(KVM_VCPUS_FALLBACK))
}

/// Creates a throw-away VM with one vCPU to ask for its TSC rate, as libvirt does.
/// `None` when KVM is missing or refuses.
pub(crate) fn tsc_info(device: &Path) -> Option<TscInfo> {
    if !cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
        return None;
    }
    let kvm = OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .ok()?;
    let vm_fd = kvm_ioctl(&kvm, KVM_CREATE_VM, 0)?;
    // SAFETY: KVM_CREATE_VM returned a new descriptor that nothing else owns.
    let vm = unsafe { OwnedFd::from_raw_fd(vm_fd) };
    let vcpu_fd = kvm_ioctl(&vm, KVM_CREATE_VCPU, 0)?;
    // SAFETY: KVM_CREATE_VCPU returned a new descriptor that nothing else owns.
    let vcpu = unsafe { OwnedFd::from_raw_fd(vcpu_fd) };
    let khz = kvm_ioctl(&vcpu, KVM_GET_TSC_KHZ, 0)?;
    let scaling = kvm_ioctl(&kvm, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL)?;
    Some(TscInfo {
        frequency_hz: u64::try_from(khz).ok()? * 1000,
        scaling: scaling != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_device_is_unusable() {
        let path = Path::new("/nonexistent/kvm");
        assert!(!kvm_usable(path));
        assert_eq!(tsc_info(path), None);
    }

    #[test]
    fn real_kvm_reports_a_plausible_tsc() {
        let dev = Path::new("/dev/kvm");
        if !kvm_usable(dev) {
            // Nothing to compare against on a host without usable KVM.
            assert_eq!(tsc_info(Path::new("/dev/null")), None);
            return;
        }
        let info = tsc_info(dev).expect("KVM answers TSC queries");
        assert!(
            info.frequency_hz > 100_000_000,
            "TSC {} Hz",
            info.frequency_hz
        );
    }
}
