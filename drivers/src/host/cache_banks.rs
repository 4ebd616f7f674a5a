//! The `<cache>` element of `<host>`: one `<bank>` per distinct level-3-or-higher CPU
//! cache, gathered from every online CPU's `cache/index*` directories.
//!
//! Resource-control details (`<control>`, `<monitor>`) need a mounted resctrl file system
//! and are not reported.

use std::collections::BTreeSet;
use std::io;

use super::sysfs::{
    parse_scaled_size, read_optional, read_optional_cpu_list, read_optional_i64, HostRoots,
};

/// Lowest cache level libvirt reports.
const MIN_LEVEL: u32 = 3;

/// One cache bank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CacheBank {
    pub(crate) id: u32,
    pub(crate) level: u32,
    /// "both", "code" or "data".
    pub(crate) kind: &'static str,
    pub(crate) size_bytes: u64,
    pub(crate) cpus: BTreeSet<u32>,
}

fn kind_from_kernel(kernel_type: &str) -> Option<&'static str> {
    match kernel_type {
        "Unified" => Some("both"),
        "Instruction" => Some("code"),
        "Data" => Some("data"),
        _ => None,
    }
}

/// Reads one `index*` directory; `None` when it is below the reported level or lacks a
/// file (as on some virtual machines, where the cache has no id).
fn read_bank(dir: &std::path::Path) -> io::Result<Option<CacheBank>> {
    let Some(level) = read_optional_i64(&dir.join("level"))? else {
        return Ok(None);
    };
    if level < i64::from(MIN_LEVEL) {
        return Ok(None);
    }
    let Some(id) = read_optional_i64(&dir.join("id"))? else {
        return Ok(None);
    };
    let Some(kernel_type) = read_optional(&dir.join("type"))? else {
        return Ok(None);
    };
    let Some(size) = read_optional(&dir.join("size"))? else {
        return Ok(None);
    };
    let Some(cpus) = read_optional_cpu_list(&dir.join("shared_cpu_list"))? else {
        return Ok(None);
    };
    let bad = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} in {}", dir.display()),
        )
    };
    Ok(Some(CacheBank {
        id: u32::try_from(id).map_err(|_| bad("bad cache id"))?,
        level: level as u32,
        kind: kind_from_kernel(&kernel_type).ok_or_else(|| bad("unknown cache type"))?,
        size_bytes: parse_scaled_size(&size).ok_or_else(|| bad("bad cache size"))?,
        cpus,
    }))
}

/// Distinct cache banks, sorted by level then id. Errors leave the element out, as
/// libvirt only warns when it cannot read cache information.
pub(crate) fn host_cache_banks(roots: &HostRoots) -> Vec<CacheBank> {
    read_all(roots).unwrap_or_default()
}

fn read_all(roots: &HostRoots) -> io::Result<Vec<CacheBank>> {
    let online = read_optional_cpu_list(&roots.system().join("cpu/online"))?.unwrap_or_default();
    let mut banks: Vec<CacheBank> = Vec::new();
    for cpu in online {
        let cache_dir = roots.cpu_dir(cpu).join("cache");
        let entries = match std::fs::read_dir(&cache_dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        let mut names: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .filter(|n| n.to_string_lossy().starts_with("index"))
            .collect();
        names.sort();
        for name in names {
            if let Some(bank) = read_bank(&cache_dir.join(name))? {
                if !banks.contains(&bank) {
                    banks.push(bank);
                }
            }
        }
    }
    banks.sort_by_key(|bank| (bank.level, bank.id));
    Ok(banks)
}

/// A size in the largest binary unit that divides it exactly, as libvirt prints sizes.
pub(crate) fn pretty_size(bytes: u64) -> (u64, &'static str) {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes == 0 {
        return (0, "B");
    }
    let mut value = bytes;
    let mut unit = 0;
    while unit + 1 < UNITS.len() && value.is_multiple_of(1024) {
        value /= 1024;
        unit += 1;
    }
    (value, UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::FakeHost;
    use super::*;

    #[test]
    fn one_l3_bank_per_socket() {
        let host = FakeHost::two_node_host();
        let banks = host_cache_banks(&host.roots);
        assert_eq!(banks.len(), 2);
        assert_eq!(banks[1].id, 1);
        assert_eq!(banks[1].level, 3);
        assert_eq!(banks[1].kind, "both");
        assert_eq!(banks[1].size_bytes, 16 << 20);
        assert_eq!(banks[1].cpus, BTreeSet::from([4, 5, 6, 7]));
    }

    #[test]
    fn cache_without_id_is_skipped() {
        let host = FakeHost::two_node_host();
        for cpu in 0..8 {
            let _ = std::fs::remove_file(
                host.path(&format!("sys/devices/system/cpu/cpu{cpu}/cache/index3/id")),
            );
        }
        assert!(host_cache_banks(&host.roots).is_empty());
    }

    #[test]
    fn sizes_use_the_largest_exact_unit() {
        assert_eq!(pretty_size(32 << 20), (32, "MiB"));
        assert_eq!(pretty_size(480 << 20), (480, "MiB"));
        assert_eq!(pretty_size(1536 << 10), (1536, "KiB"));
        assert_eq!(pretty_size(1000), (1000, "B"));
    }
}
