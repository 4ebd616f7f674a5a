//! The daemon's pid file: proof that one daemon owns a given configuration.
//!
//! The file is opened (created 0600 if needed, where libvirtd makes it
//! 0644), a write lock is taken on its first byte without waiting, then it
//! is truncated and the pid is written as decimal digits without a newline,
//! which is what libvirtd 9.0 writes. The descriptor stays open for the
//! daemon's lifetime: the lock, not the file's existence, says a daemon is
//! alive, so a file left behind by a crash is simply taken over.
//!
//! The lock is an open-file-description lock (`F_OFD_SETLK`) rather than a
//! classic POSIX record lock. Both kinds conflict with each other on Linux,
//! so a real libvirtd and this daemon still exclude one another, but OFD
//! locks belong to the open file instead of the process: two acquisitions
//! inside one process conflict as they should (which makes the behaviour
//! testable in-process), and closing some other descriptor of the same file
//! cannot silently drop the lock. Children forked by the daemon share the
//! open file until they exec; the descriptor is close-on-exec.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::logging::os_error_text;
use crate::startup::file_modes::create_dirs_with_mode;

/// Why the pid file could not be claimed. The texts are libvirt's; the
/// caller logs them and exits with status 1 (libvirt's "pidfile" failure).
#[derive(Debug, Error)]
pub enum PidFileError {
    #[error("Failed to open pid file '{}': {}", path.display(), os_error_text(source))]
    Open { path: PathBuf, source: io::Error },
    #[error("Unable to check status of pid file '{}': {}", path.display(), os_error_text(source))]
    Status { path: PathBuf, source: io::Error },
    /// Another process holds the lock: a daemon is already running.
    #[error("Failed to acquire pid file '{}': {}", path.display(), os_error_text(source))]
    Lock { path: PathBuf, source: io::Error },
    #[error("Failed to truncate pid file '{}': {}", path.display(), os_error_text(source))]
    Truncate { path: PathBuf, source: io::Error },
    #[error("Failed to write to pid file '{}': {}", path.display(), os_error_text(source))]
    Write { path: PathBuf, source: io::Error },
}

/// A claimed pid file. Dropping it releases the lock but leaves the file;
/// an orderly shutdown calls [`PidFile::remove`] instead.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    /// `None` for the empty path, which means "no pid file" (as in libvirt).
    file: Option<File>,
}

impl PidFile {
    /// Claims `path` for process `pid`. Missing parent directories are
    /// created (mode 0755 whatever the umask, since the socket directory may
    /// live below them) so a fresh `LIBVIRTD_ROOT` works; libvirtd 9.0 fails
    /// there instead. An empty path claims nothing and succeeds.
    pub fn acquire(path: &Path, pid: u32) -> Result<PidFile, PidFileError> {
        if path.as_os_str().is_empty() {
            return Ok(PidFile {
                path: PathBuf::new(),
                file: None,
            });
        }
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            // A failure here resurfaces as the open error below, which
            // names the pid file the way libvirt does.
            let _ = create_dirs_with_mode(parent, 0o755);
        }
        let file = loop {
            let file = open_for_locking(path)?;
            let opened = file.metadata().map_err(|source| PidFileError::Status {
                path: path.to_owned(),
                source,
            })?;
            lock_first_byte(&file).map_err(|source| PidFileError::Lock {
                path: path.to_owned(),
                source,
            })?;
            // Someone may have unlinked or replaced the file between our
            // open and our lock; then the lock protects nothing: retry.
            match fs::metadata(path) {
                Ok(current) if current.ino() == opened.ino() && current.dev() == opened.dev() => {
                    break file
                }
                _ => continue,
            }
        };
        file.set_len(0).map_err(|source| PidFileError::Truncate {
            path: path.to_owned(),
            source,
        })?;
        (&file)
            .write_all(pid.to_string().as_bytes())
            .map_err(|source| PidFileError::Write {
                path: path.to_owned(),
                source,
            })?;
        Ok(PidFile {
            path: path.to_owned(),
            file: Some(file),
        })
    }

    /// The claimed path (empty when no pid file is used).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Orderly release: unlink first, then unlock by closing, so no other
    /// daemon can lock the old file just before it disappears.
    pub fn remove(mut self) -> io::Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let unlinked = match fs::remove_file(&self.path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        };
        drop(file);
        unlinked
    }
}

fn open_for_locking(path: &Path) -> Result<File, PidFileError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| PidFileError::Open {
            path: path.to_owned(),
            source,
        })
}

/// Takes a non-blocking OFD write lock on byte 0, the byte libvirt locks.
fn lock_first_byte(file: &File) -> io::Result<()> {
    let request = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 1,
        l_pid: 0, // required to be 0 for OFD locks
    };
    nix::fcntl::fcntl(file, nix::fcntl::FcntlArg::F_OFD_SETLK(&request))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pid_without_newline_and_removes_on_orderly_exit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("run/nested/libvirtd.pid");
        let pidfile = PidFile::acquire(&path, 4242).expect("acquire");
        assert_eq!(fs::read_to_string(&path).expect("read"), "4242");
        assert_eq!(pidfile.path(), path.as_path());
        pidfile.remove().expect("remove");
        assert!(!path.exists());
    }

    #[test]
    fn second_claim_fails_with_libvirt_text_while_first_is_held() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("libvirtd.pid");
        let first = PidFile::acquire(&path, 1).expect("first acquire");
        let err = PidFile::acquire(&path, 2).expect_err("second acquire must fail");
        assert_eq!(
            err.to_string(),
            format!(
                "Failed to acquire pid file '{}': Resource temporarily unavailable",
                path.display()
            )
        );
        // The loser must not have clobbered the owner's pid.
        assert_eq!(fs::read_to_string(&path).expect("read"), "1");
        drop(first);
        // Drop released the lock but kept the file: it is now stale.
        assert!(path.exists());
        let second = PidFile::acquire(&path, 22).expect("take over stale file");
        assert_eq!(fs::read_to_string(&path).expect("read"), "22");
        second.remove().expect("remove");
    }

    #[test]
    fn stale_file_with_longer_content_is_truncated() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("libvirtd.pid");
        fs::write(&path, "123456789\n").expect("write stale file");
        let pidfile = PidFile::acquire(&path, 7).expect("acquire");
        assert_eq!(fs::read_to_string(&path).expect("read"), "7");
        drop(pidfile);
    }

    #[test]
    fn empty_path_means_no_pid_file() {
        let pidfile = PidFile::acquire(Path::new(""), 7).expect("acquire");
        assert_eq!(pidfile.path(), Path::new(""));
        pidfile.remove().expect("remove");
    }

    #[test]
    fn open_failure_names_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("plain-file");
        fs::write(&blocker, "").expect("write");
        let path = blocker.join("libvirtd.pid");
        let err = PidFile::acquire(&path, 1).expect_err("parent is a file");
        assert_eq!(
            err.to_string(),
            format!(
                "Failed to open pid file '{}': Not a directory",
                path.display()
            )
        );
    }
}
