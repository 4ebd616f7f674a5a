//! Bypassing the page cache for save images (`VIR_DOMAIN_SAVE_BYPASS_CACHE`,
//! `VIR_DOMAIN_START_BYPASS_CACHE`), so that saving many guests at host shutdown
//! does not evict everything else from memory.
//!
//! `O_DIRECT` needs every write to start at an aligned offset, from an aligned
//! buffer, with an aligned length; QEMU's migration stream writes whatever sizes it
//! likes. So, as libvirt does with its I/O helper, QEMU writes into a pipe and a
//! thread of the daemon copies the stream into the image in aligned blocks; only the
//! last, short block is written after `O_DIRECT` is switched off again.
//!
//! Reading back needs no helper: `dd iflag=direct` reads aligned blocks itself and
//! feeds QEMU's `exec:` incoming migration.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use super::error::QemuError;
use super::lifecycle::shell_quote;

/// Alignment that satisfies every logical block size Linux file systems use.
const ALIGN: usize = 4096;
/// Bytes per `O_DIRECT` write.
const BLOCK: usize = 1 << 20;

/// The copy of a stream into an image opened for direct I/O.
pub struct DirectWriter {
    relay: JoinHandle<std::io::Result<u64>>,
    path: PathBuf,
}

impl DirectWriter {
    /// Switches `image` to `O_DIRECT` and starts copying what is written into the
    /// returned pipe end after what `image` already holds (the header). The pipe end
    /// is the one to hand to QEMU; the image is complete once the last copy of that
    /// end is closed and [`DirectWriter::finish`] returned.
    pub fn start(image: &File, path: &Path) -> Result<(DirectWriter, OwnedFd), QemuError> {
        let io = |e| QemuError::io("cannot bypass the cache for save image", path, e);
        let image = image.try_clone().map_err(io)?;
        let prefix_len = usize::try_from(image.metadata().map_err(io)?.len())
            .map_err(|_| io(std::io::Error::from(ErrorKind::InvalidData)))?;
        let mut prefix = vec![0u8; prefix_len];
        // The image is open write-only; its own descriptor (not its path, which
        // could have been replaced) is reopened to read the header back.
        File::open(format!("/proc/self/fd/{}", image.as_raw_fd()))
            .and_then(|reader| reader.read_exact_at(&mut prefix, 0))
            .map_err(io)?;
        set_direct(&image, true).map_err(io)?;
        let (read_end, write_end) = pipe().map_err(io)?;
        let relay = std::thread::Builder::new()
            .name("save-direct-io".into())
            .spawn(move || copy_direct(prefix, File::from(read_end), &image))
            .map_err(io)?;
        Ok((
            DirectWriter {
                relay,
                path: path.to_path_buf(),
            },
            write_end,
        ))
    }

    /// The copy's error when it has already failed; never waits (after a failed
    /// migration QEMU may still hold the pipe until it is cancelled).
    pub fn failure(self) -> Option<QemuError> {
        if self.relay.is_finished() {
            self.finish().err()
        } else {
            None
        }
    }

    /// Waits for the copy to end (QEMU closed its end) and reports its failure.
    pub fn finish(self) -> Result<u64, QemuError> {
        match self.relay.join() {
            Ok(result) => {
                result.map_err(|e| QemuError::io("cannot write save image", &self.path, e))
            }
            Err(_) => Err(QemuError::Failed(format!(
                "writing save image '{}' failed",
                self.path.display()
            ))),
        }
    }
}

/// The `exec:` incoming source reading `path` from `offset` with direct I/O.
pub fn incoming_command(path: &Path, offset: u64) -> String {
    let read = format!(
        "dd if={} iflag=direct bs={BLOCK} status=none",
        shell_quote(&path.display().to_string())
    );
    if offset == 0 {
        format!("exec:{read}")
    } else {
        format!("exec:{read} | tail -c +{}", offset + 1)
    }
}

/// Copies `prefix` then everything from `stream` into `image` from offset 0, in
/// aligned blocks; returns the bytes written.
fn copy_direct(prefix: Vec<u8>, stream: File, image: &File) -> std::io::Result<u64> {
    let mut storage = vec![0u8; BLOCK + ALIGN];
    let start = storage.as_ptr().align_offset(ALIGN);
    let buffer = &mut storage[start..start + BLOCK];
    let mut source = prefix.as_slice().chain(stream);
    let mut offset = 0u64;
    loop {
        let filled = fill(&mut source, buffer)?;
        if filled == BLOCK {
            image.write_all_at(buffer, offset)?;
            offset += BLOCK as u64;
            continue;
        }
        if filled > 0 {
            // A short tail cannot be written directly: the cache takes this much.
            set_direct(image, false)?;
            image.write_all_at(&buffer[..filled], offset)?;
            offset += filled as u64;
        }
        image.set_len(offset)?;
        return Ok(offset);
    }
}

/// Reads until `buffer` is full or the stream ends.
fn fill(source: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match source.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn set_direct(file: &File, on: bool) -> std::io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_retain(fcntl(file, FcntlArg::F_GETFL)?);
    let wanted = if on {
        flags | OFlag::O_DIRECT
    } else {
        flags & !OFlag::O_DIRECT
    };
    fcntl(file, FcntlArg::F_SETFL(wanted))?;
    Ok(())
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The target directory is on a disk file system (tmpfs may refuse O_DIRECT).
    fn scratch(name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/direct-io-test")
            .join(format!("{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("image")
    }

    #[test]
    fn header_and_odd_sized_stream_arrive_intact() {
        let path = scratch("copy");
        let mut image = File::create(&path).unwrap();
        image.write_all(b"header of 17 byte").unwrap();
        let (writer, pipe) = DirectWriter::start(&image, &path).unwrap();
        let stream: Vec<u8> = (0..(3 * BLOCK + 12345)).map(|i| (i % 251) as u8).collect();
        let mut pipe = File::from(pipe);
        for chunk in stream.chunks(7777) {
            pipe.write_all(chunk).unwrap();
        }
        drop(pipe);
        let written = writer.finish().unwrap();
        let mut expected = b"header of 17 byte".to_vec();
        expected.extend_from_slice(&stream);
        assert_eq!(written, expected.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn incoming_reads_with_direct_io_and_skips_the_header() {
        assert_eq!(
            incoming_command(Path::new("/s/a b"), 0),
            "exec:dd if='/s/a b' iflag=direct bs=1048576 status=none"
        );
        assert_eq!(
            incoming_command(Path::new("/s/x"), 100),
            "exec:dd if='/s/x' iflag=direct bs=1048576 status=none | tail -c +101"
        );
    }
}
