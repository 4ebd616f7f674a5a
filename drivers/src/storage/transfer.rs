//! Volume upload and download (`vol-upload`, `vol-download`), with holes for
//! sparse streams, and the pool capabilities document.
//!
//! An upload of a whole file volume goes to a hidden file beside it and replaces the
//! volume only when the client finishes the stream: a client that disconnects half
//! way leaves the volume as it was, never a half-written image passing for complete.

use nix::unistd::Whence;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use super::pool::{Pool, Volume};
use super::{errors, persist, Inner};
use crate::api::{DriverResult, TransferChunk, VolumeReader, VolumeWriter};

/// Bytes per data message (below libvirt's 256 KiB stream chunk limit).
const CHUNK: usize = 256 * 1024 - 24;

struct Upload {
    inner: Arc<Inner>,
    pool: String,
    file: File,
    /// The hidden file replacing the volume at finish, or None when writing in place.
    temp: Option<PathBuf>,
    target: PathBuf,
    /// Bytes the client may still send (None: unbounded).
    left: Option<u64>,
    written_end: u64,
    min_len: u64,
}

pub fn open_upload(
    inner: Arc<Inner>,
    pool: &Pool,
    vol: &Volume,
    offset: u64,
    length: u64,
) -> DriverResult<Box<dyn VolumeWriter>> {
    let whole = offset == 0 && length == 0 && vol.kind == 0;
    let (file, temp) = if whole {
        let temp = vol.path.with_file_name(format!(".{}.upload", vol.name));
        let _ = std::fs::remove_file(&temp);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)
            .map_err(|e| errors::system(&format!("cannot create '{}'", temp.display()), &e))?;
        if let Ok(meta) = std::fs::metadata(&vol.path) {
            let _ = file.set_permissions(std::fs::Permissions::from_mode(
                meta.permissions().mode() & 0o7777,
            ));
            use std::os::unix::fs::MetadataExt;
            let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
        }
        (file, Some(temp))
    } else {
        let mut file = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&vol.path)
            .map_err(|e| errors::system(&format!("cannot open '{}'", vol.path.display()), &e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| errors::system("cannot seek", &e))?;
        (file, None)
    };
    Ok(Box::new(Upload {
        inner,
        pool: pool.def.name.clone(),
        file,
        temp,
        target: vol.path.clone(),
        left: (length != 0).then_some(length),
        written_end: offset,
        // A raw volume keeps at least its capacity after an upload of fewer bytes.
        min_len: if vol.format == "raw" { vol.capacity } else { 0 },
    }))
}

impl Upload {
    fn take(&mut self, n: u64) -> DriverResult<()> {
        if let Some(left) = &mut self.left {
            if n > *left {
                return Err(errors::operation_failed(
                    "stream data exceeds the requested length",
                ));
            }
            *left -= n;
        }
        Ok(())
    }
}

