//! The layout of a saved guest (`virsh save`): a fixed header, the domain XML, then
//! QEMU's migration stream. The header follows libvirt's ("LibvirtQemudSave", version
//! 2, XML length, was-running, compression 0 = raw, no cookie), native byte order.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use super::error::QemuError;

const MAGIC: &[u8; 16] = b"LibvirtQemudSave";
const VERSION: u32 = 2;
/// magic + version, data_len, was_running, compressed, cookie offset + 14 unused words.
pub const HEADER_LEN: usize = 16 + 4 * 19;

/// What a save image says about the guest in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaveHeader {
    pub xml: String,
    pub was_running: bool,
    /// Where the migration stream begins.
    pub stream_offset: u64,
}

/// Header and XML (NUL-terminated) for a new image.
pub fn encode_header(xml: &str, was_running: bool) -> Vec<u8> {
    let data_len = u32::try_from(xml.len() + 1).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + xml.len() + 1);
    out.extend_from_slice(MAGIC);
    for word in [VERSION, data_len, u32::from(was_running), 0, 0] {
        out.extend_from_slice(&word.to_ne_bytes());
    }
    out.extend_from_slice(&[0u8; 14 * 4]);
    out.extend_from_slice(xml.as_bytes());
    out.push(0);
    out
}

/// Reads and checks the header of an image.
pub fn read_header(path: &Path) -> Result<SaveHeader, QemuError> {
    let bad =
        |why: &str| QemuError::Failed(format!("cannot restore from '{}': {why}", path.display()));
    let mut file =
        std::fs::File::open(path).map_err(|e| QemuError::io("cannot open save image", path, e))?;
    let mut header = [0u8; HEADER_LEN];
    file.read_exact(&mut header)
        .map_err(|_| bad("image is too short"))?;
    if &header[..16] != MAGIC {
        return Err(bad("not a saved guest image"));
    }
    let word = |i: usize| {
        let start = 16 + 4 * i;
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(&header[start..start + 4]);
        u32::from_ne_bytes(bytes)
    };
    if word(0) != VERSION {
        return Err(bad("unsupported image version"));
    }
    if word(3) != 0 {
        return Err(bad("compressed images are not supported"));
    }
    let data_len = word(1) as usize;
    if data_len == 0 || data_len > 16 * 1024 * 1024 {
        return Err(bad("bad XML length"));
    }
    let mut data = vec![0u8; data_len];
    file.read_exact(&mut data)
        .map_err(|_| bad("image is too short"))?;
    let xml_end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let xml = String::from_utf8(data[..xml_end].to_vec()).map_err(|_| bad("XML is not UTF-8"))?;
    Ok(SaveHeader {
        xml,
        was_running: word(2) != 0,
        stream_offset: (HEADER_LEN + data_len) as u64,
    })
}

/// Creates the file a save goes to: new (an existing file or symlink at
/// `path` is an error, never followed) and 0600, since it holds guest RAM.
/// QEMU gets the open descriptor, never the path.
pub fn create_image(path: &Path) -> Result<File, QemuError> {
    crate::fsutil::create_private_file(path)
        .map_err(|e| QemuError::io("cannot create save image", path, e))
}

/// Writes the header of a new image at the start of `file` (QEMU appends the
/// stream after it, from the file's offset).
pub fn write_header(
    file: &mut File,
    path: &Path,
    xml: &str,
    was_running: bool,
) -> Result<(), QemuError> {
    file.write_all(&encode_header(xml, was_running))
        .map_err(|e| QemuError::io("cannot write save image", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_rejects() {
        let path = std::env::temp_dir().join(format!("qemu-save-{}.img", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut file = create_image(&path).expect("create");
        write_header(&mut file, &path, "<domain/>", true).expect("write");
        assert!(
            create_image(&path).is_err(),
            "an existing image is never reused"
        );
        let header = read_header(&path).expect("read");
        assert_eq!(header.xml, "<domain/>");
        assert!(header.was_running);
        assert_eq!(header.stream_offset, (HEADER_LEN + 10) as u64);
        std::fs::write(&path, b"not an image at all, not at all, really not, no").expect("junk");
        assert!(read_header(&path).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
