//! Which cgroup hierarchies the host has, read from `/proc/self/mountinfo`: pure v2,
//! pure v1 (controllers mounted alone or together) or hybrid. A v2 mount without the
//! controllers we use (as on hosts where v1 holds them all) only serves as a fallback.

use std::path::{Path, PathBuf};

/// The controllers the driver uses.
pub const USED_CONTROLLERS: &[&str] = &[
    "memory", "cpu", "cpuacct", "freezer", "pids", "cpuset", "devices",
];

/// One mounted hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    pub mount_point: PathBuf,
    /// The cgroup path that the mount's root directory shows (usually "/").
    pub mount_root: String,
    pub v2: bool,
    /// v1: controllers from the super options; v2: `cgroup.controllers`.
    pub controllers: Vec<String>,
}

/// All cgroup hierarchies of the host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupLayout {
    pub hierarchies: Vec<Hierarchy>,
}

impl CgroupLayout {
    /// Reads this process's mount table (v2 controllers from their files).
    pub fn detect() -> CgroupLayout {
        let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        CgroupLayout::from_mountinfo(&text, |mount| {
            std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default()
        })
    }

    /// Parses mountinfo text; `v2_controllers` reads a v2 mount's controller list.
    pub fn from_mountinfo(text: &str, v2_controllers: impl Fn(&Path) -> String) -> CgroupLayout {
        let mut hierarchies: Vec<Hierarchy> = Vec::new();
        for line in text.lines() {
            let Some((before, after)) = line.split_once(" - ") else {
                continue;
            };
            let fields: Vec<&str> = before.split(' ').collect();
            let tail: Vec<&str> = after.split(' ').collect();
            if fields.len() < 5 || tail.len() < 3 {
                continue;
            }
            let mount_point = PathBuf::from(unescape(fields[4]));
            let mount_root = unescape(fields[3]);
            let hierarchy = match tail[0] {
                "cgroup" => {
                    let controllers: Vec<String> = tail[2]
                        .split(',')
                        .filter(|opt| {
                            USED_CONTROLLERS.contains(opt)
                                || *opt == "blkio"
                                || opt.starts_with("name=")
                        })
                        .map(str::to_string)
                        .collect();
                    Hierarchy {
                        mount_point,
                        mount_root,
                        v2: false,
                        controllers,
                    }
                }
                "cgroup2" => Hierarchy {
                    controllers: v2_controllers(&mount_point)
                        .split_whitespace()
                        .map(str::to_string)
                        .collect(),
                    mount_point,
                    mount_root,
                    v2: true,
                },
                _ => continue,
            };
            // A later mount of the same place hides the earlier one.
            hierarchies.retain(|h| h.mount_point != hierarchy.mount_point);
            hierarchies.push(hierarchy);
        }
        CgroupLayout { hierarchies }
    }

    /// The v2 hierarchy, if mounted.
    pub fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.v2)
    }

    /// Whether v2 is the host's main hierarchy: no v1 hierarchy carries a controller.
    pub fn v2_is_primary(&self) -> bool {
        self.v2().is_some()
            && !self
                .hierarchies
                .iter()
                .any(|h| !h.v2 && h.controllers.iter().any(|c| !c.starts_with("name=")))
    }

    /// The hierarchy that holds `controller`: a v1 mount carrying it, else v2 when v2 lists it.
    pub fn hierarchy_of(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| !h.v2 && h.controllers.iter().any(|c| c == controller))
            .or_else(|| {
                self.v2()
                    .filter(|h| h.controllers.iter().any(|c| c == controller))
            })
    }

    /// The hierarchies a container gets a group in: every v1 hierarchy with a used
    /// controller, plus v2 when it is primary (all processes must be placed there) or
    /// when no v1 hierarchy carries `devices` (the device filter then lives in v2).
    pub fn placement_hierarchies(&self) -> Vec<&Hierarchy> {
        let mut out: Vec<&Hierarchy> = Vec::new();
        if self.v2_is_primary() {
            out.extend(self.v2());
            return out;
        }
        for controller in USED_CONTROLLERS {
            if let Some(h) = self.hierarchy_of(controller) {
                if !out.iter().any(|o| o.mount_point == h.mount_point) {
                    out.push(h);
                }
            }
        }
        if self.hierarchy_of("devices").is_none() {
            out.extend(self.v2());
        }
        out
    }
}

/// The cgroup of a process for one hierarchy, from `/proc/PID/cgroup` text: the v2 line
/// is "0::/path", v1 lines list their controllers.
pub fn process_cgroup(proc_cgroup: &str, hierarchy: &Hierarchy) -> Option<String> {
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if hierarchy.v2 {
            controllers.is_empty()
        } else {
            !controllers.is_empty()
                && controllers
                    .split(',')
                    .any(|c| hierarchy.controllers.iter().any(|h| h == c))
        };
        matches.then(|| path.to_string())
    })
}

