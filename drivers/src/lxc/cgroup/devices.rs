//! The device allow-list of a container's cgroup: the nodes libvirt 9.0 admits (the
//! memory devices, `/dev/tty`, `/dev/ptmx`, every pty and `/dev/fuse`), nothing else.
//! Without it, root in a container without `<idmap>` can open any host device whose node
//! it finds or creates (a disk, `/dev/net/tun`, `/dev/mem`).
//!
//! v1 hierarchies get `devices.deny` / `devices.allow` lines; v2 a `BPF_CGROUP_DEVICE`
//! program (see [`super::device_bpf`]).

use std::path::Path;

use super::device_bpf;
use crate::lxc::error::LxcError;

/// Major of `/dev/null`, `/dev/zero`, `/dev/full`, `/dev/random`, `/dev/urandom`.
const MEM_MAJOR: u32 = 1;
/// Major of `/dev/tty` and `/dev/ptmx`.
const TTY_MAJOR: u32 = 5;
/// Major of the Unix98 pty slaves a devpts instance hands out.
const PTY_MAJOR: u32 = 136;
/// Major and minor of `/dev/fuse`.
const FUSE: (u32, u32) = (10, 229);

/// One allowed character device: a major and a minor, or every minor of the major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    pub major: u32,
    pub minor: Option<u32>,
}

impl DeviceRule {
    const fn exact(major: u32, minor: u32) -> Self {
        DeviceRule {
            major,
            minor: Some(minor),
        }
    }

    /// The v1 `devices.allow` line (read, write and mknod, as libvirt grants).
    pub fn v1_line(&self) -> String {
        match self.minor {
            Some(minor) => format!("c {}:{minor} rwm", self.major),
            None => format!("c {}:* rwm", self.major),
        }
    }
}

/// libvirt 9.0's list for every container, plus `extra` (the console's own pty when the
/// host numbers it outside major 136).
pub fn allow_list(extra: Option<(u32, u32)>) -> Vec<DeviceRule> {
    let mut rules = vec![
        DeviceRule::exact(MEM_MAJOR, 3), // null
        DeviceRule::exact(MEM_MAJOR, 5), // zero
        DeviceRule::exact(MEM_MAJOR, 7), // full
        DeviceRule::exact(MEM_MAJOR, 8), // random
        DeviceRule::exact(MEM_MAJOR, 9), // urandom
        DeviceRule::exact(TTY_MAJOR, 0), // tty
        DeviceRule::exact(TTY_MAJOR, 2), // ptmx
        DeviceRule::exact(FUSE.0, FUSE.1),
        DeviceRule {
            major: PTY_MAJOR,
            minor: None,
        },
    ];
    if let Some((major, minor)) = extra {
        if major != PTY_MAJOR {
            rules.push(DeviceRule::exact(major, minor));
        }
    }
    rules
}

/// The major and minor of a character device node.
pub fn char_device_of(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(path).ok()?;
    if !meta.file_type().is_char_device() {
        return None;
    }
    let rdev = meta.rdev();
    Some((libc::major(rdev), libc::minor(rdev)))
}

/// Denies everything in a v1 `devices` group, then allows `rules`. The group must be
/// fresh (no children): the kernel refuses a blanket deny otherwise.
pub fn restrict_v1(dir: &Path, rules: &[DeviceRule]) -> Result<(), LxcError> {
    let deny = dir.join("devices.deny");
    std::fs::write(&deny, "a").map_err(|e| LxcError::io("cannot write cgroup file", &deny, e))?;
    let allow = dir.join("devices.allow");
    for rule in rules {
        std::fs::write(&allow, rule.v1_line())
            .map_err(|e| LxcError::io("cannot write cgroup file", &allow, e))?;
    }
    Ok(())
}

/// Attaches a device program admitting only `rules` to a v2 group.
pub fn restrict_v2(dir: &Path, rules: &[DeviceRule]) -> Result<(), LxcError> {
    device_bpf::attach(dir, rules).map_err(|e| {
        LxcError::Failed(format!(
            "cannot attach the device filter to cgroup '{}': {e}",
            dir.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_what_libvirt_admits() {
        let lines: Vec<String> = allow_list(None).iter().map(DeviceRule::v1_line).collect();
        assert_eq!(
            lines,
            [
                "c 1:3 rwm",
                "c 1:5 rwm",
                "c 1:7 rwm",
                "c 1:8 rwm",
                "c 1:9 rwm",
                "c 5:0 rwm",
                "c 5:2 rwm",
                "c 10:229 rwm",
                "c 136:* rwm"
            ]
        );
        assert_eq!(allow_list(Some((136, 4))).len(), 9, "already covered");
        assert_eq!(
            allow_list(Some((137, 1))).last(),
            Some(&DeviceRule::exact(137, 1))
        );
    }

    #[test]
    fn v1_group_gets_deny_all_then_allows() {
        let dir = std::env::temp_dir().join(format!("lxc-devcg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fake group");
        restrict_v1(&dir, &allow_list(None)).expect("written");
        assert_eq!(
            std::fs::read_to_string(dir.join("devices.deny")).expect("deny"),
            "a"
        );
        // Each write replaces the plain file; the kernel file appends instead.
        assert_eq!(
            std::fs::read_to_string(dir.join("devices.allow")).expect("allow"),
            "c 136:* rwm"
        );
        assert_eq!(char_device_of(Path::new("/dev/null")), Some((1, 3)));
        assert_eq!(char_device_of(&dir), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
