//! `virNodeGetInfo` for this host: CPU counts, clock, NUMA node count and memory,
//! computed from /proc/cpuinfo and /sys/devices/system exactly the way libvirt does,
//! including its fallback when the topology does not multiply out.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use super::arch::host_arch_name;
use super::cpuinfo::parse_mhz;
use super::sysfs::{numbered_entries, read_optional_cpu_list, read_optional_i64, HostRoots};

/// What `virsh nodeinfo` prints, for this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostNodeInfo {
    /// Canonical architecture name, e.g. "x86_64".
    pub model: String,
    pub memory_kib: u64,
    /// Online CPUs.
    pub cpus: u32,
    pub mhz: u32,
    pub nodes: u32,
    /// Sockets per node.
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// Threads per core.
    pub threads: u32,
}

impl From<HostNodeInfo> for crate::api::NodeInfo {
    fn from(info: HostNodeInfo) -> Self {
        crate::api::NodeInfo {
            model: info.model,
            memory_kib: info.memory_kib,
            cpus: info.cpus,
            mhz: info.mhz,
            nodes: info.nodes,
            sockets: info.sockets,
            cores: info.cores,
            threads: info.threads,
        }
    }
}

/// Node information of the running host.
pub fn node_info() -> io::Result<HostNodeInfo> {
    node_info_at(&HostRoots::default(), &host_arch_name())
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Node information read from the trees under `roots` for a host of architecture `arch`.
pub(crate) fn node_info_at(roots: &HostRoots, arch: &str) -> io::Result<HostNodeInfo> {
    let cpuinfo = std::fs::read_to_string(roots.cpuinfo())?;
    let mhz = parse_mhz(&cpuinfo, arch);
    let topology = cpu_topology(roots, arch)?;
    Ok(HostNodeInfo {
        model: arch.to_string(),
        memory_kib: total_memory_kib(roots)?,
        cpus: topology.cpus,
        mhz,
        nodes: topology.nodes,
        sockets: topology.sockets,
        cores: topology.cores,
        threads: topology.threads,
    })
}

/// CPU counts of the whole host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CpuTopology {
    pub(crate) cpus: u32,
    pub(crate) nodes: u32,
    pub(crate) sockets: u32,
    pub(crate) cores: u32,
    pub(crate) threads: u32,
}

/// Counts of one directory of CPUs (a NUMA node, or all CPUs).
#[derive(Default)]
struct GroupCounts {
    processors: u32,
    sockets: u32,
    cores: u32,
    threads: u32,
}

/// Socket of a CPU: a missing file or a negative id (no socket information) means 0.
pub(crate) fn cpu_socket(roots: &HostRoots, cpu: u32) -> io::Result<u32> {
    let id = read_optional_i64(&roots.cpu_dir(cpu).join("topology/physical_package_id"))?;
    Ok(id.filter(|&v| v >= 0).unwrap_or(0) as u32)
}

/// Die of a CPU, 0 when unknown.
pub(crate) fn cpu_die(roots: &HostRoots, cpu: u32) -> io::Result<u32> {
    let id = read_optional_i64(&roots.cpu_dir(cpu).join("topology/die_id"))?;
    Ok(id.filter(|&v| v >= 0).unwrap_or(0) as u32)
}

/// Core of a CPU, 0 when unknown.
pub(crate) fn cpu_core(roots: &HostRoots, cpu: u32) -> io::Result<u32> {
    let id = read_optional_i64(&roots.cpu_dir(cpu).join("topology/core_id"))?;
    Ok(id.filter(|&v| v >= 0).unwrap_or(0) as u32)
}

/// Hardware threads sharing the core of `cpu`; just the CPU itself when unknown.
pub(crate) fn cpu_siblings(roots: &HostRoots, cpu: u32) -> io::Result<BTreeSet<u32>> {
    let list = read_optional_cpu_list(&roots.cpu_dir(cpu).join("topology/thread_siblings_list"))?;
    Ok(list.unwrap_or_else(|| BTreeSet::from([cpu])))
}