/// The directory of cgroup `path` (as /proc shows it) in `hierarchy`.
pub fn cgroup_dir(hierarchy: &Hierarchy, path: &str) -> PathBuf {
    let relative = path
        .strip_prefix(hierarchy.mount_root.as_str())
        .unwrap_or(path)
        .trim_start_matches('/');
    if relative.is_empty() {
        hierarchy.mount_point.clone()
    } else {
        hierarchy.mount_point.join(relative)
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Some(value) = field
                .get(i + 1..i + 4)
                .and_then(|digits| u8::from_str_radix(digits, 8).ok())
            {
                out.push(value as char);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's layout: one controller per v1 hierarchy, an empty v2 at unified.
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:39 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

    const PURE_V2: &str = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate";

    const V1_COMOUNTED: &str = "\
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory";

    #[test]
    fn hybrid_with_empty_v2_uses_v1_controllers() {
        let layout = CgroupLayout::from_mountinfo(HYBRID, |_| "hugetlb\n".to_string());
        assert!(!layout.v2_is_primary());
        assert_eq!(
            layout.hierarchy_of("memory").map(|h| h.mount_point.clone()),
            Some(PathBuf::from("/sys/fs/cgroup/memory"))
        );
        assert_eq!(
            layout
                .hierarchy_of("cpuacct")
                .map(|h| h.mount_point.clone()),
            Some(PathBuf::from("/sys/fs/cgroup/cpuacct"))
        );
        assert!(layout.hierarchy_of("hugetlb").is_some_and(|h| h.v2));
        let placed: Vec<PathBuf> = layout
            .placement_hierarchies()
            .iter()
            .map(|h| h.mount_point.clone())
            .collect();
        assert_eq!(placed.len(), 5, "{placed:?}");
        assert!(placed.contains(&PathBuf::from("/sys/fs/cgroup/devices")));
        assert!(!placed.contains(&PathBuf::from("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn hybrid_without_v1_devices_places_in_v2_for_the_device_filter() {
        let text: String = HYBRID
            .lines()
            .filter(|l| !l.contains("devices"))
            .map(|l| format!("{l}\n"))
            .collect();
        let layout = CgroupLayout::from_mountinfo(&text, |_| String::new());
        let placed: Vec<PathBuf> = layout
            .placement_hierarchies()
            .iter()
            .map(|h| h.mount_point.clone())
            .collect();
        assert_eq!(placed.len(), 5, "{placed:?}");
        assert!(placed.contains(&PathBuf::from("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn pure_v2_places_in_the_unified_tree() {
        let layout = CgroupLayout::from_mountinfo(PURE_V2, |_| "cpu memory pids".to_string());
        assert!(layout.v2_is_primary());
        assert!(layout.hierarchy_of("memory").is_some_and(|h| h.v2));
        assert!(layout.hierarchy_of("freezer").is_none());
        assert_eq!(layout.placement_hierarchies().len(), 1);
    }

    #[test]
    fn comounted_v1_controllers_share_one_group() {
        let layout = CgroupLayout::from_mountinfo(V1_COMOUNTED, |_| String::new());
        let cpu = layout.hierarchy_of("cpu").map(|h| h.mount_point.clone());
        assert_eq!(
            cpu,
            layout
                .hierarchy_of("cpuacct")
                .map(|h| h.mount_point.clone())
        );
        assert_eq!(layout.placement_hierarchies().len(), 2);
    }

    #[test]
    fn finds_the_cgroup_of_a_process_per_hierarchy() {
        let layout = CgroupLayout::from_mountinfo(HYBRID, |_| String::new());
        let proc_cgroup = "4:memory:/process_api/abc\n1:cpu:/\n0::/\n";
        let memory = layout.hierarchy_of("memory").expect("memory mounted");
        assert_eq!(
            process_cgroup(proc_cgroup, memory).as_deref(),
            Some("/process_api/abc")
        );
        assert_eq!(
            cgroup_dir(memory, "/process_api/abc"),
            PathBuf::from("/sys/fs/cgroup/memory/process_api/abc")
        );
        let v2 = layout.v2().expect("v2 mounted");
        assert_eq!(process_cgroup(proc_cgroup, v2).as_deref(), Some("/"));
        assert_eq!(cgroup_dir(v2, "/"), PathBuf::from("/sys/fs/cgroup/unified"));
    }

    #[test]
    fn unescapes_mount_points() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
