//! The modes of what the daemon creates. The whole process runs with umask
//! 077, so a file created anywhere without an explicit mode (a log, a saved
//! guest, a status file) is private to root; the few directories other users
//! must traverse (the socket directory and its parents) are given their mode
//! explicitly, whatever the umask.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Files hold definitions, guest RAM, VNC passwords and logs: nobody but the
/// daemon's user may read them.
pub const DAEMON_UMASK: libc::mode_t = 0o077;

/// Sets the daemon-wide umask. Called first thing in `main`, before any
/// thread or file exists; children (QEMU, hooks) inherit it.
pub fn restrict_umask() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(DAEMON_UMASK));
}

/// Creates `dir` and its missing parents, each with exactly `mode` (not
/// reduced by the umask). Directories that already exist keep their mode, as
/// an administrator may have chosen it.
pub fn create_dirs_with_mode(dir: &Path, mode: u32) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs_with_mode(parent, mode)?;
    }
    match DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(mode)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_directories_get_the_mode_whatever_the_umask() {
        let base = std::env::temp_dir().join(format!("file-modes-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir(&base).expect("base");
        fs::set_permissions(&base, fs::Permissions::from_mode(0o700)).expect("chmod base");
        let deep = base.join("a/b");
        create_dirs_with_mode(&deep, 0o755).expect("create");
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
        assert_eq!(mode(&base.join("a")), 0o755);
        assert_eq!(mode(&deep), 0o755);
        assert_eq!(mode(&base), 0o700, "an existing directory keeps its mode");
        create_dirs_with_mode(&deep, 0o700).expect("again");
        assert_eq!(mode(&deep), 0o755);
        let _ = fs::remove_dir_all(&base);
    }
}
