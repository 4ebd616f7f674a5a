//! The corpus on disk: `fuzz/corpus/<target>/<hash>`, one input per file,
//! named by a hash of its content so that adding an input twice is a no-op.

use std::io;
use std::path::{Path, PathBuf};

/// The corpus directory of a target inside this repository.
pub fn dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// Where a campaign writes inputs that panicked.
pub fn crash_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crashes")
        .join(target)
}

/// FNV-1a, 64 bits: stable across runs and platforms.
pub fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn name(bytes: &[u8]) -> String {
    format!("{:016x}", hash(bytes))
}

/// Every input of `dir`, sorted by file name; an absent directory is empty.
pub fn load(dir: &Path) -> io::Result<Vec<Vec<u8>>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.iter().map(std::fs::read).collect()
}

/// Writes `input` unless an identical one is there; `true` when written.
pub fn save(dir: &Path, input: &[u8]) -> io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name(input));
    if path.exists() {
        return Ok(false);
    }
    std::fs::write(path, input)?;
    Ok(true)
}
