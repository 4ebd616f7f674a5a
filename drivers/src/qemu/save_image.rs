//! The layout of a saved guest (`virsh save`, managed save), libvirt's: a fixed header
//! (magic, version 2, data length, was-running, format 0 = raw, cookie offset, 14
//! unused words, in the host's byte order), the domain XML and an optional cookie, both
//! NUL-terminated, zero padding up to the data length, then QEMU's migration stream.
//! The 64 KiB of padding lets a later `save-image-define` store a longer XML in place.
//! While the stream is written the magic says "partial"; it is set last, so an
//! interrupted save never passes for a complete image.

use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::error::QemuError;

const MAGIC: &[u8; 16] = b"LibvirtQemudSave";
const PARTIAL: &[u8; 16] = b"LibvirtQemudPart";
/// The first bytes of QEMU's own migration stream: an image without our header.
const QEMU_STREAM_MAGIC: &[u8; 4] = b"QEVM";
const VERSION: u32 = 2;
/// magic + version, data_len, was_running, format, cookie offset + 14 unused words.
pub const HEADER_LEN: usize = 16 + 4 * 19;
/// Room left after the XML for a longer one written later.
const PADDING: usize = 64 * 1024;
/// Far above any real definition; a larger length is a damaged or hostile image.
const MAX_DATA_LEN: usize = 16 * 1024 * 1024;

/// What a save image says about the guest in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaveHeader {
    pub xml: String,
    /// libvirt's save cookie (CPU details), kept as it is when the XML is rewritten.
    pub cookie: Option<String>,
    pub was_running: bool,
    /// Length of the XML area (XML, cookie and padding).
    pub data_len: u32,
    /// Where the migration stream begins.
    pub stream_offset: u64,
}

/// Header, XML, cookie and padding. `data_len` is the area to fill (the one of an
/// image being rewritten) or `None` for a new image.
fn encode(
    magic: &[u8; 16],
    xml: &str,
    cookie: Option<&str>,
    was_running: bool,
    data_len: Option<u32>,
) -> Result<Vec<u8>, QemuError> {
    if xml.contains('\0') || cookie.is_some_and(|c| c.contains('\0')) {
        return Err(QemuError::Failed("domain XML contains a NUL byte".into()));
    }
    let xml_len = xml.len() + 1;
    let used = xml_len + cookie.map_or(0, |c| c.len() + 1);
    let area = match data_len {
        Some(len) if used > len as usize => {
            return Err(QemuError::Failed("new xml too large to fit in file".into()))
        }
        Some(len) => len as usize,
        None => used + PADDING,
    };
    if area > MAX_DATA_LEN {
        return Err(QemuError::Failed("domain XML is too large".into()));
    }
    let cookie_offset = if cookie.is_some() { xml_len } else { 0 };
    let mut out = Vec::with_capacity(HEADER_LEN + area);
    out.extend_from_slice(magic);
    for word in [
        VERSION,
        area as u32,
        u32::from(was_running),
        0,
        cookie_offset as u32,
    ] {
        out.extend_from_slice(&word.to_ne_bytes());
    }
    out.extend_from_slice(&[0u8; 14 * 4]);
    out.extend_from_slice(xml.as_bytes());
    out.push(0);
    if let Some(cookie) = cookie {
        out.extend_from_slice(cookie.as_bytes());
        out.push(0);
    }
    out.resize(HEADER_LEN + area, 0);
    Ok(out)
}

/// Header and XML of a new image, still marked partial.
pub fn encode_header(xml: &str, was_running: bool) -> Result<Vec<u8>, QemuError> {
    encode(PARTIAL, xml, None, was_running, None)
}