impl VolumeWriter for Upload {
    fn write(&mut self, chunk: TransferChunk) -> DriverResult<()> {
        match chunk {
            TransferChunk::Data(bytes) => {
                self.take(bytes.len() as u64)?;
                self.file.write_all(&bytes).map_err(|e| {
                    errors::system(&format!("cannot write to '{}'", self.target.display()), &e)
                })?;
                self.written_end += bytes.len() as u64;
            }
            TransferChunk::Hole(len) => {
                self.take(len)?;
                self.file
                    .seek(SeekFrom::Current(len as i64))
                    .map_err(|e| errors::system("cannot seek", &e))?;
                self.written_end += len;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> DriverResult<()> {
        let Some(temp) = self.temp.take() else {
            return self
                .file
                .sync_all()
                .map_err(|e| errors::system("cannot sync", &e));
        };
        let len = self.written_end.max(self.min_len);
        self.file
            .set_len(len)
            .and_then(|_| self.file.sync_all())
            .and_then(|_| std::fs::rename(&temp, &self.target))
            .map_err(|e| {
                errors::system(&format!("cannot replace '{}'", self.target.display()), &e)
            })?;
        let mut pools = self.inner.lock();
        if let Some(pool) = pools.iter_mut().find(|p| p.def.name == self.pool) {
            let _ = super::backend::refresh(&self.inner.paths, pool);
            let _ = persist::write_status(&self.inner.paths, pool);
        }
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Not finished: the partial copy goes, the volume stays as it was.
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Removes the hidden files of uploads a previous daemon did not finish.
pub fn remove_stale_uploads(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".upload") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

struct Download {
    file: File,
    pos: u64,
    end: u64,
    sparse: bool,
}

pub fn open_download(
    vol: &Volume,
    offset: u64,
    length: u64,
    sparse: bool,
) -> DriverResult<Box<dyn VolumeReader>> {
    let mut file = File::open(&vol.path)
        .map_err(|e| errors::system(&format!("cannot open '{}'", vol.path.display()), &e))?;
    let size = file
        .seek(SeekFrom::End(0))
        .map_err(|e| errors::system("cannot seek", &e))?;
    let end = if length == 0 {
        size
    } else {
        offset.saturating_add(length).min(size)
    };
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| errors::system("cannot seek", &e))?;
    Ok(Box::new(Download {
        file,
        pos: offset,
        end,
        sparse: sparse && vol.kind == 0,
    }))
}

fn lseek(file: &File, pos: u64, whence: Whence) -> Option<u64> {
    let r = nix::unistd::lseek(file, pos as libc::off_t, whence).ok()?;
    u64::try_from(r).ok()
}

impl VolumeReader for Download {
    fn next_chunk(&mut self) -> DriverResult<Option<TransferChunk>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        if self.sparse {
            let data = lseek(&self.file, self.pos, Whence::SeekData).unwrap_or(self.end);
            if data > self.pos {
                let hole_end = data.min(self.end);
                let len = hole_end - self.pos;
                self.pos = hole_end;
                self.file
                    .seek(SeekFrom::Start(self.pos))
                    .map_err(|e| errors::system("cannot seek", &e))?;
                return Ok(Some(TransferChunk::Hole(len)));
            }
        }
        let mut limit = (self.end - self.pos).min(CHUNK as u64);
        if self.sparse {
            if let Some(hole) = lseek(&self.file, self.pos, Whence::SeekHole) {
                limit = limit.min(hole.saturating_sub(self.pos)).max(1);
            }
            self.file
                .seek(SeekFrom::Start(self.pos))
                .map_err(|e| errors::system("cannot seek", &e))?;
        }
        let mut buf = vec![0u8; limit as usize];
        let n = self
            .file
            .read(&mut buf)
            .map_err(|e| errors::system("cannot read volume", &e))?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        self.pos += n as u64;
        Ok(Some(TransferChunk::Data(buf)))
    }
}

/// `virConnectGetStoragePoolCapabilities`: the pool types this driver supports.
pub fn capabilities_xml() -> String {
    let mut out = String::from("<storagepoolCapabilities>\n");
    for (kind, formats, vols) in [
        ("dir", "", "raw qcow2"),
        ("fs", "auto ext2 ext3 ext4 xfs vfat", "raw qcow2"),
        ("netfs", "auto nfs", "raw qcow2"),
        ("logical", "lvm2", ""),
        ("disk", "dos gpt", ""),
    ] {
        out.push_str(&format!("  <pool type='{kind}' supported='yes'>\n"));
        if !formats.is_empty() {
            out.push_str("    <poolOptions>\n      <defaultFormat type='");
            out.push_str(formats.split(' ').next().unwrap_or(""));
            out.push_str("'/>\n      <enum name='sourceFormatType'>\n");
            for f in formats.split(' ') {
                out.push_str(&format!("        <value>{f}</value>\n"));
            }
            out.push_str("      </enum>\n    </poolOptions>\n");
        }
        if !vols.is_empty() {
            out.push_str("    <volOptions>\n      <defaultFormat type='raw'/>\n      <enum name='targetFormatType'>\n");
            for f in vols.split(' ') {
                out.push_str(&format!("        <value>{f}</value>\n"));
            }
            out.push_str("      </enum>\n    </volOptions>\n");
        }
        out.push_str("  </pool>\n");
    }
    out.push_str("</storagepoolCapabilities>\n");
    out
}
