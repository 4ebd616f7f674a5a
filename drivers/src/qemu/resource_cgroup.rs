//! A guest's groups in the memory, block I/O and cpuset controllers, beside its `cpu`
//! group ([`super::cgroup`]): on a v1 host each controller's hierarchy gets the same
//! `machine/qemu-ID-NAME.libvirt-qemu` group holding the whole QEMU process; on a v2 host
//! they are the guest's one group, with the controllers enabled on the way down.
//! `memtune`, `blkiotune` and `numatune` read and write these groups' files the way
//! libvirt 9.0 does.

use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::cgroup::{group_name, partition_dir};
use crate::api::{codes, domains, DriverError, DriverResult};
use crate::lxc::cgroup_layout::{cgroup_dir, process_cgroup, CgroupLayout, Hierarchy};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Controller {
    Memory,
    Blkio,
    Cpuset,
}

const ALL: [Controller; 3] = [Controller::Memory, Controller::Blkio, Controller::Cpuset];

impl Controller {
    fn v1_name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Blkio => "blkio",
            Controller::Cpuset => "cpuset",
        }
    }

    fn v2_name(self) -> &'static str {
        match self {
            Controller::Blkio => "io",
            other => other.v1_name(),
        }
    }

    fn hierarchy(self) -> Option<Hierarchy> {
        let layout = CgroupLayout::detect();
        layout
            .hierarchy_of(self.v1_name())
            .or_else(|| layout.hierarchy_of(self.v2_name()))
            .cloned()
    }
}

/// The guest's group in one controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ResourceGroup {
    pub(super) dir: PathBuf,
    pub(super) v2: bool,
}

/// Puts QEMU (`pid`) in its group of every controller the host has. Best effort per
/// controller: a controller that cannot be used stays unused, as libvirt leaves it.
pub(super) fn place(id: i32, name: &str, pid: i32) {
    for controller in ALL {
        let Some(hierarchy) = controller.hierarchy() else {
            continue;
        };
        let dir = partition_dir(&hierarchy).join(group_name(id, name));
        let placed = if hierarchy.v2 {
            enable_v2(&hierarchy.mount_point, &dir, controller)
        } else {
            place_v1(&hierarchy.mount_point, &dir, controller, pid)
        };
        if let Err(e) = placed {
            tracing::warn!(
                "guest '{name}' is not placed in the {} controller: {e}",
                controller.v1_name()
            );
        }
    }
}

/// Removes the v1 groups of a stopped guest (the v2 group is the `cpu` one, removed there).
pub(super) fn remove(id: i32, name: &str) {
    for controller in ALL {
        if let Some(hierarchy) = controller.hierarchy().filter(|h| !h.v2) {
            let _ = fs::remove_dir(partition_dir(&hierarchy).join(group_name(id, name)));
        }
    }
}

/// The group of `controller` that QEMU process `pid` runs in, if it is a guest group.
pub(super) fn group_of(pid: i32, controller: Controller) -> Option<ResourceGroup> {
    let hierarchy = controller.hierarchy()?;
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = process_cgroup(&text, &hierarchy)?;
    let group = path.strip_suffix("/emulator").unwrap_or(&path);
    if !group.ends_with(".libvirt-qemu") {
        return None;
    }
    let dir = cgroup_dir(&hierarchy, group);
    let file = if hierarchy.v2 {
        match controller {
            Controller::Memory => "memory.max",
            Controller::Blkio => "io.max",
            Controller::Cpuset => "cpuset.mems",
        }
    } else {
        "cgroup.procs"
    };
    dir.join(file).exists().then_some(ResourceGroup {
        dir,
        v2: hierarchy.v2,
    })
}

fn place_v1(mount: &Path, dir: &Path, controller: Controller, pid: i32) -> io::Result<()> {
    let relative = dir
        .strip_prefix(mount)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "group outside the mount"))?;
    let mut current = mount.to_path_buf();
    for component in relative.components() {
        let parent = current.clone();
        current.push(component);
        match fs::create_dir(&current) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        if controller == Controller::Cpuset {
            // A new cpuset group starts empty and refuses tasks until it has CPUs and nodes.
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if read(&current.join(file))?.trim().is_empty() {
                    fs::write(current.join(file), read(&parent.join(file))?.trim())?;
                }
            }
        }
    }
    fs::write(dir.join("cgroup.procs"), pid.to_string())
}