/// The text up to the first NUL of `bytes`.
fn c_string(bytes: &[u8], what: &str) -> Result<String, String> {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8(bytes[..end].to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

/// Parses the header at the start of `file`. `Ok(None)`: the file is a bare QEMU
/// migration stream (an image written before images had a header).
fn parse(file: &mut File) -> Result<Option<SaveHeader>, String> {
    let mut header = [0u8; HEADER_LEN];
    file.read_exact(&mut header)
        .map_err(|_| "failed to read qemu header".to_string())?;
    if &header[..16] != MAGIC {
        if &header[..16] == PARTIAL {
            return Err("save image is incomplete".into());
        }
        if &header[..4] == QEMU_STREAM_MAGIC {
            return Ok(None);
        }
        return Err("image magic is incorrect".into());
    }
    let mut words = [0u32; 5];
    for (i, word) in words.iter_mut().enumerate() {
        let start = 16 + 4 * i;
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(&header[start..start + 4]);
        *word = u32::from_ne_bytes(bytes);
    }
    // Written on a host of the other byte order.
    if words[0] > VERSION {
        words = words.map(u32::swap_bytes);
    }
    let [version, data_len, was_running, format, cookie_offset] = words;
    if version > VERSION {
        return Err(format!(
            "image version is not supported ({version} > {VERSION})"
        ));
    }
    if format != 0 {
        return Err(format!("unsupported save image format: {format}"));
    }
    let len = data_len as usize;
    if len == 0 || len > MAX_DATA_LEN || cookie_offset > data_len {
        return Err(format!("invalid header data length: {data_len}"));
    }
    let mut data = vec![0u8; len];
    file.read_exact(&mut data)
        .map_err(|_| "failed to read domain XML".to_string())?;
    let xml_len = if cookie_offset == 0 {
        len
    } else {
        cookie_offset as usize
    };
    let xml = c_string(&data[..xml_len], "domain XML")?;
    let cookie = if cookie_offset == 0 {
        None
    } else {
        Some(c_string(&data[xml_len..], "save cookie")?).filter(|c| !c.is_empty())
    };
    Ok(Some(SaveHeader {
        xml,
        cookie,
        was_running: was_running != 0,
        data_len,
        stream_offset: (HEADER_LEN + len) as u64,
    }))
}

fn open_error(path: &Path, e: std::io::Error) -> QemuError {
    QemuError::io("cannot open save image", path, e)
}

/// libvirt's words, which do not name the file.
fn bad(_path: &Path, why: String) -> QemuError {
    QemuError::Failed(why)
}

/// Reads and checks the header of an image.
pub fn read_header(path: &Path) -> Result<SaveHeader, QemuError> {
    read_image(path)?.ok_or_else(|| bad(path, "image magic is incorrect".into()))
}

/// Like [`read_header`], but a bare migration stream is `Ok(None)` rather than an error.
pub fn read_image(path: &Path) -> Result<Option<SaveHeader>, QemuError> {
    let mut file = open_header(path).map_err(|e| open_error(path, e))?;
    let parsed = parse(&mut file);
    forget_header(&file);
    parsed.map_err(|why| bad(path, why))
}

/// Opens an image to read its header only: without read-ahead, so the guest memory
/// after it stays out of the page cache (a restore may bypass the cache).
fn open_header(path: &Path) -> std::io::Result<File> {
    let file = File::open(path)?;
    let _ = posix_fadvise(&file, 0, 0, PosixFadviseAdvice::POSIX_FADV_RANDOM);
    Ok(file)
}

/// Drops the header's pages, read once, from the page cache.
fn forget_header(file: &File) {
    let _ = posix_fadvise(
        file,
        0,
        (HEADER_LEN + MAX_DATA_LEN) as libc::off_t,
        PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    );
}

/// An image a save did not finish (cut short or still marked partial): a start from
/// a managed save drops it and boots, as libvirt does.
pub fn is_incomplete(path: &Path) -> bool {
    let mut header = [0u8; HEADER_LEN];
    let read = open_header(path).and_then(|mut f| {
        let read = f.read_exact(&mut header);
        forget_header(&f);
        read
    });
    match read {
        Ok(()) => &header[..16] == PARTIAL,
        Err(e) => e.kind() == std::io::ErrorKind::UnexpectedEof,
    }
}

/// Replaces the XML (and, when given, the running state) of an existing image in
/// place; the stream after the header is untouched. The new XML must fit the area the
/// image has.
pub fn rewrite_header(path: &Path, xml: &str, was_running: Option<bool>) -> Result<(), QemuError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    let old = parse(&mut file)
        .map_err(|why| bad(path, why))?
        .ok_or_else(|| bad(path, "image magic is incorrect".into()))?;
    let bytes = encode(
        MAGIC,
        xml,
        old.cookie.as_deref(),
        was_running.unwrap_or(old.was_running),
        Some(old.data_len),
    )?;
    file.write_all_at(&bytes, 0)
        .and_then(|()| file.sync_all())
        .map_err(|e| QemuError::io("failed to write header data to", path, e))
}

/// Creates the file a save goes to: new (an existing file or symlink at
/// `path` is an error, never followed) and 0600, since it holds guest RAM.
/// QEMU gets the open descriptor, never the path.
pub fn create_image(path: &Path) -> Result<File, QemuError> {
    crate::fsutil::create_private_file(path)
        .map_err(|e| QemuError::io("cannot create save image", path, e))
}

/// Writes the header of a new image, marked partial, at the start of `file` (QEMU
/// appends the stream after it, from the file's offset).
pub fn write_header(
    file: &mut File,
    path: &Path,
    xml: &str,
    was_running: bool,
) -> Result<(), QemuError> {
    file.write_all(&encode_header(xml, was_running)?)
        .map_err(|e| QemuError::io("cannot write save image", path, e))
}

/// Marks a fully written image complete.
pub fn mark_complete(file: &File, path: &Path) -> Result<(), QemuError> {
    file.write_all_at(MAGIC, 0)
        .map_err(|e| QemuError::io("failed to write header to domain save file", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("qemu-save-{name}-{}.img", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn header_round_trip_and_rejects() {
        let path = temp("rt");
        let mut file = create_image(&path).expect("create");
        write_header(&mut file, &path, "<domain/>", true).expect("write");
        assert!(
            create_image(&path).is_err(),
            "an existing image is never reused"
        );
        let partial = read_header(&path).expect_err("a partial image is refused");
        assert!(partial.to_string().contains("incomplete"), "{partial}");
        assert!(is_incomplete(&path));
        mark_complete(&file, &path).expect("complete");
        let header = read_header(&path).expect("read");
        assert!(!is_incomplete(&path));
        assert_eq!(header.xml, "<domain/>");
        assert!(header.was_running);
        assert_eq!(header.data_len as usize, 10 + PADDING);
        assert_eq!(header.stream_offset, (HEADER_LEN + 10 + PADDING) as u64);
        std::fs::write(&path, b"not an image at all, not at all, really not, no").expect("junk");
        assert!(read_header(&path).is_err());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn rewrite_keeps_cookie_and_stream() {
        let path = temp("rw");
        let mut bytes = encode(MAGIC, "<domain/>", Some("<cookie/>"), true, None).expect("encode");
        bytes.extend_from_slice(b"QEVMstream");
        std::fs::write(&path, &bytes).expect("write");
        rewrite_header(&path, "<domain><name>x</name></domain>", Some(false)).expect("rewrite");
        let header = read_header(&path).expect("read");
        assert_eq!(header.xml, "<domain><name>x</name></domain>");
        assert_eq!(header.cookie.as_deref(), Some("<cookie/>"));
        assert!(!header.was_running);
        let all = std::fs::read(&path).expect("read back");
        assert_eq!(&all[header.stream_offset as usize..], b"QEVMstream");
        let huge = "x".repeat(PADDING + 100);
        let err = rewrite_header(&path, &huge, None).expect_err("too large");
        assert!(err.to_string().contains("too large"), "{err}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn other_byte_order_and_bare_streams_are_read() {
        let path = temp("bo");
        let mut bytes = encode(MAGIC, "<domain/>", None, true, None).expect("encode");
        for i in 0..5 {
            let at = 16 + 4 * i;
            bytes[at..at + 4].reverse();
        }
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(read_header(&path).expect("swapped").xml, "<domain/>");
        let mut bare = b"QEVM".to_vec();
        bare.resize(HEADER_LEN, 0);
        std::fs::write(&path, &bare).expect("write");
        assert_eq!(read_image(&path).expect("bare"), None);
        let _ = std::fs::remove_file(&path);
    }
}
