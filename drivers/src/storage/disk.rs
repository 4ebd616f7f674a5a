//! `disk` pools: a block device's partition table through `parted`; each
//! partition is a volume.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::backend::{BUILD_NO_OVERWRITE, BUILD_OVERWRITE};
use super::errors;
use super::pool::{Pool, Volume};
use super::tools;
use crate::api::DriverResult;

const MIB: u64 = 1 << 20;

/// As libvirt, starting or building a disk pool of format `unknown` makes it `dos`.
pub fn settle_format(pool: &mut Pool) {
    if pool.def.kind == super::pool_def::PoolKind::Disk
        && matches!(pool.def.source_format.as_deref(), None | Some("unknown"))
    {
        pool.def.source_format = Some("dos".to_string());
    }
}

fn device(pool: &Pool) -> &str {
    &pool.def.source_devices[0]
}

/// parted's name of the label for the pool's source format.
fn label(pool: &Pool) -> DriverResult<&'static str> {
    match pool.def.source_format.as_deref() {
        None | Some("unknown") | Some("dos") => Ok("msdos"),
        Some("gpt") => Ok("gpt"),
        Some(other) => Err(errors::unsupported(&format!(
            "disk pool format '{other}' is not supported (dos, gpt)"
        ))),
    }
}

/// One partition as `parted -m` prints it.
struct Partition {
    number: u32,
    end: u64,
    size: u64,
}

/// The label type ("msdos", "gpt", "loop" when none) and the partitions.
fn read_table(dev: &str) -> DriverResult<(String, Vec<Partition>, u64)> {
    tools::require("parted", "parted")?;
    let out = match tools::run(&["parted", "-s", "-m", dev, "unit", "B", "print"]) {
        Ok(out) => out,
        Err(e) if e.message.contains("unrecognised disk label") => {
            return Ok(("unknown".to_string(), Vec::new(), 0));
        }
        Err(e) => return Err(e),
    };
    let mut lines = out.lines().filter(|l| !l.trim().is_empty());
    let _units = lines.next();
    let disk = lines.next().unwrap_or("");
    let fields: Vec<&str> = disk.trim_end_matches(';').split(':').collect();
    let size = fields
        .get(1)
        .and_then(|s| s.trim_end_matches('B').parse().ok())
        .unwrap_or(0);
    let kind = fields.get(5).copied().unwrap_or("unknown").to_string();
    let mut parts = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.trim_end_matches(';').split(':').collect();
        let num = |i: usize| {
            f.get(i)
                .and_then(|s| s.trim_end_matches('B').parse::<u64>().ok())
        };
        if let (Some(n), Some(_), Some(end), Some(size)) = (num(0), num(1), num(2), num(3)) {
            parts.push(Partition {
                number: n as u32,
                end,
                size,
            });
        }
    }
    Ok((kind, parts, size))
}

pub fn build(pool: &Pool, flags: u32) -> DriverResult<()> {
    let dev = device(pool);
    let wanted = label(pool)?;
    let existing = read_table(dev).map(|(k, _, _)| k).unwrap_or_default();
    let labelled = matches!(existing.as_str(), "msdos" | "gpt");
    if labelled && flags & BUILD_OVERWRITE == 0 {
        if flags & BUILD_NO_OVERWRITE != 0 || existing == wanted {
            return Err(crate::api::DriverError::new(
                errors::STORAGE_POOL_BUILT,
                errors::FROM_STORAGE,
                format!("Device '{dev}' already formatted using '{existing}'"),
            ));
        }
        return Err(crate::api::DriverError::new(
            errors::STORAGE_POOL_BUILT,
            errors::FROM_STORAGE,
            format!(
                "Format of device '{dev}' does not match the expected format '{wanted}', forced overwrite is necessary"
            ),
        ));
    }
    tools::run(&["parted", "-s", dev, "mklabel", wanted]).map(|_| ())
}

pub fn start(pool: &Pool) -> DriverResult<()> {
    let dev = device(pool);
    if !Path::new(dev).exists() {
        return Err(errors::system(
            &format!("cannot find source device '{dev}'"),
            &std::io::Error::from_raw_os_error(libc::ENOENT),
        ));
    }
    let (kind, _, _) = read_table(dev)?;
    if !matches!(kind.as_str(), "msdos" | "gpt") {
        return Err(errors::probe_failed(&format!(
            "Device '{dev}' is unrecognized, requires build"
        )));
    }
    Ok(())
}

pub fn delete(pool: &Pool) -> DriverResult<()> {
    // Erase the label: the first and last MiB hold the msdos and gpt tables.
    let dev = device(pool);
    tools::run(&["wipefs", "-a", "-q", dev]).map(|_| ())
}