fn cpu_set(roots: &HostRoots, name: &str) -> io::Result<BTreeSet<u32>> {
    let path = roots.system().join("cpu").join(name);
    read_optional_cpu_list(&path)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("cannot read {}", path.display()),
        )
    })
}

/// Counts the CPUs listed (as `cpuN` entries) in `dir`; offline ones are added to `offline`.
fn count_group(
    roots: &HostRoots,
    dir: &Path,
    arch: &str,
    present: &BTreeSet<u32>,
    online: &BTreeSet<u32>,
    offline: &mut u32,
) -> io::Result<GroupCounts> {
    let members: Vec<u32> = numbered_entries(dir, "cpu")?
        .into_iter()
        .filter(|cpu| present.contains(cpu))
        .collect();
    let mut cores_per_socket: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for &cpu in members.iter().filter(|cpu| online.contains(cpu)) {
        cores_per_socket.entry(cpu_socket(roots, cpu)?).or_default();
    }
    let mut counts = GroupCounts::default();
    for &cpu in &members {
        if !online.contains(&cpu) {
            *offline += 1;
            continue;
        }
        counts.processors += 1;
        let socket = cpu_socket(roots, cpu)?;
        // On s390 every logical CPU is reported as its own core.
        let core = if arch.starts_with("s390") {
            cpu
        } else {
            cpu_core(roots, cpu)?
        };
        cores_per_socket
            .get_mut(&socket)
            .ok_or_else(|| invalid("CPU socket topology has changed"))?
            .insert(core);
        counts.threads = counts.threads.max(cpu_siblings(roots, cpu)?.len() as u32);
    }
    counts.sockets = cores_per_socket.len() as u32;
    counts.cores = cores_per_socket
        .values()
        .map(|cores| cores.len() as u32)
        .max()
        .unwrap_or(0);
    Ok(counts)
}

/// NUMA node ids present under /sys/devices/system/node, or `None` when the host exposes
/// no NUMA information (then libvirt treats it as one node).
pub(crate) fn numa_node_ids(roots: &HostRoots) -> Option<Vec<u32>> {
    let ids = numbered_entries(&roots.system().join("node"), "node").ok()?;
    (!ids.is_empty()).then_some(ids)
}

/// The host CPU topology as `virNodeGetInfo` reports it.
pub(crate) fn cpu_topology(roots: &HostRoots, arch: &str) -> io::Result<CpuTopology> {
    let present = cpu_set(roots, "present")?;
    let online = cpu_set(roots, "online")?;
    let mut offline = 0;
    let mut topo = CpuTopology::default();

    for node in numa_node_ids(roots).unwrap_or_default() {
        topo.nodes += 1;
        let group = count_group(
            roots,
            &roots.node_dir(node),
            arch,
            &present,
            &online,
            &mut offline,
        )?;
        topo.cpus += group.processors;
        topo.sockets = topo.sockets.max(group.sockets);
        topo.cores = topo.cores.max(group.cores);
        topo.threads = topo.threads.max(group.threads);
    }

    if topo.cpus == 0 || topo.nodes == 0 {
        let cpu_dir = roots.system().join("cpu");
        let group = count_group(roots, &cpu_dir, arch, &present, &online, &mut offline)?;
        topo = CpuTopology {
            cpus: group.processors,
            nodes: 1,
            sockets: group.sockets,
            cores: group.cores,
            threads: group.threads,
        };
    }

    if topo.cpus == 0 {
        return Err(invalid("no CPUs found"));
    }
    if topo.sockets == 0 {
        return Err(invalid("no sockets found"));
    }
    if topo.threads == 0 {
        return Err(invalid("no threads found"));
    }

    // When the counts do not multiply out (hidden nodes, modules reported as both cores
    // and threads) libvirt reports a flat topology and points users at capabilities.
    let product = u64::from(topo.nodes)
        * u64::from(topo.sockets)
        * u64::from(topo.cores)
        * u64::from(topo.threads);
    if product != u64::from(topo.cpus + offline) {
        topo.nodes = 1;
        topo.sockets = 1;
        topo.cores = topo.cpus + offline;
        topo.threads = 1;
    }
    Ok(topo)
}

