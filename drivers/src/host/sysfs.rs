//! Reading the small text files of sysfs and procfs, and the CPU-list notation
//! ("0-3,8,10-11") the kernel uses for sets of CPUs.
//!
//! Every reader takes the path it reads, so the callers can point the whole host module
//! at a fake tree (see [`HostRoots`]) in tests.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// Where the host's sysfs and procfs are mounted. Always `/sys` and `/proc` in the
/// daemon; tests point them at fixture trees.
#[derive(Clone, Debug)]
pub(crate) struct HostRoots {
    pub(crate) sysfs: PathBuf,
    pub(crate) procfs: PathBuf,
}

impl Default for HostRoots {
    fn default() -> Self {
        HostRoots {
            sysfs: PathBuf::from("/sys"),
            procfs: PathBuf::from("/proc"),
        }
    }
}

impl HostRoots {
    /// `/sys/devices/system`: CPUs and NUMA nodes.
    pub(crate) fn system(&self) -> PathBuf {
        self.sysfs.join("devices/system")
    }

    pub(crate) fn cpu_dir(&self, cpu: u32) -> PathBuf {
        self.system().join(format!("cpu/cpu{cpu}"))
    }

    pub(crate) fn node_dir(&self, node: u32) -> PathBuf {
        self.system().join(format!("node/node{node}"))
    }

    pub(crate) fn cpuinfo(&self) -> PathBuf {
        self.procfs.join("cpuinfo")
    }
}

/// Errors that can only come from malformed kernel files.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SysfsError {
    #[error("cannot parse '{value}' in {path}")]
    Parse { path: PathBuf, value: String },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

impl From<SysfsError> for io::Error {
    fn from(err: SysfsError) -> io::Error {
        match err {
            SysfsError::Parse { .. } => io::Error::new(io::ErrorKind::InvalidData, err),
            SysfsError::Read { ref source, .. } => io::Error::new(source.kind(), err),
        }
    }
}

/// The file's content without surrounding whitespace; `None` when it does not exist
/// (many topology files are optional and mean "0" or "just this CPU" when absent).
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, SysfsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SysfsError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// An integer file; `None` when missing.
pub(crate) fn read_optional_i64(path: &Path) -> Result<Option<i64>, SysfsError> {
    match read_optional(path)? {
        None => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| SysfsError::Parse {
                path: path.to_path_buf(),
                value: text,
            }),
    }
}

/// A CPU-list file; `None` when missing.
pub(crate) fn read_optional_cpu_list(path: &Path) -> Result<Option<BTreeSet<u32>>, SysfsError> {
    match read_optional(path)? {
        None => Ok(None),
        Some(text) => parse_cpu_list(&text)
            .map(Some)
            .ok_or_else(|| SysfsError::Parse {
                path: path.to_path_buf(),
                value: text,
            }),
    }
}

/// Parses "0-3,8,10-11" (an empty string is the empty set). `None` on malformed input.
pub(crate) fn parse_cpu_list(text: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((lo, hi)) => {
                let lo: u32 = lo.trim().parse().ok()?;
                let hi: u32 = hi.trim().parse().ok()?;
                if hi < lo || hi - lo > 1 << 20 {
                    return None;
                }
                set.extend(lo..=hi);
            }
            None => {
                set.insert(part.trim().parse().ok()?);
            }
        }
    }
    Some(set)
}

/// Formats a set the way libvirt prints CPU sets: ascending, runs collapsed to "a-b".
pub(crate) fn format_cpu_list(set: &BTreeSet<u32>) -> String {
    let mut out = String::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        if !out.is_empty() {
            out.push(',');
        }
        if end == start {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
    }
    out
}

/// Numbers N of the directory entries named `<prefix>N` under `dir`, ascending. Like a
/// `sscanf("<prefix>%u")` match, trailing text after the digits is ignored.
pub(crate) fn numbered_entries(dir: &Path, prefix: &str) -> io::Result<Vec<u32>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(id) = digits.parse::<u32>() {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Parses a size such as "32768K", "1M" or "512" (bytes) into bytes.
pub(crate) fn parse_scaled_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let value: u64 = digits.parse().ok()?;
    let scale: u64 = match suffix.trim() {
        "" | "B" => 1,
        "K" | "k" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        _ => return None,
    };
    value.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_round_trip() {
        let set = parse_cpu_list("0-3,8,10-11\n").expect("valid list");
        assert_eq!(
            set.iter().copied().collect::<Vec<_>>(),
            [0, 1, 2, 3, 8, 10, 11]
        );
        assert_eq!(format_cpu_list(&set), "0-3,8,10-11");
        assert_eq!(format_cpu_list(&parse_cpu_list("5").expect("single")), "5");
        assert_eq!(
            format_cpu_list(&parse_cpu_list("0-1").expect("pair")),
            "0-1"
        );
        assert!(parse_cpu_list("").expect("empty").is_empty());
    }

    #[test]
    fn malformed_cpu_lists_are_rejected() {
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a"), None);
        assert_eq!(parse_cpu_list("0-"), None);
    }

    #[test]
    fn scaled_sizes() {
        assert_eq!(parse_scaled_size("32768K"), Some(32 << 20));
        assert_eq!(parse_scaled_size("512"), Some(512));
        assert_eq!(parse_scaled_size("2M"), Some(2 << 20));
        assert_eq!(parse_scaled_size("12X"), None);
    }
}
