//! What each pool type does to the host: build, start, stop, delete, and the refresh
//! that lists its volumes and sizes.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::errors;
use super::image;
use super::pool::{Pool, StoragePaths, Volume};
use super::pool_def::PoolKind;
use super::tools;
use crate::api::DriverResult;

/// `VIR_STORAGE_POOL_BUILD_NO_OVERWRITE` / `_OVERWRITE`.
pub const BUILD_NO_OVERWRITE: u32 = 1 << 2;
pub const BUILD_OVERWRITE: u32 = 1 << 3;

/// The pool's target directory (or device directory) on this host.
pub fn target(paths: &StoragePaths, pool: &Pool) -> PathBuf {
    paths.host_path(&pool.def.target_path)
}

pub fn build(paths: &StoragePaths, pool: &Pool, flags: u32) -> DriverResult<()> {
    if flags & BUILD_NO_OVERWRITE != 0 && flags & BUILD_OVERWRITE != 0 {
        return Err(errors::operation_invalid(
            "mutually exclusive flags VIR_STORAGE_POOL_BUILD_OVERWRITE and VIR_STORAGE_POOL_BUILD_NO_OVERWRITE",
        ).in_domain(errors::FROM_STORAGE));
    }
    match pool.def.kind {
        PoolKind::Dir | PoolKind::Fs | PoolKind::Netfs => {
            let dir = target(paths, pool);
            let mode = pool.def.perms.mode.unwrap_or(0o711);
            fs::DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(&dir)
                .map_err(|e| {
                    errors::system(&format!("cannot create path '{}'", dir.display()), &e)
                })?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).map_err(|e| {
                errors::system(&format!("cannot set mode of '{}'", dir.display()), &e)
            })?;
            set_owner(&dir, pool.def.perms.owner, pool.def.perms.group)?;
            if pool.def.kind == PoolKind::Fs && flags & (BUILD_OVERWRITE | BUILD_NO_OVERWRITE) != 0
            {
                make_fs(pool, flags)?;
            }
            Ok(())
        }
        PoolKind::Disk => super::disk::build(pool, flags),
        PoolKind::Logical => super::logical::build(pool, flags),
    }
}

fn set_owner(path: &Path, owner: Option<u32>, group: Option<u32>) -> DriverResult<()> {
    if owner.is_none() && group.is_none() {
        return Ok(());
    }
    std::os::unix::fs::chown(path, owner, group)
        .map_err(|e| errors::system(&format!("cannot chown '{}'", path.display()), &e))
}

/// Formats an `fs` pool's device (`pool-build --overwrite`, or `--no-overwrite` on a
/// device without a file system).
fn make_fs(pool: &Pool, flags: u32) -> DriverResult<()> {
    let device = &pool.def.source_devices[0];
    let format = match pool.def.source_format.as_deref() {
        None | Some("auto") => "ext4",
        Some(f) => f,
    };
    if !matches!(format, "ext2" | "ext3" | "ext4" | "xfs" | "vfat") {
        return Err(errors::unsupported(&format!(
            "no mkfs for file system type '{format}'"
        )));
    }
    if flags & BUILD_NO_OVERWRITE != 0 {
        let probe = std::process::Command::new("blkid")
            .args(["-o", "value", "-s", "TYPE", device])
            .output();
        if let Ok(out) = probe {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !found.is_empty() {
                return Err(crate::api::DriverError::new(
                    errors::STORAGE_POOL_BUILT,
                    errors::FROM_STORAGE,
                    format!("Device '{device}' already formatted using '{found}'"),
                ));
            }
        }
    }
    tools::run(&[format!("mkfs.{format}").as_str(), "-q", device.as_str()])
        .or_else(|_| tools::run(&["mkfs", "-t", format, device.as_str()]))?;
    Ok(())
}

/// Whether something is mounted at `dir`.
pub fn is_mounted(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = dir.display().to_string();
    text.lines().any(|line| {
        line.split(' ')
            .nth(4)
            .is_some_and(|m| unescape_mount(m) == want)
    })
}

fn unescape_mount(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

pub fn start(paths: &StoragePaths, pool: &Pool) -> DriverResult<()> {
    match pool.def.kind {
        PoolKind::Dir => check_dir(&target(paths, pool)),
        PoolKind::Fs | PoolKind::Netfs => {
            let dir = target(paths, pool);
            check_dir(&dir)?;
            if is_mounted(&dir) {
                return Ok(());
            }
            let source = if pool.def.kind == PoolKind::Netfs {
                format!(
                    "{}:{}",
                    pool.def.source_hosts[0],
                    pool.def.source_dir.clone().unwrap_or_default()
                )
            } else {
                let dev = &pool.def.source_devices[0];
                if !Path::new(dev).exists() {
                    return Err(errors::system(
                        &format!("cannot find source device '{dev}'"),
                        &std::io::Error::from_raw_os_error(libc::ENOENT),
                    ));
                }
                dev.clone()
            };
            let mut argv = vec!["mount".to_string()];
            match pool.def.source_format.as_deref() {
                None | Some("auto") if pool.def.kind == PoolKind::Netfs => {
                    argv.extend(["-t".to_string(), "nfs".to_string()])
                }
                None | Some("auto") => {}
                Some(f) => argv.extend(["-t".to_string(), f.to_string()]),
            }
            argv.push(source);
            argv.push(dir.display().to_string());
            tools::run(&argv).map(|_| ())
        }
        PoolKind::Disk => super::disk::start(pool),
        PoolKind::Logical => super::logical::start(pool),
    }
}

fn check_dir(dir: &Path) -> DriverResult<()> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(errors::system(
            &format!("cannot open directory '{}'", dir.display()),
            &std::io::Error::from_raw_os_error(libc::ENOTDIR),
        )),
        Err(e) => Err(errors::system(
            &format!("cannot open directory '{}'", dir.display()),
            &e,
        )),
    }
}

