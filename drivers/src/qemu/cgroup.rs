//! A QEMU guest's cgroup, laid out as libvirt lays it out without systemd-machined:
//! `machine/qemu-ID-NAME.libvirt-qemu` beside the daemon's own group in the hierarchy that
//! holds the `cpu` controller, with an `emulator` sub-group for QEMU's own threads and a
//! `vcpuN` sub-group per vCPU thread. `virsh schedinfo` then reads and writes the kernel's
//! values. Only the `cpu` hierarchy is used: the other controllers carry no tuning here.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::lxc::cgroup_layout::{cgroup_dir, process_cgroup, CgroupLayout, Hierarchy};

/// What libvirt reports for an unlimited v2 quota (`cpu.max` "max").
pub(super) const V2_QUOTA_MAX: i64 = 17_592_186_044_415;
const EMULATOR: &str = "emulator";
const PARTITION: &str = "machine";

/// The guest's group in the `cpu` hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct GuestCgroup {
    pub(super) dir: PathBuf,
    pub(super) v2: bool,
}

/// CFS bandwidth of one group: period in µs, quota in µs (-1: unlimited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Bandwidth {
    pub(super) period: u64,
    pub(super) quota: i64,
}

/// libvirt's group name for guest `name` with domain id `id`: characters a machine name
/// may not hold are dropped and the name is cut to 64 characters.
pub(super) fn group_name(id: i32, name: &str) -> String {
    let mut machine = format!("qemu-{id}-");
    for c in name.chars() {
        if machine.len() >= 64 {
            break;
        }
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            machine.push(c);
        }
    }
    format!("{}.libvirt-qemu", machine.trim_end_matches('-'))
}

fn cpu_hierarchy() -> Option<Hierarchy> {
    CgroupLayout::detect().hierarchy_of("cpu").cloned()
}

/// Where guest groups go: the daemon's own group (without a trailing service unit)
/// plus the machine partition.
pub(super) fn partition_dir(hierarchy: &Hierarchy) -> PathBuf {
    let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let own = process_cgroup(&own, hierarchy).unwrap_or_default();
    let trimmed = own.trim_end_matches('/');
    let base = match trimmed.rsplit_once('/') {
        Some((parent, last)) if last.ends_with(".service") || last.ends_with(".scope") => parent,
        _ => trimmed,
    };
    cgroup_dir(hierarchy, &format!("{base}/{PARTITION}"))
}

impl GuestCgroup {
    /// Creates the group of guest `id`/`name` and moves QEMU (`pid`) into its emulator
    /// sub-group and each vCPU thread (index, tid) into its `vcpuN` sub-group.
    pub(super) fn place(
        id: i32,
        name: &str,
        pid: i32,
        vcpu_threads: &[(u32, i32)],
    ) -> io::Result<GuestCgroup> {
        let hierarchy = cpu_hierarchy()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no cpu controller"))?;
        let partition = partition_dir(&hierarchy);
        let group = GuestCgroup {
            dir: partition.join(group_name(id, name)),
            v2: hierarchy.v2,
        };
        if group.v2 {
            enable_cpu_below(&hierarchy.mount_point, &group.dir)?;
        } else {
            fs::create_dir_all(&group.dir)?;
        }
        let threads_file = if group.v2 { "cgroup.threads" } else { "tasks" };
        let emulator = group.sub_group(EMULATOR)?;
        fs::write(emulator.join("cgroup.procs"), pid.to_string())?;
        for (index, tid) in vcpu_threads {
            let dir = group.sub_group(&format!("vcpu{index}"))?;
            fs::write(dir.join(threads_file), tid.to_string())?;
        }
        Ok(group)
    }

    /// The group QEMU process `pid` was placed in: the parent of its emulator group.
    pub(super) fn of_process(pid: i32) -> Option<GuestCgroup> {
        let hierarchy = cpu_hierarchy()?;
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let path = process_cgroup(&text, &hierarchy)?;
        let group = path.strip_suffix(&format!("/{EMULATOR}"))?;
        group.ends_with(".libvirt-qemu").then(|| GuestCgroup {
            dir: cgroup_dir(&hierarchy, group),
            v2: hierarchy.v2,
        })
    }

