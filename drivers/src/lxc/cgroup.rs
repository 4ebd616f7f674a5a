//! A container's cgroup: `<partition>/NAME.libvirt-lxc` below the creator's own cgroup in
//! every hierarchy that carries a controller we use, with its memory and CPU limits,
//! device allow-list, freezing, accounting and removal.

mod device_bpf;
pub mod devices;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cgroup_layout::{cgroup_dir, process_cgroup, CgroupLayout, Hierarchy};
use super::error::LxcError;
use devices::DeviceRule;

/// How long removal waits for the kernel to let go of the last dying processes.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(10);
/// CFS period used for the vCPU quota.
const CPU_PERIOD_US: u64 = 100_000;

/// One directory of the container's group in one hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDir {
    pub hierarchy: Hierarchy,
    pub dir: PathBuf,
}

/// The container's group in all hierarchies it lives in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerCgroup {
    pub dirs: Vec<GroupDir>,
}

/// The group name libvirt gives a container.
pub fn group_name(name: &str) -> String {
    format!("{name}.libvirt-lxc")
}

/// The base cgroup a new partition goes under: the creator's own cgroup, minus a trailing
/// service unit (libvirt puts machines beside the daemon's service, not inside it).
fn base_path(own: &str) -> String {
    let trimmed = own.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, last)) if last.ends_with(".service") || last.ends_with(".scope") => {
            parent.to_string()
        }
        _ => trimmed.to_string(),
    }
}

impl ContainerCgroup {
    /// Creates the group for container `name` under `partition` in each hierarchy.
    pub fn create(
        layout: &CgroupLayout,
        partition: &str,
        name: &str,
    ) -> Result<ContainerCgroup, LxcError> {
        let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let mut dirs = Vec::new();
        for hierarchy in layout.placement_hierarchies() {
            let base = base_path(&process_cgroup(&own, hierarchy).unwrap_or_default());
            let path = format!(
                "{}/{}/{}",
                base,
                partition.trim_matches('/'),
                group_name(name)
            );
            let dir = cgroup_dir(hierarchy, &path.replace("//", "/"));
            if hierarchy.v2 {
                enable_v2_controllers(&hierarchy.mount_point, &dir);
            }
            fs::create_dir_all(&dir).map_err(|e| LxcError::io("cannot create cgroup", &dir, e))?;
            dirs.push(GroupDir {
                hierarchy: hierarchy.clone(),
                dir,
            });
        }
        Ok(ContainerCgroup { dirs })
    }

    /// The group a running process is in (used after the daemon restarts).
    pub fn of_process(layout: &CgroupLayout, pid: i32) -> Option<ContainerCgroup> {
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let dirs = layout
            .placement_hierarchies()
            .into_iter()
            .filter_map(|hierarchy| {
                let path = process_cgroup(&text, hierarchy)?;
                Some(GroupDir {
                    dir: cgroup_dir(hierarchy, &path),
                    hierarchy: hierarchy.clone(),
                })
            })
            .collect();
        Some(ContainerCgroup { dirs })
    }

