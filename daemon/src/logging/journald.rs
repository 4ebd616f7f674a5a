//! Writing to journald with its native protocol: one datagram per message
//! to `/run/systemd/journal/socket`, made of `KEY=value\n` fields (or
//! `KEY\n<little-endian u64 length><bytes>\n` when a value holds a newline).
//! A message too large for a datagram is passed as a sealed memfd instead,
//! as journald expects.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

/// Where journald listens for native messages.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// True when the journal socket exists and we may write to it; libvirt
/// uses the same test to pick journald as the daemon's default output.
pub fn journald_available() -> bool {
    socket_is_writable(Path::new(JOURNAL_SOCKET))
}

pub(crate) fn socket_is_writable(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is a valid NUL-terminated string.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
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
        let path = CString::new(self.path.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: sockaddr_un is plain old data; all-zero is valid.
        let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        address.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let path_bytes = path.as_bytes_with_nul();
        if path_bytes.len() > address.sun_path.len() {
            return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        for (slot, &byte) in address.sun_path.iter_mut().zip(path_bytes) {
            *slot = byte as libc::c_char;
        }
        let fd = memfd.as_raw_fd();
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
        let mut control = vec![0u8; space];
        // SAFETY: msghdr is plain old data; fields are filled in below.
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_name = (&mut address as *mut libc::sockaddr_un).cast();
        message.msg_namelen = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = space as _;
        // SAFETY: the control buffer is CMSG_SPACE bytes for one descriptor,
        // so the first header and its data fit; all pointers outlive sendmsg.
        let sent = unsafe {
            let header = libc::CMSG_FIRSTHDR(&message);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<libc::c_int>(), fd);
            libc::sendmsg(self.socket.as_raw_fd(), &message, libc::MSG_NOSIGNAL)
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A memfd holding `contents`, sealed against any further change.
fn sealed_memfd(contents: &[u8]) -> io::Result<File> {
    let name = c"journal-message";
    // SAFETY: `name` is NUL-terminated; flags are valid memfd flags.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: memfd_create returned a fresh descriptor that we now own.
    let mut file = unsafe { File::from_raw_fd(fd) };
    file.write_all(contents)?;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: the descriptor is open; F_ADD_SEALS takes an int argument.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(io::Error::last_os_error());
    }
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
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: data.len(),
        };
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
        let mut control = vec![0u8; space];
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_iov = &mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = space as _;
        let received = unsafe { libc::recvmsg(listener.as_raw_fd(), &mut message, 0) };
        assert_eq!(received, 0);
        let header = unsafe { libc::CMSG_FIRSTHDR(&message) };
        assert!(!header.is_null());
        let fd = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<libc::c_int>()) };
        let file = unsafe { File::from_raw_fd(fd) };
        assert_eq!(file.metadata().expect("stat").len(), big.len() as u64);
    }
}
