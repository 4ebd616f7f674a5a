//! Host memory calls of the qemu driver: kernel same-page merging settings
//! (`virsh node-memory-tune`, `/sys/kernel/mm/ksm`) and free pages per NUMA
//! cell and page size (`virsh freepages`, sysfs).

use std::fs;
use std::path::{Path, PathBuf};

use crate::api::{codes, domains, DriverError, DriverResult, NamedParam, ParamValue};

const KSM_DIR: &str = "/sys/kernel/mm/ksm";
pub(super) const NODE_DIR: &str = "/sys/devices/system/node";
const SYSTEM_HUGEPAGES_DIR: &str = "/sys/kernel/mm/hugepages";
/// libvirt's parameters in its order: (name, whether a UINT (else ULLONG), settable).
const KSM_PARAMS: [(&str, bool, bool); 8] = [
    ("shm_pages_to_scan", true, true),
    ("shm_sleep_millisecs", true, true),
    ("shm_pages_shared", false, false),
    ("shm_pages_sharing", false, false),
    ("shm_pages_unshared", false, false),
    ("shm_pages_volatile", false, false),
    ("shm_full_scans", false, false),
    ("shm_merge_across_nodes", true, true),
];
/// The system page size in KiB.
pub(super) const SYSTEM_PAGE_KIB: u32 = 4;

fn ksm_file(param: &str) -> PathBuf {
    Path::new(KSM_DIR).join(param.trim_start_matches("shm_"))
}

pub(super) fn read_number(path: &Path) -> DriverResult<u64> {
    let text = fs::read_to_string(path).map_err(|e| {
        DriverError::new(
            codes::SYSTEM_ERROR,
            domains::QEMU,
            format!("Failed to open file '{}': {e}", path.display()),
        )
    })?;
    text.trim().parse().map_err(|_| {
        DriverError::new(
            codes::INTERNAL_ERROR,
            domains::QEMU,
            format!("failed to parse {}", path.display()),
        )
    })
}

/// `virNodeGetMemoryParameters`: every parameter the host has.
pub fn ksm_params(flags: u32) -> DriverResult<Vec<NamedParam>> {
    crate::qemu::lifecycle::check_flags(flags, 4, "qemuNodeGetMemoryParameters")?;
    let mut out = Vec::new();
    for (name, uint, _) in KSM_PARAMS {
        let path = ksm_file(name);
        if name == "shm_merge_across_nodes" && !path.exists() {
            continue;
        }
        let value = read_number(&path)?;
        out.push(NamedParam::new(
            name,
            if uint {
                ParamValue::UInt(value as u32)
            } else {
                ParamValue::ULLong(value)
            },
        ));
    }
    Ok(out)
}

/// `virNodeSetMemoryParameters`: the settable values, checked before any is written.
pub fn set_ksm_params(params: &[NamedParam], flags: u32) -> DriverResult<()> {
    crate::qemu::lifecycle::check_flags(flags, 0, "qemuNodeSetMemoryParameters")?;
    let mut values = Vec::new();
    for p in params {
        match (
            KSM_PARAMS
                .iter()
                .find(|(n, _, settable)| *n == p.field && *settable),
            &p.value,
        ) {
            (Some(_), ParamValue::UInt(v)) => values.push((p.field.clone(), *v)),
            (Some(_), _) => {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    domains::QEMU,
                    format!("invalid type for parameter '{}', expected 'uint'", p.field),
                ))
            }
            (None, _) => {
                return Err(DriverError::new(
                    codes::ARGUMENT_UNSUPPORTED,
                    domains::QEMU,
                    format!("parameter '{}' not supported", p.field),
                ))
            }
        }
    }
    for (name, value) in values {
        fs::write(ksm_file(&name), value.to_string()).map_err(|e| {
            DriverError::new(
                codes::SYSTEM_ERROR,
                domains::QEMU,
                format!("failed to set {name}: {e}"),
            )
        })?;
    }
    Ok(())
}

/// NUMA cells of the host (`node0`, `node1` ...), highest index.
pub(super) fn last_cell() -> i32 {
    fs::read_dir(NODE_DIR)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    e.file_name()
                        .to_str()?
                        .strip_prefix("node")?
                        .parse::<i32>()
                        .ok()
                })
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

fn free_pages_of(cell: i32, page_kib: u32) -> DriverResult<u64> {
    let node = Path::new(NODE_DIR).join(format!("node{cell}"));
    if page_kib == SYSTEM_PAGE_KIB {
        let meminfo = node.join("meminfo");
        let text = fs::read_to_string(&meminfo).map_err(|e| {
            DriverError::new(
                codes::SYSTEM_ERROR,
                domains::QEMU,
                format!("Failed to open file '{}': {e}", meminfo.display()),
            )
        })?;
        let free_kib = text
            .lines()
            .find(|l| l.contains("MemFree:"))
            .and_then(|l| l.split_whitespace().rev().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        return Ok(free_kib / u64::from(SYSTEM_PAGE_KIB));
    }
    read_number(&hugepage_file(cell, page_kib, "free_hugepages"))
}

/// A counter file of the `page_kib` huge page pool of NUMA `cell`, or of the
/// whole system for cell -1 (`/sys/kernel/mm/hugepages`).
pub(super) fn hugepage_file(cell: i32, page_kib: u32, file: &str) -> PathBuf {
    let pools = if cell == -1 {
        PathBuf::from(SYSTEM_HUGEPAGES_DIR)
    } else {
        Path::new(NODE_DIR)
            .join(format!("node{cell}"))
            .join("hugepages")
    };
    pools.join(format!("hugepages-{page_kib}kB")).join(file)
}

/// `virNodeGetFreePages`: for each cell from `start`, the free pages of each size.
pub fn free_pages(pages: &[u32], start: i32, count: u32, flags: u32) -> DriverResult<Vec<u64>> {
    crate::qemu::lifecycle::check_flags(flags, 0, "qemuNodeGetFreePages")?;
    let last = last_cell();
    if start < 0 || start > last {
        return Err(DriverError::new(
            codes::INTERNAL_ERROR,
            domains::QEMU,
            format!("start cell {start} out of range (0-{last})"),
        ));
    }
    let end = last.min(start.saturating_add(count as i32).saturating_sub(1));
    let mut counts = Vec::new();
    for cell in start..=end {
        for page in pages {
            counts.push(free_pages_of(cell, *page)?);
        }
    }
    Ok(counts)
}
