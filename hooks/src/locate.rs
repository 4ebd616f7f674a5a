//! Finding hook scripts: the main script `<dir>/<driver>` and every executable
//! in `<dir>/<driver>.d/`.
//!
//! A script counts when it is a regular file (symbolic links are followed)
//! with any execute bit set, as in libvirt; anything else found under a
//! script's name is skipped with a warning, so an admin who forgot
//! `chmod +x` finds out from the log.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tracing::{debug, warn};

use crate::driver::HookDriver;

/// What one scan of the hooks directory found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Indexed by [`HookDriver::index`]: at least one runnable script exists.
    pub found: [bool; HookDriver::ALL.len()],
    /// Entries that look like scripts but cannot run (no execute bit, not a file).
    pub skipped: Vec<PathBuf>,
}

/// Looks for the scripts of every driver under `dir`, logging what it finds.
pub(crate) fn scan(dir: &Path) -> Scan {
    let mut result = Scan::default();
    for driver in HookDriver::ALL {
        let main = main_script(dir, driver);
        let mut found = false;
        match fs::metadata(&main) {
            Ok(meta) if is_runnable(&meta) => {
                debug!("Found hook script {}", main.display());
                found = true;
            }
            Ok(_) => {
                warn!("Non-executable hook script {}", main.display());
                result.skipped.push(main);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                debug!("No hook script {}", main.display());
            }
            Err(e) => warn!("Cannot inspect hook script {}: {e}", main.display()),
        }
        for (path, runnable) in directory_entries(dir, driver) {
            if runnable {
                debug!("Found hook script {}", path.display());
                found = true;
            } else {
                warn!("Non-executable hook script {}", path.display());
                result.skipped.push(path);
            }
        }
        result.found[driver.index()] = found;
    }
    result
}

/// The scripts to run for `driver`, in order: the main script, then the
/// `.d/` entries sorted by the bytes of their names (libvirt's `strcmp`).
pub(crate) fn scripts(dir: &Path, driver: HookDriver) -> Vec<PathBuf> {
    let main = main_script(dir, driver);
    let mut out = Vec::new();
    if is_executable(&main) {
        out.push(main);
    }
    out.extend(
        directory_entries(dir, driver)
            .into_iter()
            .filter_map(|(path, runnable)| runnable.then_some(path)),
    );
    out
}

/// Whether `path` is something a hook call would run.
pub(crate) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| is_runnable(&meta))
}

fn is_runnable(meta: &fs::Metadata) -> bool {
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

fn main_script(dir: &Path, driver: HookDriver) -> PathBuf {
    dir.join(driver.name())
}

/// Every entry of `<dir>/<driver>.d/` with whether it can run, sorted by name.
/// A missing directory is the normal case and yields nothing.
fn directory_entries(dir: &Path, driver: HookDriver) -> Vec<(PathBuf, bool)> {
    let mut name: OsString = driver.name().into();
    name.push(".d");
    let script_dir = dir.join(name);
    let reader = match fs::read_dir(&script_dir) {
        Ok(reader) => reader,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            // Not a directory, or not readable: libvirt treats both as "no scripts".
            debug!("Hook dir {} is not accessible: {e}", script_dir.display());
            return Vec::new();
        }
    };
    let mut entries: Vec<(PathBuf, bool)> = reader
        .filter_map(|entry| match entry {
            Ok(entry) => Some(entry.path()),
            Err(e) => {
                warn!("Cannot read hook dir {}: {e}", script_dir.display());
                None
            }
        })
        .map(|path| {
            let runnable = is_executable(&path);
            (path, runnable)
        })
        .collect();
    entries.sort_by(|(a, _), (b, _)| {
        let a = a.file_name().map(OsStrExt::as_bytes).unwrap_or_default();
        let b = b.file_name().map(OsStrExt::as_bytes).unwrap_or_default();
        a.cmp(b)
    });
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, mode: u32) {
        fs::write(path, "#!/bin/sh\nexit 0\n").expect("write script");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn empty_or_missing_directory_finds_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(scan(dir.path()), Scan::default());
        assert_eq!(scan(&dir.path().join("absent")), Scan::default());
        assert!(scripts(dir.path(), HookDriver::Qemu).is_empty());
    }

    #[test]
    fn main_script_then_sorted_directory_entries() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().join("qemu.d");
        fs::create_dir(&d).expect("mkdir");
        write(&dir.path().join("qemu"), 0o755);
        write(&d.join("b-second"), 0o700);
        write(&d.join("A-upper-first"), 0o700);
        write(&d.join("a-first"), 0o100);
        let found = scripts(dir.path(), HookDriver::Qemu);
        let expected = vec![
            dir.path().join("qemu"),
            d.join("A-upper-first"),
            d.join("a-first"),
            d.join("b-second"),
        ];
        assert_eq!(found, expected);
        let result = scan(dir.path());
        assert!(result.found[HookDriver::Qemu.index()]);
        assert!(!result.found[HookDriver::Lxc.index()]);
        assert!(result.skipped.is_empty());
    }

    #[test]
    fn non_executable_entries_are_skipped_and_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().join("lxc.d");
        fs::create_dir(&d).expect("mkdir");
        write(&dir.path().join("daemon"), 0o644);
        write(&d.join("plain"), 0o644);
        fs::create_dir(d.join("subdir")).expect("mkdir");
        write(&d.join("runs"), 0o755);
        let result = scan(dir.path());
        assert!(!result.found[HookDriver::Daemon.index()]);
        assert!(result.found[HookDriver::Lxc.index()]);
        assert_eq!(
            result.skipped,
            vec![dir.path().join("daemon"), d.join("plain"), d.join("subdir")]
        );
        assert_eq!(scripts(dir.path(), HookDriver::Lxc), vec![d.join("runs")]);
        assert!(scripts(dir.path(), HookDriver::Daemon).is_empty());
    }

    #[test]
    fn directory_alone_makes_the_driver_present() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().join("network.d");
        fs::create_dir(&d).expect("mkdir");
        write(&d.join("only"), 0o755);
        assert!(scan(dir.path()).found[HookDriver::Network.index()]);
    }

    #[test]
    fn symbolic_links_are_followed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("real-script");
        write(&target, 0o755);
        std::os::unix::fs::symlink(&target, dir.path().join("qemu")).expect("symlink");
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("lxc"))
            .expect("dangling symlink");
        assert_eq!(
            scripts(dir.path(), HookDriver::Qemu),
            vec![dir.path().join("qemu")]
        );
        assert!(scripts(dir.path(), HookDriver::Lxc).is_empty());
    }

    #[test]
    fn a_file_named_like_the_directory_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(&dir.path().join("qemu.d"), 0o755);
        assert!(scripts(dir.path(), HookDriver::Qemu).is_empty());
        assert!(!scan(dir.path()).found[HookDriver::Qemu.index()]);
    }
}
