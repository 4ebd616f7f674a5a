//! The memory controller's files behind `memtune`'s three limits, as libvirt 9.0 reads
//! and writes them: v1 `memory.limit_in_bytes`, `memory.soft_limit_in_bytes`,
//! `memory.memsw.limit_in_bytes` (-1: unlimited); v2 `memory.max`, `memory.high`,
//! `memory.swap.max` ("max"). Values cross the API in KiB.

use super::memory_numa::UNLIMITED;
use crate::api::{codes, domains, DriverError, DriverResult};
use crate::qemu::resource_cgroup::ResourceGroup;

fn file(group: &ResourceGroup, field: &str) -> &'static str {
    match (group.v2, field) {
        (false, "hard_limit") => "memory.limit_in_bytes",
        (false, "soft_limit") => "memory.soft_limit_in_bytes",
        (false, _) => "memory.memsw.limit_in_bytes",
        (true, "hard_limit") => "memory.max",
        (true, "soft_limit") => "memory.high",
        (true, _) => "memory.swap.max",
    }
}

/// The limit `field` in KiB; anything at or past the largest the kernel keeps
/// (v1 rounds "unlimited" down to a page) is reported as unlimited.
pub(super) fn read(group: &ResourceGroup, field: &str) -> DriverResult<u64> {
    let name = file(group, field);
    if !group.has(name) {
        // Swap accounting off: libvirt reports the swap limit as unlimited.
        return Ok(UNLIMITED);
    }
    let text = group.read(name)?;
    let text = text.trim();
    if text == "max" {
        return Ok(UNLIMITED);
    }
    let bytes: u64 = text.parse().map_err(|_| {
        DriverError::new(
            codes::INTERNAL_ERROR,
            domains::CGROUP,
            format!("Unable to parse '{text}' as an integer"),
        )
    })?;
    let kib = bytes >> 10;
    Ok(if kib >= v1_unlimited_kib() {
        UNLIMITED
    } else {
        kib
    })
}

/// The KiB value v1 shows for "no limit" (the root group's limit), else libvirt's constant.
fn v1_unlimited_kib() -> u64 {
    let root = crate::lxc::cgroup_layout::CgroupLayout::detect()
        .hierarchy_of("memory")
        .filter(|h| !h.v2)
        .and_then(|h| std::fs::read_to_string(h.mount_point.join("memory.limit_in_bytes")).ok())
        .and_then(|t| t.trim().parse::<u64>().ok());
    root.map_or(UNLIMITED, |b| b >> 10)
}

pub(super) fn write(group: &ResourceGroup, field: &str, kib: u64) -> DriverResult<()> {
    let name = file(group, field);
    if !group.has(name) && field == "swap_hard_limit" {
        return Err(DriverError::new(
            codes::OPERATION_INVALID,
            domains::CGROUP,
            "swap accounting is not enabled in the kernel",
        ));
    }
    let value = match (kib >= UNLIMITED, group.v2) {
        (true, false) => "-1".to_string(),
        (true, true) => "max".to_string(),
        (false, _) => (kib << 10).to_string(),
    };
    group.write(name, &value)
}
