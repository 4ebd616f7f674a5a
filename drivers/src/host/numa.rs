//! The NUMA cells of the host for `<host><topology>`: memory, page pools, distances and
//! the CPUs of each cell, plus the page sizes listed under `<host><cpu>`.
//!
//! Hosts without NUMA information get libvirt's synthesised single cell built from the
//! node info counts.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use super::nodeinfo::{
    cpu_core, cpu_die, cpu_siblings, cpu_socket, node_memory_kib, numa_node_ids, HostNodeInfo,
};
use super::sysfs::{numbered_entries, read_optional, read_optional_cpu_list, HostRoots};

/// One CPU of a cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CellCpu {
    pub(crate) id: u32,
    pub(crate) socket_id: u32,
    pub(crate) die_id: u32,
    pub(crate) core_id: u32,
    pub(crate) siblings: BTreeSet<u32>,
}

/// One `<cell>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NumaCell {
    pub(crate) id: u32,
    /// KiB; 0 means unknown and is not printed.
    pub(crate) memory_kib: u64,
    /// (page size KiB, pages in the pool), ascending by size.
    pub(crate) pages: Vec<(u64, u64)>,
    /// (sibling cell id, distance).
    pub(crate) distances: Vec<(u32, u32)>,
    pub(crate) cpus: Vec<CellCpu>,
}

/// Base page size of this machine in KiB.
pub(crate) fn system_page_kib() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(bytes)) if bytes > 0 => bytes as u64 / 1024,
        _ => 4,
    }
}

/// Huge page pools under `dir` (a `hugepages` directory): (size KiB, nr_hugepages).
fn huge_page_pools(dir: &Path) -> io::Result<Vec<(u64, u64)>> {
    let mut pools = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(pools),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let name = entry?.file_name();
        let Some(size) = name
            .to_str()
            .and_then(|n| n.strip_prefix("hugepages-"))
            .and_then(|n| n.strip_suffix("kB"))
        else {
            continue;
        };
        let size: u64 = size.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unable to parse {name:?}"),
            )
        })?;
        let count_path = dir.join(&name).join("nr_hugepages");
        let count = read_optional(&count_path)?
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unable to parse {}", count_path.display()),
                )
            })?;
        pools.push((size, count));
    }
    Ok(pools)
}

