//! `/proc` of a container: the kernel's tunables read-only, as libvirt 9.0 does (host-wide
//! settings like `kernel/core_pattern` name a program the host's kernel runs as root),
//! with `net/ipv4` and `net/ipv6` writable when the container has a network namespace
//! of its own (they then only tune that namespace). Beyond libvirt, `sysrq-trigger`,
//! `irq` and `bus` are read-only too and `kmsg` (the host's kernel log) reads as empty.
//!
//! Root in a container without `<idmap>` keeps CAP_SYS_ADMIN and could undo these mounts;
//! they close the accidental and scripted paths, the user namespace is the boundary.

use std::path::Path;

use super::mounts::{bind_file, mount, remount_readonly};
use super::SupervisorError;

/// Entries below `/proc` made read-only beyond `sys`.
const READ_ONLY: &[&str] = &["sysrq-trigger", "irq", "bus"];

/// Hardens the proc filesystem just mounted at `proc_dir`.
pub fn harden(proc_dir: &Path, private_net: bool) -> Result<(), SupervisorError> {
    let sys = proc_dir.join("sys");
    if sys.is_dir() {
        if private_net {
            // Bound first, so the recursive bind below carries them writable.
            for net in ["net/ipv4", "net/ipv6"] {
                let dir = sys.join(net);
                if dir.is_dir() {
                    self_bind(&dir, false)?;
                }
            }
        }
        self_bind(&sys, true)?;
        remount_readonly(&sys)?;
    }
    for name in READ_ONLY {
        let path = proc_dir.join(name);
        if path.exists() {
            self_bind(&path, path.is_dir())?;
            remount_readonly(&path)?;
        }
    }
    let kmsg = proc_dir.join("kmsg");
    if kmsg.exists() {
        bind_file(Path::new("/dev/null"), &kmsg)?;
    }
    Ok(())
}

fn self_bind(path: &Path, recursive: bool) -> Result<(), SupervisorError> {
    let flags = if recursive {
        libc::MS_BIND | libc::MS_REC
    } else {
        libc::MS_BIND
    };
    mount(Some(path), path, None, flags, None)
}