    /// Removes the group of a stopped guest. Best effort: a group still holding
    /// processes stays.
    pub(super) fn remove(id: i32, name: &str) {
        let Some(hierarchy) = cpu_hierarchy() else {
            return;
        };
        let dir = partition_dir(&hierarchy).join(group_name(id, name));
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.path().is_dir() {
                    let _ = fs::remove_dir(entry.path());
                }
            }
        }
        let _ = fs::remove_dir(&dir);
    }

    /// `emulator` or `vcpuN` below the group, created when missing.
    fn sub_group(&self, name: &str) -> io::Result<PathBuf> {
        let dir = self.dir.join(name);
        match fs::create_dir(&dir) {
            Ok(()) => {
                if self.v2 {
                    // vCPU threads leave QEMU's process group: threaded sub-groups.
                    fs::write(dir.join("cgroup.type"), "threaded")?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        Ok(dir)
    }

    /// Directory of `sub` (`None`: the group itself).
    pub(super) fn path(&self, sub: Option<&str>) -> PathBuf {
        sub.map_or_else(|| self.dir.clone(), |s| self.dir.join(s))
    }

    /// The `vcpuN` sub-groups, in vCPU order.
    pub(super) fn vcpu_groups(&self) -> Vec<String> {
        let mut indexes: Vec<u32> = fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str()?.strip_prefix("vcpu")?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        indexes.sort_unstable();
        indexes.into_iter().map(|i| format!("vcpu{i}")).collect()
    }

    /// `cpu.shares` (v1) or `cpu.weight` (v2), which libvirt reports unconverted.
    pub(super) fn shares(&self) -> io::Result<u64> {
        parse(&read(&self.dir.join(self.shares_file()))?)
    }

    pub(super) fn set_shares(&self, shares: u64) -> io::Result<()> {
        fs::write(self.dir.join(self.shares_file()), shares.to_string())
    }

    fn shares_file(&self) -> &'static str {
        if self.v2 {
            "cpu.weight"
        } else {
            "cpu.shares"
        }
    }

    pub(super) fn bandwidth(&self, dir: &Path) -> io::Result<Bandwidth> {
        if self.v2 {
            parse_cpu_max(&read(&dir.join("cpu.max"))?)
        } else {
            Ok(Bandwidth {
                period: parse(&read(&dir.join("cpu.cfs_period_us"))?)?,
                quota: parse(&read(&dir.join("cpu.cfs_quota_us"))?)?,
            })
        }
    }

    /// Writes the period and/or quota of one group (a negative quota: unlimited).
    pub(super) fn set_bandwidth(
        &self,
        dir: &Path,
        period: Option<u64>,
        quota: Option<i64>,
    ) -> io::Result<()> {
        if self.v2 {
            let now = self.bandwidth(dir)?;
            let quota = quota.unwrap_or(now.quota);
            let quota = if quota < 0 || quota == V2_QUOTA_MAX {
                "max".to_string()
            } else {
                quota.to_string()
            };
            let period = period.unwrap_or(now.period);
            return fs::write(dir.join("cpu.max"), format!("{quota} {period}"));
        }
        if let Some(period) = period {
            fs::write(dir.join("cpu.cfs_period_us"), period.to_string())?;
        }
        if let Some(quota) = quota {
            let quota = if quota < 0 { -1 } else { quota };
            fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
        }
        Ok(())
    }
}

/// Turns the `cpu` controller on from the v2 root down to `dir` (created on the way) and
/// for `dir`'s own sub-groups.
fn enable_cpu_below(mount: &Path, dir: &Path) -> io::Result<()> {
    let relative = dir
        .strip_prefix(mount)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "group outside the mount"))?;
    let mut current = mount.to_path_buf();
    for component in relative.components() {
        let _ = fs::write(current.join("cgroup.subtree_control"), "+cpu");
        current.push(component);
        match fs::create_dir(&current) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    fs::write(dir.join("cgroup.subtree_control"), "+cpu")
}

fn read(path: &Path) -> io::Result<String> {
    fs::read_to_string(path)
}

fn parse<T: std::str::FromStr>(text: &str) -> io::Result<T> {
    text.trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad value {text:?}")))
}

/// v2 `cpu.max`: "QUOTA PERIOD" with "max" for no quota.
fn parse_cpu_max(text: &str) -> io::Result<Bandwidth> {
    let mut parts = text.split_whitespace();
    let quota = match parts.next() {
        Some("max") => V2_QUOTA_MAX,
        Some(q) => parse(q)?,
        None => return Err(io::Error::new(io::ErrorKind::InvalidData, "empty cpu.max")),
    };
    let period = parse(parts.next().unwrap_or_default())?;
    Ok(Bandwidth { period, quota })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_libvirt() {
        assert_eq!(group_name(1, "tiny"), "qemu-1-tiny.libvirt-qemu");
        assert_eq!(group_name(7, "a b/c"), "qemu-7-abc.libvirt-qemu");
        assert!(group_name(3, &"x".repeat(200)).len() <= 64 + ".libvirt-qemu".len());
    }

    #[test]
    fn cpu_max_is_parsed() {
        assert_eq!(
            parse_cpu_max("max 100000\n").expect("max"),
            Bandwidth {
                period: 100_000,
                quota: V2_QUOTA_MAX
            }
        );
        assert_eq!(
            parse_cpu_max("50000 20000").expect("limited"),
            Bandwidth {
                period: 20_000,
                quota: 50_000
            }
        );
        assert!(parse_cpu_max("").is_err());
    }

    #[test]
    fn v1_files_are_read_and_written() {
        let dir = TempDir(std::env::temp_dir().join(format!("qemu-cg-{}", std::process::id())));
        fs::create_dir_all(dir.path()).expect("tempdir");
        let group = GuestCgroup {
            dir: dir.path().to_path_buf(),
            v2: false,
        };
        fs::write(dir.path().join("cpu.shares"), "1024\n").expect("shares");
        fs::write(dir.path().join("cpu.cfs_period_us"), "100000\n").expect("period");
        fs::write(dir.path().join("cpu.cfs_quota_us"), "-1\n").expect("quota");
        assert_eq!(group.shares().expect("read"), 1024);
        group.set_shares(512).expect("write");
        assert_eq!(group.shares().expect("read"), 512);
        group
            .set_bandwidth(dir.path(), None, Some(20_000))
            .expect("quota");
        assert_eq!(
            group.bandwidth(dir.path()).expect("read"),
            Bandwidth {
                period: 100_000,
                quota: 20_000
            }
        );
    }

    struct TempDir(PathBuf);

    impl TempDir {
        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}
