//! Pools on disk: definitions in `<confdir>/storage`, autostart links, status
//! files of running pools in `<rundir>/storage`, and the formats volumes were
//! created with in `<statedir>/storage/formats`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::pool::{Pool, StoragePaths};
use super::pool_def::PoolDef;
use super::{backend, errors, Inner};
use crate::api::{pool_event, DriverResult, PoolEventKind};
use crate::fsutil;

fn xml_files(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".xml")?.to_string();
            (!stem.starts_with('.')).then(|| (stem, e.path()))
        })
        .collect();
    out.sort();
    out
}

fn read_def(path: &Path) -> Result<PoolDef, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    PoolDef::parse(&text).map_err(|e| format!("{}: {}", path.display(), e.message))
}

/// Reads what is on disk into the pool list (pools already known keep their
/// state), then starts autostart pools that are not running. At `startup`,
/// uploads a previous daemon left unfinished are removed.
pub fn load(inner: &Inner, startup: bool) -> Vec<String> {
    let paths = &inner.paths;
    let mut problems = Vec::new();
    let mut pools = inner.lock();
    for (name, file) in xml_files(&paths.config_dir) {
        if pools.iter().any(|p| p.def.name == name) {
            continue;
        }
        match read_def(&file) {
            Ok(def) if def.name == name => {
                let mut pool = Pool::new(def, true);
                pool.autostart = paths.autostart_link(&name).exists();
                pools.push(pool);
            }
            Ok(def) => problems.push(format!(
                "storage pool config filename '{}' does not match pool name '{}'",
                file.display(),
                def.name
            )),
            Err(e) => problems.push(e),
        }
    }
    for (name, file) in xml_files(&paths.run_dir) {
        let known = pools.iter().position(|p| p.def.name == name);
        let index = match known {
            Some(i) if pools[i].active => continue,
            Some(i) => i,
            None => match read_def(&file) {
                Ok(def) => {
                    pools.push(Pool::new(def, false));
                    pools.len() - 1
                }
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            },
        };
        let pool = &mut pools[index];
        pool.formats = read_formats(paths, &name);
        if startup && pool.def.kind.holds_files() {
            super::transfer::remove_stale_uploads(&backend::target(paths, pool));
        }
        match backend::refresh(paths, pool) {
            Ok(()) => pool.active = true,
            Err(e) => {
                problems.push(format!(
                    "pool '{name}' could not be re-attached: {}",
                    e.message
                ));
                let _ = fsutil::remove_if_exists(&file);
                if !pool.persistent {
                    pools.remove(index);
                }
            }
        }
    }
    for pool in pools.iter_mut().filter(|p| p.autostart && !p.active) {
        if let Err(e) = start_pool(paths, pool) {
            problems.push(format!(
                "Failed to autostart storage pool '{}': {}",
                pool.def.name, e.message
            ));
            continue;
        }
        inner.emit(
            pool,
            PoolEventKind::Lifecycle {
                event: pool_event::STARTED,
                detail: 0,
            },
        );
    }
    problems
}

/// Starts a pool: the backend's start, a refresh, and the status file.
pub fn start_pool(paths: &StoragePaths, pool: &mut Pool) -> DriverResult<()> {
    super::disk::settle_format(pool);
    backend::start(paths, pool)?;
    pool.formats = read_formats(paths, &pool.def.name);
    if let Err(e) = backend::refresh(paths, pool) {
        let _ = backend::stop(paths, pool);
        return Err(e);
    }
    write_status(paths, pool)?;
    pool.active = true;
    Ok(())
}

pub fn write_config(paths: &StoragePaths, def: &PoolDef) -> DriverResult<()> {
    fsutil::atomic_write(
        &paths.config_file(&def.name),
        def.format((0, 0, 0), None).as_bytes(),
    )
    .map_err(|e| errors::system(&format!("cannot write '{}'", e.path.display()), &e.source))
}

pub fn remove_config(paths: &StoragePaths, name: &str) -> DriverResult<()> {
    for path in [paths.config_file(name), paths.autostart_link(name)] {
        fsutil::remove_if_exists(&path).map_err(|e| {
            errors::system(&format!("cannot remove '{}'", e.path.display()), &e.source)
        })?;
    }
    Ok(())
}

pub fn write_status(paths: &StoragePaths, pool: &Pool) -> DriverResult<()> {
    fsutil::atomic_write(
        &paths.status_file(&pool.def.name),
        pool.def.format(pool.sizes, None).as_bytes(),
    )
    .map_err(|e| errors::system(&format!("cannot write '{}'", e.path.display()), &e.source))
}

pub fn remove_status(paths: &StoragePaths, name: &str) {
    let _ = fsutil::remove_if_exists(&paths.status_file(name));
}

pub fn set_autostart(paths: &StoragePaths, name: &str, on: bool) -> DriverResult<()> {
    let link = paths.autostart_link(name);
    if on {
        fsutil::create_private_dir(&paths.autostart_dir).map_err(|e| {
            errors::system(
                &format!("cannot create autostart directory '{}'", e.path.display()),
                &e.source,
            )
        })?;
        let _ = fsutil::remove_if_exists(&link);
        std::os::unix::fs::symlink(paths.config_file(name), &link).map_err(|e| {
            errors::system(
                &format!(
                    "Failed to create symlink '{}' to '{}'",
                    link.display(),
                    paths.config_file(name).display()
                ),
                &e,
            )
        })
    } else {
        fsutil::remove_if_exists(&link).map_err(|e| {
            errors::system(
                &format!("Failed to delete symlink '{}'", link.display()),
                &e.source,
            )
        })
    }
}

pub fn read_formats(paths: &StoragePaths, name: &str) -> BTreeMap<String, String> {
    fs::read(paths.formats_file(name))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

pub fn write_formats(paths: &StoragePaths, pool: &Pool) -> DriverResult<()> {
    let bytes = serde_json::to_vec(&pool.formats).unwrap_or_default();
    fsutil::atomic_write(&paths.formats_file(&pool.def.name), &bytes)
        .map_err(|e| errors::system(&format!("cannot write '{}'", e.path.display()), &e.source))
}

pub fn remove_formats(paths: &StoragePaths, name: &str) {
    let _ = fsutil::remove_if_exists(&paths.formats_file(name));
}
