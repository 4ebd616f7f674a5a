//! Writing to journald with its native protocol: one datagram per message
//! to `/run/systemd/journal/socket`, made of `KEY=value\n` fields (or
//! `KEY\n<little-endian u64 length><bytes>\n` when a value holds a newline).
//! A message too large for a datagram is passed as a sealed memfd instead,
//! as journald expects.

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use rustix::fs::{Access, MemfdFlags, SealFlags};
use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketAddrUnix};

/// Where journald listens for native messages.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// True when the journal socket exists and we may write to it; libvirt
/// uses the same test to pick journald as the daemon's default output.
pub fn journald_available() -> bool {
    socket_is_writable(Path::new(JOURNAL_SOCKET))
}

pub(crate) fn socket_is_writable(path: &Path) -> bool {
    rustix::fs::access(path, Access::WRITE_OK).is_ok()
}

/// Serialises fields in the native protocol.
pub fn encode(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut datagram = Vec::new();
    for (key, value) in fields {
        datagram.extend_from_slice(key.as_bytes());
        if value.contains('\n') {
            datagram.push(b'\n');
            datagram.extend_from_slice(&(value.len() as u64).to_le_bytes());
        } else {
            datagram.push(b'=');
        }
        datagram.extend_from_slice(value.as_bytes());
        datagram.push(b'\n');
    }
    datagram
}

/// An unbound datagram socket aimed at the journal.
#[derive(Debug)]
pub struct Journal {
    socket: UnixDatagram,
    path: PathBuf,
}

impl Journal {
    pub fn connect(path: &Path) -> io::Result<Journal> {
        Ok(Journal {
            socket: UnixDatagram::unbound()?,
            path: path.to_path_buf(),
        })
    }

    /// Sends one message; failures are dropped, a log line must never
    /// take the daemon down.
    pub fn send(&self, datagram: &[u8]) {
        match self.socket.send_to(datagram, &self.path) {
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.raw_os_error(),
                    Some(libc::EMSGSIZE) | Some(libc::ENOBUFS)
                ) =>
            {
                let _ = self.send_as_memfd(datagram);
            }
            Err(_) => {}
        }
    }

    fn send_as_memfd(&self, datagram: &[u8]) -> io::Result<()> {
        let memfd = sealed_memfd(datagram)?;
        let address = SocketAddrUnix::new(self.path.as_path())?;
        let fds = [memfd.as_fd()];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        let no_data: [IoSlice<'_>; 0] = [];
        rustix::net::sendmsg_addr(
            &self.socket,
            &address,
            &no_data,
            &mut control,
            SendFlags::NOSIGNAL,
        )?;
        Ok(())
    }
}

/// A memfd holding `contents`, sealed against any further change.
fn sealed_memfd(contents: &[u8]) -> io::Result<File> {
    let fd = rustix::fs::memfd_create(
        c"journal-message",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut file = File::from(fd);
    file.write_all(contents)?;
    rustix::fs::fcntl_add_seals(
        &file,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
    )?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_use_plain_or_length_prefixed_form() {
        let datagram = encode(&[("MESSAGE", "hello"), ("PRIORITY", "3"), ("MESSAGE", "a\nb")]);
        let mut expected = b"MESSAGE=hello\nPRIORITY=3\nMESSAGE\n".to_vec();
        expected.extend_from_slice(&3u64.to_le_bytes());
        expected.extend_from_slice(b"a\nb\n");
        assert_eq!(datagram, expected);
    }

    #[test]
    fn datagram_reaches_a_listening_socket() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.sock");
        let listener = UnixDatagram::bind(&path).expect("bind");
        assert!(socket_is_writable(&path));
        let journal = Journal::connect(&path).expect("connect");
        journal.send(b"MESSAGE=hi\n");
        let mut buffer = [0u8; 64];
        let size = listener.recv(&mut buffer).expect("recv");
        assert_eq!(&buffer[..size], b"MESSAGE=hi\n");
    }

    #[test]
    fn oversized_message_travels_as_sealed_memfd() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.sock");
        let listener = UnixDatagram::bind(&path).expect("bind");
        let journal = Journal::connect(&path).expect("connect");
        let big = vec![b'x'; 4 * 1024 * 1024];
        journal.send(&big);
        // The receiver gets an empty datagram carrying one descriptor.
        let mut data = [0u8; 16];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
        let received = rustix::net::recvmsg(
            &listener,
            &mut [std::io::IoSliceMut::new(&mut data)],
            &mut control,
            rustix::net::RecvFlags::empty(),
        )
        .expect("recvmsg");
        assert_eq!(received.bytes, 0);
        let fd = control
            .drain()
            .find_map(|message| match message {
                rustix::net::RecvAncillaryMessage::ScmRights(mut fds) => fds.next(),
                _ => None,
            })
            .expect("a descriptor");
        let file = File::from(fd);
        assert_eq!(file.metadata().expect("stat").len(), big.len() as u64);
    }
}
