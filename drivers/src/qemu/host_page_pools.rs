//! Sizing the host's huge page pools (`virsh allocpages`): the kernel's
//! `nr_hugepages` of one page size, system-wide (cell -1) or per NUMA cell,
//! written and read back to see how many pages the kernel could reserve.

use std::fs;
use std::path::{Path, PathBuf};

use super::host_memory::{hugepage_file, last_cell, read_number, NODE_DIR, SYSTEM_PAGE_KIB};
use crate::api::{codes, domains, DriverError, DriverResult};

/// `VIR_NODE_ALLOC_PAGES_SET`: the counts are the pools' new sizes, not additions.
pub const ALLOC_PAGES_SET: u32 = 1;

fn failed(detail: String) -> DriverError {
    DriverError::new(codes::OPERATION_FAILED, domains::NONE, detail)
}

/// The pool file of `page_kib` pages on `cell` (-1: the whole system), with
/// libvirt's errors for a cell or a page size the host does not have.
fn pool_file(cell: i32, page_kib: u32) -> DriverResult<PathBuf> {
    let path = hugepage_file(cell, page_kib, "nr_hugepages");
    if path.exists() {
        return Ok(path);
    }
    Err(failed(if cell == -1 {
        format!("page size {page_kib} is not available")
    } else if !Path::new(NODE_DIR).join(format!("node{cell}")).exists() {
        format!("NUMA node {cell} is not available")
    } else {
        format!("page size {page_kib} is not available on node {cell}")
    }))
}

/// Grows the pool by `count` pages (`add`) or sets it to `count`, then checks
/// the kernel reserved them all.
fn set_pool_size(cell: i32, page_kib: u32, count: u64, add: bool) -> DriverResult<()> {
    if page_kib == SYSTEM_PAGE_KIB {
        return Err(DriverError::new(
            codes::OPERATION_UNSUPPORTED,
            domains::NONE,
            "system pages pool can't be modified",
        ));
    }
    let path = pool_file(cell, page_kib)?;
    let current = read_number(&path)?;
    let wanted = match add {
        true if count == 0 => return Ok(()),
        true => current.saturating_add(count),
        false if current == count => return Ok(()),
        false => count,
    };
    fs::write(&path, wanted.to_string()).map_err(|e| {
        DriverError::new(
            codes::SYSTEM_ERROR,
            domains::NONE,
            format!("Unable to write to: {}: {e}", path.display()),
        )
    })?;
    let reserved = read_number(&path)?;
    if reserved != wanted {
        return Err(failed(format!(
            "Unable to allocate {wanted} pages. Allocated only {reserved}"
        )));
    }
    Ok(())
}

/// `virNodeAllocPages`: for each cell from `start` (-1: the system-wide pools)
/// and each page size (KiB), the pool grown by or set to its count; answers
/// how many pools were sized.
pub fn alloc_pages(
    sizes: &[u32],
    counts: &[u64],
    start: i32,
    cell_count: u32,
    flags: u32,
) -> DriverResult<i32> {
    crate::qemu::lifecycle::check_flags(flags, ALLOC_PAGES_SET, "qemuNodeAllocPages")?;
    if sizes.len() != counts.len() {
        return Err(DriverError::new(
            codes::INVALID_ARG,
            domains::NONE,
            "each page size needs one page count",
        ));
    }
    let last = last_cell();
    if start > last {
        return Err(DriverError::new(
            codes::INTERNAL_ERROR,
            domains::NONE,
            format!("start cell {start} out of range (0-{last})"),
        ));
    }
    let cells = i32::try_from(cell_count).unwrap_or(i32::MAX);
    let end = last.min(start.saturating_add(cells).saturating_sub(1));
    let add = flags & ALLOC_PAGES_SET == 0;
    let mut sized = 0;
    for cell in start..=end {
        for (size, count) in sizes.iter().zip(counts) {
            set_pool_size(cell, *size, *count, add)?;
            sized += 1;
        }
    }
    Ok(sized)
}
