//! The container's log (`<log dir>/lxc/NAME.log`, the supervisor's stderr) with a size
//! cap: a container printing without end would otherwise fill the host's log partition.
//! Past [`LIMIT`] bytes the file becomes `NAME.log.0` (replacing the previous one) and
//! a fresh `NAME.log` takes its place, so at most twice the limit is kept.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

/// Size at which the log is rotated.
pub const LIMIT: u64 = 4 << 20;

pub struct ConsoleLog {
    /// The log file behind stderr; None when stderr is not a regular file.
    path: Option<PathBuf>,
    written: u64,
    limit: u64,
}

impl ConsoleLog {
    /// Finds the file stderr writes to and rotates it at once when already full.
    pub fn from_stderr() -> ConsoleLog {
        ConsoleLog::with_limit(LIMIT)
    }

    fn with_limit(limit: u64) -> ConsoleLog {
        let mut log = ConsoleLog {
            path: None,
            written: 0,
            limit,
        };
        let Ok(meta) = fs::metadata("/proc/self/fd/2") else {
            return log;
        };
        let Ok(path) = fs::read_link("/proc/self/fd/2") else {
            return log;
        };
        // The name must still be this very file (not deleted, not replaced).
        let same = fs::metadata(&path)
            .is_ok_and(|m| m.is_file() && m.dev() == meta.dev() && m.ino() == meta.ino());
        if same {
            log.path = Some(path);
            log.written = meta.len();
            if log.written >= limit {
                log.rotate();
            }
        }
        log
    }

    /// Appends console output, rotating when the cap is reached.
    pub fn write(&mut self, bytes: &[u8]) {
        let _ = std::io::stderr().write_all(bytes);
        self.written = self.written.saturating_add(bytes.len() as u64);
        if self.written >= self.limit {
            self.rotate();
        }
    }

    fn rotate(&mut self) {
        let Some(path) = &self.path else {
            return;
        };
        let mut old = path.clone().into_os_string();
        old.push(".0");
        if fs::rename(path, &old).is_err() {
            return;
        }
        let fresh = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(path);
        if let Ok(file) = fresh {
            // dup2 replaces stderr atomically.
            let _ = nix::unistd::dup2_stderr(&file);
        }
        self.written = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_into_one_older_file() {
        let dir = std::env::temp_dir().join(format!("lxc-log-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("c.log");
        fs::write(&path, b"old").expect("seed");
        let mut log = ConsoleLog {
            path: Some(path.clone()),
            written: 8,
            limit: 8,
        };
        let mut old = path.clone().into_os_string();
        old.push(".0");
        // Rotation points stderr at the fresh file: keep the test's own to restore it.
        let saved = nix::unistd::dup(std::io::stderr()).expect("dup stderr");
        log.rotate();
        assert_eq!(fs::read(&old).expect("rotated"), b"old");
        assert!(path.exists(), "a fresh log was created");
        assert_eq!(log.written, 0);
        nix::unistd::dup2_stderr(&saved).expect("restore stderr");
        let _ = fs::remove_dir_all(&dir);
    }
}