    fn dir_for(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.hierarchy.controllers.iter().any(|c| c == controller))
            .map(|d| d.dir.as_path())
    }

    /// Moves `pid` into every directory of the group.
    pub fn add_process(&self, pid: i32) -> Result<(), LxcError> {
        for dir in &self.dirs {
            write_file(&dir.dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Hard memory limit; processes allocating past it are reclaimed from or killed.
    pub fn set_memory_limit(&self, kib: u64) -> Result<(), LxcError> {
        let Some(dir) = self.dir_for("memory") else {
            return Ok(());
        };
        let bytes = kib.saturating_mul(1024).to_string();
        if self.is_v2(dir) {
            write_file(&dir.join("memory.max"), &bytes)?;
            let swap = dir.join("memory.swap.max");
            if swap.exists() {
                write_file(&swap, "0")?;
            }
        } else {
            write_file(&dir.join("memory.limit_in_bytes"), &bytes)?;
            let memsw = dir.join("memory.memsw.limit_in_bytes");
            if memsw.exists() {
                write_file(&memsw, &bytes)?;
            }
        }
        Ok(())
    }

    /// Limits the devices the container may open or create to `rules`: the v1 `devices`
    /// controller where a v1 hierarchy carries it, else a device program on the v2 group.
    /// Fails when neither exists: a container must not start with every host device open.
    pub fn restrict_devices(&self, rules: &[DeviceRule]) -> Result<(), LxcError> {
        let v1 = self
            .dirs
            .iter()
            .find(|d| !d.hierarchy.v2 && d.hierarchy.controllers.iter().any(|c| c == "devices"));
        if let Some(group) = v1 {
            return devices::restrict_v1(&group.dir, rules);
        }
        if let Some(group) = self.dirs.iter().find(|d| d.hierarchy.v2) {
            return devices::restrict_v2(&group.dir, rules);
        }
        Err(LxcError::Failed(
            "neither a cgroup v1 'devices' hierarchy nor cgroup v2 is mounted: the \
             container's access to host devices cannot be limited"
                .into(),
        ))
    }

    /// Caps CPU use at `vcpus` CPUs' worth of time.
    pub fn set_vcpu_quota(&self, vcpus: u32) -> Result<(), LxcError> {
        let Some(dir) = self.dir_for("cpu") else {
            return Ok(());
        };
        let quota = CPU_PERIOD_US * u64::from(vcpus.max(1));
        if self.is_v2(dir) {
            write_file(&dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"))
        } else {
            write_file(&dir.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
            write_file(&dir.join("cpu.cfs_quota_us"), &quota.to_string())
        }
    }

    /// A v1 cpuset group starts empty and must inherit its parent's cpus and mems.
    pub fn init_cpuset(&self) -> Result<(), LxcError> {
        let Some(dir) = self.dir_for("cpuset") else {
            return Ok(());
        };
        if self.is_v2(dir) {
            return Ok(());
        }
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let mut chain = Vec::new();
            let mut cursor = Some(dir);
            while let Some(d) = cursor {
                chain.push(d);
                if d == self.mount_of(dir) {
                    break;
                }
                cursor = d.parent();
            }
            for d in chain.iter().rev() {
                let current = fs::read_to_string(d.join(file)).unwrap_or_default();
                if current.trim().is_empty() {
                    let parent = d.parent().map(|p| p.join(file));
                    if let Some(value) = parent.and_then(|p| fs::read_to_string(p).ok()) {
                        write_file(&d.join(file), value.trim())?;
                    }
                }
            }
        }
        Ok(())
    }

    fn mount_of<'a>(&'a self, dir: &'a Path) -> &'a Path {
        self.dirs
            .iter()
            .find(|d| d.dir == dir)
            .map(|d| d.hierarchy.mount_point.as_path())
            .unwrap_or(dir)
    }

    fn is_v2(&self, dir: &Path) -> bool {
        self.dirs.iter().any(|d| d.dir == dir && d.hierarchy.v2)
    }

    /// Freezes (true) or thaws every process of the container.
    pub fn set_frozen(&self, frozen: bool) -> Result<(), LxcError> {
        if let Some(dir) = self.dir_for("freezer") {
            let value = if frozen { "FROZEN" } else { "THAWED" };
            return write_file(&dir.join("freezer.state"), value);
        }
        if let Some(v2) = self.dirs.iter().find(|d| d.hierarchy.v2) {
            return write_file(
                &v2.dir.join("cgroup.freeze"),
                if frozen { "1" } else { "0" },
            );
        }
        Err(LxcError::Failed(
            "no freezer controller is available to suspend the container".into(),
        ))
    }

    /// CPU time used by the container in nanoseconds.
    pub fn cpu_time_ns(&self) -> u64 {
        if let Some(dir) = self.dir_for("cpuacct") {
            if !self.is_v2(dir) {
                return read_number(&dir.join("cpuacct.usage")).unwrap_or(0);
            }
        }
        self.dirs
            .iter()
            .filter(|d| d.hierarchy.v2)
            .find_map(|d| {
                let stat = fs::read_to_string(d.dir.join("cpu.stat")).ok()?;
                stat.lines()
                    .find_map(|l| l.strip_prefix("usage_usec "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .map(|usec| usec * 1000)
            .unwrap_or(0)
    }

    /// Memory currently charged to the container, in KiB.
    pub fn memory_usage_kib(&self) -> Option<u64> {
        let dir = self.dir_for("memory")?;
        let file = if self.is_v2(dir) {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        };
        read_number(&dir.join(file)).map(|b| b / 1024)
    }

    /// Every process in the container's group.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .dirs
            .iter()
            .filter_map(|d| fs::read_to_string(d.dir.join("cgroup.procs")).ok())
            .flat_map(|text| {
                text.lines()
                    .filter_map(|l| l.trim().parse::<i32>().ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// SIGKILLs everything left in the group (a thawed group, so the kill is delivered).
    pub fn kill_all(&self) {
        let _ = self.set_frozen(false);
        for pid in self.pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// Removes the group once its processes are gone (they may take a moment to exit).
    pub fn remove(&self) -> Result<(), LxcError> {
        let deadline = Instant::now() + REMOVE_TIMEOUT;
        let mut pause = Duration::from_millis(2);
        for dir in &self.dirs {
            loop {
                match fs::remove_dir(&dir.dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if Instant::now() < deadline => {
                        let _ = e;
                        self.kill_all();
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_millis(50));
                    }
                    Err(e) => return Err(LxcError::io("cannot remove cgroup", &dir.dir, e)),
                }
            }
        }
        Ok(())
    }

    /// Whether every directory of the group is gone.
    pub fn is_removed(&self) -> bool {
        self.dirs.iter().all(|d| !d.dir.exists())
    }
}

/// Lets the new group use the controllers its ancestors have, as far as the kernel allows
/// (a parent with processes of its own cannot delegate; limits are then skipped).
fn enable_v2_controllers(mount: &Path, dir: &Path) {
    let Ok(relative) = dir.strip_prefix(mount) else {
        return;
    };
    let mut current = mount.to_path_buf();
    for component in relative.components() {
        let available = fs::read_to_string(current.join("cgroup.controllers")).unwrap_or_default();
        let wanted: Vec<String> = available
            .split_whitespace()
            .filter(|c| matches!(*c, "memory" | "cpu" | "pids" | "cpuset"))
            .map(|c| format!("+{c}"))
            .collect();
        if !wanted.is_empty() {
            let _ = fs::write(current.join("cgroup.subtree_control"), wanted.join(" "));
        }
        current.push(component);
        let _ = fs::create_dir(&current);
    }
}

fn write_file(path: &Path, value: &str) -> Result<(), LxcError> {
    fs::write(path, value).map_err(|e| LxcError::io("cannot write cgroup file", path, e))
}

fn read_number(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_go_beside_the_daemon_service() {
        assert_eq!(base_path("/system.slice/libvirtd.service"), "/system.slice");
        assert_eq!(base_path("/process_api/abc"), "/process_api/abc");
        assert_eq!(base_path("/"), "");
        assert_eq!(group_name("c1"), "c1.libvirt-lxc");
    }

    #[test]
    fn devices_go_to_the_v1_controller_and_a_group_without_any_is_refused() {
        let root = std::env::temp_dir().join(format!("lxc-cg-dev-{}", std::process::id()));
        let dir = root.join("devices/m/c.libvirt-lxc");
        fs::create_dir_all(&dir).expect("fake tree");
        let group = ContainerCgroup {
            dirs: vec![GroupDir {
                dir: dir.clone(),
                hierarchy: Hierarchy {
                    mount_point: root.join("devices"),
                    mount_root: "/".into(),
                    v2: false,
                    controllers: vec!["devices".into()],
                },
            }],
        };
        group
            .restrict_devices(&devices::allow_list(None))
            .expect("v1 lines written");
        assert_eq!(
            fs::read_to_string(dir.join("devices.deny")).expect("deny"),
            "a"
        );
        let err = ContainerCgroup::default()
            .restrict_devices(&devices::allow_list(None))
            .expect_err("no controller at all");
        assert!(err.to_string().contains("cannot be limited"), "{err}");
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn group_directories_follow_own_placement() {
        let root = std::env::temp_dir().join(format!("lxc-cg-{}", std::process::id()));
        let hierarchy = Hierarchy {
            mount_point: root.join("memory"),
            mount_root: "/".into(),
            v2: false,
            controllers: vec!["memory".into()],
        };
        fs::create_dir_all(root.join("memory/m/c.libvirt-lxc")).expect("fake tree");
        let group = ContainerCgroup {
            dirs: vec![GroupDir {
                dir: root.join("memory/m/c.libvirt-lxc"),
                hierarchy,
            }],
        };
        group.set_memory_limit(1024).expect("limit written");
        let written = fs::read_to_string(root.join("memory/m/c.libvirt-lxc/memory.limit_in_bytes"))
            .expect("limit file");
        assert_eq!(written, "1048576");
        fs::write(
            root.join("memory/m/c.libvirt-lxc/memory.usage_in_bytes"),
            "4096\n",
        )
        .expect("usage file");
        assert_eq!(group.memory_usage_kib(), Some(4));
        assert!(group.set_frozen(true).is_err(), "no freezer in this layout");
        let _ = fs::remove_dir_all(&root);
    }
}