/// `MemTotal` (KiB) of a NUMA node's meminfo, `None` when unreadable.
pub(crate) fn node_memory_kib(roots: &HostRoots, node: u32) -> Option<u64> {
    let text = std::fs::read_to_string(roots.node_dir(node).join("meminfo")).ok()?;
    meminfo_field(&text, "MemTotal")
}

/// Value (KiB) of `field` in a meminfo text; node files prefix lines with "Node N ".
pub(crate) fn meminfo_field(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        let key = key.split_whitespace().last()?;
        if key != field {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Total memory: the sum over NUMA nodes when the host has NUMA, else MemTotal.
pub(crate) fn total_memory_kib(roots: &HostRoots) -> io::Result<u64> {
    if let Some(nodes) = numa_node_ids(roots) {
        return Ok(nodes
            .iter()
            .filter_map(|&node| node_memory_kib(roots, node))
            .sum());
    }
    let text = std::fs::read_to_string(roots.procfs.join("meminfo"))?;
    meminfo_field(&text, "MemTotal").ok_or_else(|| invalid("Cannot determine free memory"))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::FakeHost;
    use super::*;

    #[test]
    fn two_node_fixture() {
        let host = FakeHost::two_node_host();
        let info = node_info_at(&host.roots, "x86_64").expect("node info");
        assert_eq!(
            info,
            HostNodeInfo {
                model: "x86_64".into(),
                memory_kib: 4_194_304,
                cpus: 8,
                mhz: 2400,
                nodes: 2,
                sockets: 1,
                cores: 2,
                threads: 2,
            }
        );
    }

    #[test]
    fn offline_cpu_flattens_inconsistent_topology() {
        let host = FakeHost::two_node_host();
        host.write("sys/devices/system/cpu/online", "0-6\n");
        let info = node_info_at(&host.roots, "x86_64").expect("node info");
        // 2 nodes * 1 socket * 2 cores * 2 threads = 8 = 7 online + 1 offline: kept.
        assert_eq!(
            (info.cpus, info.nodes, info.cores, info.threads),
            (7, 2, 2, 2)
        );

        host.write(
            "sys/devices/system/cpu/cpu0/topology/thread_siblings_list",
            "0-2\n",
        );
        let info = node_info_at(&host.roots, "x86_64").expect("node info");
        // threads now 3: 2*1*2*3 != 8, so libvirt reports a flat layout.
        assert_eq!(
            (
                info.cpus,
                info.nodes,
                info.sockets,
                info.cores,
                info.threads
            ),
            (7, 1, 1, 8, 1)
        );
    }

    #[test]
    fn without_numa_uses_cpu_dir_and_meminfo() {
        let host = FakeHost::two_node_host();
        std::fs::remove_dir_all(host.path("sys/devices/system/node")).expect("remove nodes");
        for cpu in 0..8 {
            host.write(&format!("sys/devices/system/cpu/cpu{cpu}/online"), "1\n");
        }
        let info = node_info_at(&host.roots, "x86_64").expect("node info");
        assert_eq!(
            (info.nodes, info.sockets, info.cores, info.threads),
            (1, 2, 2, 2)
        );
        assert_eq!(info.memory_kib, 4_194_304);
        // 1 * 2 * 2 * 2 == 8 CPUs, so the topology is kept.
        assert_eq!(info.cpus, 8);
    }

    #[test]
    fn missing_online_map_is_an_error() {
        let host = FakeHost::two_node_host();
        std::fs::remove_file(host.path("sys/devices/system/cpu/online")).expect("remove");
        assert!(node_info_at(&host.roots, "x86_64").is_err());
    }

    #[test]
    fn real_host_matches_proc_and_sysconf() {
        let info = node_info().expect("node info of this host");
        let online = nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN);
        assert_eq!(online, Ok(Some(i64::from(info.cpus))));
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("cpuinfo");
        let processors = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        assert_eq!(info.cpus as usize, processors);
        assert!(info.nodes * info.sockets * info.cores * info.threads >= info.cpus);
        assert!(info.memory_kib > 0);
        assert_eq!(info.model, host_arch_name());
    }
}