/// `/dev/loop0` partition 1 is `/dev/loop0p1`; `/dev/sda` partition 1 is `/dev/sda1`.
pub fn partition_path(dev: &str, number: u32) -> PathBuf {
    let sep = if dev.ends_with(|c: char| c.is_ascii_digit()) {
        "p"
    } else {
        ""
    };
    PathBuf::from(format!("{dev}{sep}{number}"))
}

pub fn refresh(pool: &mut Pool) -> DriverResult<()> {
    let dev = device(pool).to_string();
    let (label, parts, size) = read_table(&dev)?;
    // As libvirt: the live definition names the label found.
    match label.as_str() {
        "msdos" => pool.def.source_format = Some("dos".to_string()),
        "gpt" => pool.def.source_format = Some("gpt".to_string()),
        _ => {}
    }
    let mut allocated = 0;
    let mut volumes = Vec::new();
    for p in &parts {
        allocated += p.size;
        let path = partition_path(&dev, p.number);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        volumes.push(Volume {
            name,
            path,
            kind: 1,
            format: "none".to_string(),
            capacity: p.size,
            allocation: p.size,
            physical: p.size,
            backing: None,
            compat: None,
            lazy_refcounts: false,
            perms: None,
        });
    }
    pool.volumes = volumes;
    let free = largest_free(&parts, size);
    pool.sizes = (size, allocated, free);
    Ok(())
}

/// Where a new partition of `size` bytes fits (1 MiB aligned), as (start, end).
fn placement(parts: &[Partition], disk_size: u64, size: u64) -> Option<(u64, u64)> {
    let start = parts
        .iter()
        .map(|p| p.end + 1)
        .max()
        .unwrap_or(MIB)
        .div_ceil(MIB)
        * MIB;
    let end = start.checked_add(size)?.checked_sub(1)?;
    // gpt keeps its backup table in the last 33 sectors.
    (end < disk_size.saturating_sub(MIB)).then_some((start, end))
}

fn largest_free(parts: &[Partition], disk_size: u64) -> u64 {
    let start = parts.iter().map(|p| p.end + 1).max().unwrap_or(MIB);
    disk_size.saturating_sub(MIB).saturating_sub(start)
}

/// Adds a partition of `capacity` bytes named `name`, which must be the
/// device name the new partition gets (as libvirt checks); returns its path.
pub fn create_partition(pool: &Pool, name: &str, capacity: u64) -> DriverResult<PathBuf> {
    let dev = device(pool).to_string();
    let (_, parts, size) = read_table(&dev)?;
    let next = parts.iter().map(|p| p.number).max().unwrap_or(0) + 1;
    let expected = partition_path(&dev, next);
    let expected = expected
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name != expected {
        return Err(errors::invalid_arg(&format!(
            "invalid partition name '{name}', expected '{expected}'"
        )));
    }
    let size_aligned = capacity.div_ceil(MIB).max(1) * MIB;
    let (start, end) = placement(&parts, size, size_aligned).ok_or_else(|| {
        errors::operation_failed(&format!(
            "no large enough free extent on device '{dev}' for {capacity} bytes"
        ))
    })?;
    let number = parts.iter().map(|p| p.number).max().unwrap_or(0) + 1;
    tools::run(&[
        "parted",
        "-s",
        &dev,
        "mkpart",
        "primary",
        &format!("{start}B"),
        &format!("{end}B"),
    ])?;
    let path = partition_path(&dev, number);
    // The kernel creates the node in devtmpfs after re-reading the table.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() && Instant::now() < deadline {
        let _ = tools::run(&["partx", "-u", &dev]);
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(path)
}

/// Removes the partition behind `path`.
pub fn delete_partition(pool: &Pool, path: &Path) -> DriverResult<()> {
    let dev = device(pool).to_string();
    let (_, parts, _) = read_table(&dev)?;
    let Some(part) = parts
        .iter()
        .find(|p| partition_path(&dev, p.number) == path)
    else {
        return Err(errors::no_vol(&format!(
            "no partition behind '{}'",
            path.display()
        )));
    };
    tools::run(&["parted", "-s", &dev, "rm", &part.number.to_string()]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_follow_the_kernel() {
        assert_eq!(
            partition_path("/dev/loop3", 2),
            PathBuf::from("/dev/loop3p2")
        );
        assert_eq!(partition_path("/dev/sdb", 1), PathBuf::from("/dev/sdb1"));
    }

    #[test]
    fn new_partitions_are_aligned_after_the_last() {
        let parts = [Partition {
            number: 1,
            end: 3 * MIB - 1,
            size: 2 * MIB,
        }];
        assert_eq!(
            placement(&parts, 64 * MIB, MIB),
            Some((3 * MIB, 4 * MIB - 1))
        );
        assert_eq!(placement(&parts, 4 * MIB, 8 * MIB), None);
    }
}