pub fn stop(paths: &StoragePaths, pool: &Pool) -> DriverResult<()> {
    match pool.def.kind {
        PoolKind::Fs | PoolKind::Netfs => {
            let dir = target(paths, pool);
            if is_mounted(&dir) {
                tools::run(&["umount", &dir.display().to_string()])?;
            }
            Ok(())
        }
        PoolKind::Logical => super::logical::stop(pool),
        PoolKind::Dir | PoolKind::Disk => Ok(()),
    }
}

pub fn delete(paths: &StoragePaths, pool: &Pool) -> DriverResult<()> {
    match pool.def.kind {
        PoolKind::Dir | PoolKind::Fs | PoolKind::Netfs => {
            let dir = target(paths, pool);
            match fs::remove_dir(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(errors::system(
                    &format!("failed to remove pool '{}'", dir.display()),
                    &e,
                )),
            }
        }
        PoolKind::Disk => super::disk::delete(pool),
        PoolKind::Logical => super::logical::delete(pool),
    }
}

/// Lists the pool's volumes and sizes from the host.
pub fn refresh(paths: &StoragePaths, pool: &mut Pool) -> DriverResult<()> {
    match pool.def.kind {
        PoolKind::Dir | PoolKind::Fs | PoolKind::Netfs => refresh_dir(paths, pool),
        PoolKind::Disk => super::disk::refresh(pool),
        PoolKind::Logical => super::logical::refresh(pool),
    }
}

fn refresh_dir(paths: &StoragePaths, pool: &mut Pool) -> DriverResult<()> {
    let dir = target(paths, pool);
    let entries = fs::read_dir(&dir)
        .map_err(|e| errors::system(&format!("cannot open directory '{}'", dir.display()), &e))?;
    let mut volumes = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden files hold transfers in progress and are not volumes.
        if name.starts_with('.') || name == "lost+found" {
            continue;
        }
        if let Some(vol) = describe_file(&entry.path(), &name, pool.formats.get(&name)) {
            volumes.push(vol);
        }
    }
    volumes.sort_by(|a, b| a.name.cmp(&b.name));
    pool.volumes = volumes;
    pool.sizes = fs_sizes(&dir);
    Ok(())
}

/// A file volume as found on disk. `recorded` is the format it was created with:
/// a file created as raw stays raw whatever its content looks like.
pub fn describe_file(path: &Path, name: &str, recorded: Option<&String>) -> Option<Volume> {
    let meta = fs::symlink_metadata(path).ok()?;
    let ft = meta.file_type();
    let kind = if ft.is_file() {
        0
    } else if ft.is_dir() {
        2
    } else {
        return None;
    };
    let header = if kind == 0 {
        image::read_qcow2(path)
    } else {
        None
    };
    let format = match (recorded, &header, kind) {
        // Recorded as qcow2 but holding no qcow2 header (raw data uploaded
        // into it): read as raw, the direction that never follows a header.
        (Some(f), None, _) if f == "qcow2" => "raw".to_string(),
        (Some(f), _, _) => f.clone(),
        (None, Some(_), _) => "qcow2".to_string(),
        (None, None, 2) => "dir".to_string(),
        (None, None, _) => "raw".to_string(),
    };
    let qcow = if format == "qcow2" { header } else { None };
    let capacity = match &qcow {
        Some(h) => h.size,
        None => meta.len(),
    };
    Some(Volume {
        name: name.to_string(),
        path: path.to_path_buf(),
        kind,
        capacity,
        allocation: meta.blocks() * 512,
        physical: meta.len(),
        backing: qcow.as_ref().and_then(|h| {
            h.backing.as_ref().map(|b| {
                (
                    image::resolve_backing(path, b).display().to_string(),
                    h.backing_format.clone(),
                )
            })
        }),
        compat: qcow
            .as_ref()
            .map(|h| if h.version >= 3 { "1.1" } else { "0.10" }.to_string()),
        lazy_refcounts: qcow.as_ref().is_some_and(|h| h.lazy_refcounts),
        format,
        perms: Some((meta.mode() & 0o7777, meta.uid(), meta.gid())),
    })
}

/// Capacity, allocation and available bytes of the file system holding `dir`.
pub fn fs_sizes(dir: &Path) -> (u64, u64, u64) {
    let Ok(st) = nix::sys::statvfs::statvfs(dir) else {
        return (0, 0, 0);
    };
    let frsize = st.fragment_size();
    let capacity = st.blocks() * frsize;
    let free = st.blocks_free() * frsize;
    (
        capacity,
        capacity.saturating_sub(free),
        st.blocks_available() * frsize,
    )
}
