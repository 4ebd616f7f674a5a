//! Reading image headers: a qcow2 file's virtual size and backing file, and the
//! backing chain walk that refuses loops.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// What a qcow2 header says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Qcow2Header {
    pub version: u32,
    pub size: u64,
    pub backing: Option<String>,
    pub backing_format: Option<String>,
    pub cluster_bits: u32,
    pub lazy_refcounts: bool,
}

const QCOW2_MAGIC: &[u8; 4] = b"QFI\xfb";
/// Header extension holding the backing file's format.
const EXT_BACKING_FORMAT: u32 = 0xE279_2ACA;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    (u64::from(be32(b, at)) << 32) | u64::from(be32(b, at + 4))
}

/// The qcow2 header of `path`, or None when the file is not qcow2.
pub fn read_qcow2(path: &Path) -> Option<Qcow2Header> {
    let mut f = File::open(path).ok()?;
    let mut head = vec![0u8; 4096];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(_) => return None,
        }
    }
    head.truncate(got);
    if head.len() < 72 || &head[..4] != QCOW2_MAGIC {
        return None;
    }
    let version = be32(&head, 4);
    let backing_offset = be64(&head, 8) as usize;
    let backing_size = be32(&head, 16) as usize;
    let cluster_bits = be32(&head, 20);
    let size = be64(&head, 24);
    let mut header = Qcow2Header {
        version,
        size,
        cluster_bits,
        ..Default::default()
    };
    if backing_offset != 0 && backing_size > 0 && backing_size <= 1023 {
        let mut name = vec![0u8; backing_size];
        if f.read_exact_at(&mut name, backing_offset as u64).is_ok() {
            header.backing = String::from_utf8(name).ok();
        }
    }
    let mut ext_at = 72;
    if version >= 3 && head.len() >= 104 {
        // Compatible feature bit 0: lazy refcounts.
        let compatible = be64(&head, 80);
        header.lazy_refcounts = compatible & 1 != 0;
        ext_at = be32(&head, 100) as usize;
    }
    // Header extensions follow the header up to the first cluster.
    while ext_at + 8 <= head.len() {
        let kind = be32(&head, ext_at);
        let len = be32(&head, ext_at + 4) as usize;
        if kind == 0 {
            break;
        }
        let data = ext_at + 8;
        if data + len > head.len() {
            break;
        }
        if kind == EXT_BACKING_FORMAT {
            header.backing_format = String::from_utf8(head[data..data + len].to_vec()).ok();
        }
        ext_at = data + len.div_ceil(8) * 8;
    }
    Some(header)
}

/// Where a backing file name points, relative names taken from the image's directory.
pub fn resolve_backing(image: &Path, backing: &str) -> PathBuf {
    let p = Path::new(backing);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        image.parent().unwrap_or(Path::new("/")).join(p)
    }
}

/// Longest backing chain followed.
const CHAIN_MAX: usize = 200;

/// Walks the backing chain from `start`; Err names the image whose backing
/// store refers back into the chain.
pub fn check_chain(start: &Path) -> Result<(), (PathBuf, String)> {
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut current = start.to_path_buf();
    for _ in 0..CHAIN_MAX {
        let canonical = std::fs::canonicalize(&current).unwrap_or_else(|_| current.clone());
        if seen.contains(&canonical) {
            return Err((current, canonical.display().to_string()));
        }
        seen.push(canonical);
        let Some(header) = read_qcow2(&current) else {
            return Ok(());
        };
        let Some(backing) = header.backing else {
            return Ok(());
        };
        current = resolve_backing(&current, &backing);
    }
    Err((current, "chain too long".to_string()))
}