/// Page sizes of the whole host (KiB, ascending): the base page plus every huge page size.
pub(crate) fn host_page_sizes(roots: &HostRoots) -> Vec<u64> {
    let pools = huge_page_pools(&roots.sysfs.join("kernel/mm/hugepages")).unwrap_or_default();
    let mut sizes: Vec<u64> = pools.into_iter().map(|(size, _)| size).collect();
    sizes.push(system_page_kib());
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// Page pools of a node: huge pages as configured; base pages are the node memory not
/// taken by huge pages.
fn node_pages(roots: &HostRoots, node: u32, memory_kib: u64) -> io::Result<Vec<(u64, u64)>> {
    let mut pools = huge_page_pools(&roots.node_dir(node).join("hugepages"))?;
    let huge_kib: u64 = pools.iter().map(|(size, count)| size * count).sum();
    let base = system_page_kib();
    pools.push((base, memory_kib.saturating_sub(huge_kib) / base));
    pools.sort_unstable();
    Ok(pools)
}

/// Distances from `node` to every node, in the order of `all_nodes`; zero entries
/// (nodes the kernel marks unreachable) are left out.
fn node_distances(roots: &HostRoots, node: u32, all_nodes: &[u32]) -> io::Result<Vec<(u32, u32)>> {
    let Some(text) = read_optional(&roots.node_dir(node).join("distance"))? else {
        return Ok(Vec::new());
    };
    Ok(all_nodes
        .iter()
        .zip(text.split_whitespace())
        .filter_map(|(&id, value)| value.parse::<u32>().ok().map(|v| (id, v)))
        .filter(|&(_, value)| value != 0)
        .collect())
}

fn cell_cpu(roots: &HostRoots, cpu: u32) -> io::Result<CellCpu> {
    Ok(CellCpu {
        id: cpu,
        socket_id: cpu_socket(roots, cpu)?,
        die_id: cpu_die(roots, cpu)?,
        core_id: cpu_core(roots, cpu)?,
        siblings: cpu_siblings(roots, cpu)?,
    })
}

/// Cells from sysfs; an error makes the caller fall back to the synthesised cell.
fn real_cells(roots: &HostRoots, nodes: &[u32]) -> io::Result<Vec<NumaCell>> {
    let mut cells = Vec::with_capacity(nodes.len());
    for &node in nodes {
        let dir = roots.node_dir(node);
        let cpus = match read_optional_cpu_list(&dir.join("cpulist"))? {
            Some(list) => list,
            None => numbered_entries(&dir, "cpu")?.into_iter().collect(),
        };
        let memory_kib = node_memory_kib(roots, node).unwrap_or(0);
        cells.push(NumaCell {
            id: node,
            memory_kib,
            pages: node_pages(roots, node, memory_kib)?,
            distances: node_distances(roots, node, nodes)?,
            cpus: cpus
                .into_iter()
                .map(|cpu| cell_cpu(roots, cpu))
                .collect::<io::Result<_>>()?,
        });
    }
    Ok(cells)
}

/// libvirt's stand-in when NUMA is unavailable: `nodes` cells (all numbered 0) with CPUs
/// numbered in socket/core/thread order, online ones only.
fn synthesised_cells(roots: &HostRoots, info: &HostNodeInfo) -> Vec<NumaCell> {
    let online = read_optional_cpu_list(&roots.system().join("cpu/online"))
        .ok()
        .flatten();
    let mut next_id = 0u32;
    let mut cells = Vec::new();
    for _ in 0..info.nodes {
        let mut cpus = Vec::new();
        for socket in 0..info.sockets {
            for core in 0..info.cores {
                let siblings: BTreeSet<u32> = (next_id..next_id + info.threads).collect();
                for _ in 0..info.threads {
                    let is_online = online.as_ref().is_none_or(|set| set.contains(&next_id));
                    if is_online {
                        cpus.push(CellCpu {
                            id: next_id,
                            socket_id: socket,
                            die_id: 0,
                            core_id: core,
                            siblings: siblings.clone(),
                        });
                    }
                    next_id += 1;
                }
            }
        }
        cells.push(NumaCell {
            id: 0,
            memory_kib: info.memory_kib,
            pages: Vec::new(),
            distances: Vec::new(),
            cpus,
        });
    }
    cells
}

/// The host's NUMA cells. `info` supplies the counts for the synthesised layout.
pub(crate) fn host_cells(roots: &HostRoots, info: Option<&HostNodeInfo>) -> Vec<NumaCell> {
    if let Some(nodes) = numa_node_ids(roots) {
        if let Ok(cells) = real_cells(roots, &nodes) {
            return cells;
        }
    }
    info.map(|info| synthesised_cells(roots, info))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::FakeHost;
    use super::super::nodeinfo::node_info_at;
    use super::*;

    #[test]
    fn cells_of_two_node_fixture() {
        let host = FakeHost::two_node_host();
        let cells = host_cells(&host.roots, None);
        assert_eq!(cells.len(), 2);
        let base = system_page_kib();
        assert_eq!(cells[1].id, 1);
        assert_eq!(cells[1].memory_kib, 2_097_152);
        assert_eq!(cells[1].distances, vec![(0, 21), (1, 10)]);
        // 16 huge pages of 2 MiB are carved out of node 1's base pages.
        assert!(cells[1].pages.contains(&(2048, 16)));
        assert!(cells[1]
            .pages
            .contains(&(base, (2_097_152 - 16 * 2048) / base)));
        assert_eq!(cells[1].pages.first().map(|p| p.0), Some(base.min(2048)));
        let cpu5 = &cells[1].cpus[1];
        assert_eq!((cpu5.id, cpu5.socket_id, cpu5.core_id), (5, 1, 0));
        assert_eq!(cpu5.siblings, BTreeSet::from([4, 5]));
        assert_eq!(host_page_sizes(&host.roots), {
            let mut v = vec![base, 2048, 1_048_576];
            v.sort_unstable();
            v.dedup();
            v
        });
    }

    #[test]
    fn synthesised_cell_without_numa() {
        let host = FakeHost::two_node_host();
        std::fs::remove_dir_all(host.path("sys/devices/system/node")).expect("remove nodes");
        for cpu in 0..8 {
            host.write(&format!("sys/devices/system/cpu/cpu{cpu}/online"), "1\n");
        }
        host.write("sys/devices/system/cpu/online", "0-6\n");
        let info = node_info_at(&host.roots, "x86_64").expect("node info");
        let cells = host_cells(&host.roots, Some(&info));
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].id, 0);
        assert_eq!(cells[0].memory_kib, 4_194_304);
        // 7 online CPUs; the offline one (7) is left out.
        assert_eq!(cells[0].cpus.len(), 7);
        assert!(cells[0].pages.is_empty() && cells[0].distances.is_empty());
    }

    #[test]
    fn real_host_cells_match_sysfs() {
        let roots = HostRoots::default();
        let cells = host_cells(&roots, None);
        if let Some(nodes) = numa_node_ids(&roots) {
            assert_eq!(cells.len(), nodes.len());
            for cell in &cells {
                assert!(cell.memory_kib > 0, "cell {} has memory", cell.id);
            }
        } else {
            assert!(cells.is_empty());
        }
    }
}
