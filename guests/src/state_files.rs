//! The two files libvirt-guests keeps between runs: the list of guests handled at the
//! last `stop` (one line per URI: `URI UUID UUID...`), and the lock file that says
//! `start` ran since.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Location of the guest list (relative to `/`).
pub const LIST_FILE: &str = "/var/lib/libvirt/libvirt-guests";
/// Location of the lock file (Debian's; upstream uses `/var/lock/subsys/`).
pub const LOCK_FILE: &str = "/var/lock/libvirt-guests";

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One line of the guest list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriGuests {
    pub uri: String,
    pub uuids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StateFiles {
    pub list: PathBuf,
    pub lock: PathBuf,
}

impl StateFiles {
    pub fn new(rooted: impl Fn(&Path) -> PathBuf) -> StateFiles {
        StateFiles {
            list: rooted(Path::new(LIST_FILE)),
            lock: rooted(Path::new(LOCK_FILE)),
        }
    }

    pub fn list_exists(&self) -> bool {
        self.list.is_file()
    }

    pub fn lock_exists(&self) -> bool {
        self.lock.is_file()
    }

    /// Starts an empty guest list (truncating any earlier one).
    pub fn create_list(&self) -> Result<(), StateFileError> {
        create_parent(&self.list)?;
        std::fs::write(&self.list, b"").map_err(|source| self.write_error(source))
    }

    /// Adds the guests of one URI and flushes them to disk right away: the host may be
    /// going down, and the list is what brings the guests back.
    pub fn append(&self, entry: &UriGuests) -> Result<(), StateFileError> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.list)
            .map_err(|source| self.write_error(source))?;
        let line = format!("{} {}\n", entry.uri, entry.uuids.join(" "));
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| self.write_error(source))
    }

    /// The recorded guests; blank lines are skipped.
    pub fn read_list(&self) -> Result<Vec<UriGuests>, StateFileError> {
        let text = std::fs::read_to_string(&self.list).map_err(|source| StateFileError::Read {
            path: self.list.clone(),
            source,
        })?;
        Ok(parse_list(&text))
    }

    pub fn list_is_empty(&self) -> bool {
        std::fs::metadata(&self.list).map_or(true, |m| m.len() == 0)
    }

    pub fn remove_list(&self) {
        let _ = std::fs::remove_file(&self.list);
    }

    pub fn touch_lock(&self) -> Result<(), StateFileError> {
        create_parent(&self.lock)?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.lock)
            .map(drop)
            .map_err(|source| StateFileError::Write {
                path: self.lock.clone(),
                source,
            })
    }

    pub fn remove_lock(&self) {
        let _ = std::fs::remove_file(&self.lock);
    }

    fn write_error(&self, source: std::io::Error) -> StateFileError {
        StateFileError::Write {
            path: self.list.clone(),
            source,
        }
    }
}

fn create_parent(path: &Path) -> Result<(), StateFileError> {
    match path.parent() {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| StateFileError::Write {
            path: path.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

pub fn parse_list(text: &str) -> Vec<UriGuests> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let uri = words.next()?;
            Some(UriGuests {
                uri: uri.to_string(),
                uuids: words.map(str::to_string).collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let files = StateFiles::new(|p| dir.path().join(p.strip_prefix("/").unwrap()));
        assert!(!files.list_exists());
        files.create_list().unwrap();
        assert!(files.list_exists() && files.list_is_empty());
        let entry = UriGuests {
            uri: "qemu:///system".to_string(),
            uuids: vec!["a".to_string(), "b".to_string()],
        };
        files.append(&entry).unwrap();
        assert_eq!(
            std::fs::read_to_string(&files.list).unwrap(),
            "qemu:///system a b\n"
        );
        assert_eq!(files.read_list().unwrap(), vec![entry]);
        files.remove_list();
        assert!(!files.list_exists());
        files.touch_lock().unwrap();
        assert!(files.lock_exists());
        files.remove_lock();
        assert!(!files.lock_exists());
    }

    #[test]
    fn blank_lines_are_skipped() {
        assert_eq!(parse_list("\n  \nx 1\n").len(), 1);
    }
}