/// Turns `controller` on in every ancestor of the guest's v2 group (and, for the
/// threaded `cpuset`, for the group's own emulator and vCPU sub-groups).
fn enable_v2(mount: &Path, dir: &Path, controller: Controller) -> io::Result<()> {
    let relative = dir
        .strip_prefix(mount)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "group outside the mount"))?;
    let enable = format!("+{}", controller.v2_name());
    let mut current = mount.to_path_buf();
    for component in relative.components() {
        fs::write(current.join("cgroup.subtree_control"), &enable)?;
        current.push(component);
    }
    if controller == Controller::Cpuset {
        fs::write(dir.join("cgroup.subtree_control"), &enable)?;
    }
    Ok(())
}

fn read(path: &Path) -> io::Result<String> {
    fs::read_to_string(path)
}

/// libvirt's error for a cgroup file it could not write.
pub(super) fn write_error(path: &Path, e: &io::Error) -> DriverError {
    DriverError::new(
        codes::SYSTEM_ERROR,
        domains::CGROUP,
        format!("Unable to write to '{}': {e}", path.display()),
    )
}

pub(super) fn read_error(path: &Path, e: &io::Error) -> DriverError {
    DriverError::new(
        codes::SYSTEM_ERROR,
        domains::CGROUP,
        format!("Unable to read from '{}': {e}", path.display()),
    )
}

impl ResourceGroup {
    pub(super) fn write(&self, file: &str, value: &str) -> DriverResult<()> {
        let path = self.dir.join(file);
        fs::write(&path, value).map_err(|e| write_error(&path, &e))
    }

    pub(super) fn read(&self, file: &str) -> DriverResult<String> {
        let path = self.dir.join(file);
        read(&path).map_err(|e| read_error(&path, &e))
    }

    pub(super) fn has(&self, file: &str) -> bool {
        self.dir.join(file).exists()
    }

    /// The group's sub-groups (emulator, vCPUs), by name.
    pub(super) fn sub_groups(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Writes `file` of sub-group `sub`.
    pub(super) fn write_in(&self, sub: &str, file: &str, value: &str) -> DriverResult<()> {
        let path = self.dir.join(sub).join(file);
        fs::write(&path, value).map_err(|e| write_error(&path, &e))
    }
}

/// `MAJ:MIN` of block device `path`, as libvirt writes it into blkio files.
pub(super) fn block_dev_string(path: &str) -> DriverResult<String> {
    let meta = fs::metadata(path).map_err(|e| {
        DriverError::new(
            codes::SYSTEM_ERROR,
            domains::CGROUP,
            format!("Path '{path}' is not accessible: {e}"),
        )
    })?;
    if !meta.file_type().is_block_device() {
        return Err(DriverError::new(
            codes::SYSTEM_ERROR,
            domains::CGROUP,
            format!("Path '{path}' must be a block device: Invalid argument"),
        ));
    }
    let rdev = meta.rdev();
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    Ok(format!("{major}:{minor}"))
}

/// The value after `dev` ("MAJ:MIN") in a per-device cgroup file (`None`: no line).
pub(super) fn device_value<'a>(text: &'a str, dev: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (d, rest) = line.split_once(' ')?;
        (d == dev).then_some(rest.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lines_are_found() {
        let text = "8:0 100\n253:1 rbps=4096 wbps=max riops=max wiops=max\n";
        assert_eq!(device_value(text, "8:0"), Some("100"));
        assert_eq!(
            device_value(text, "253:1"),
            Some("rbps=4096 wbps=max riops=max wiops=max")
        );
        assert_eq!(device_value(text, "8:1"), None);
    }

    #[test]
    fn only_block_devices_have_numbers() {
        assert!(block_dev_string("/dev/null").is_err());
        assert!(block_dev_string("/nonexistent").is_err());
    }
}
