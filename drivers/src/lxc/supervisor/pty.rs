//! The container's console: a pseudo-terminal whose slave becomes `/dev/console` inside
//! and whose master the supervisor keeps (its output goes to the container's log).

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;

use super::SupervisorError;

pub struct Pty {
    pub master: File,
    /// Held open so the master never reports a hang-up while init has no console open.
    pub slave: File,
    pub slave_path: PathBuf,
}

impl Pty {
    pub fn open() -> Result<Pty, SupervisorError> {
        let last = || std::io::Error::last_os_error();
        // SAFETY: posix_openpt returns a new descriptor or -1.
        let fd = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(SupervisorError::io("cannot open a pty", last()));
        }
        // SAFETY: fd is a fresh descriptor we own.
        let master = unsafe { File::from_raw_fd(fd) };
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: fd is a pty master; name has room for the slave's name.
        let ok = unsafe {
            libc::grantpt(fd) == 0
                && libc::unlockpt(fd) == 0
                && libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) == 0
        };
        if !ok {
            return Err(SupervisorError::io("cannot prepare the pty", last()));
        }
        // SAFETY: ptsname_r wrote a NUL-terminated string.
        let slave_path = PathBuf::from(
            unsafe { CStr::from_ptr(name.as_ptr()) }
                .to_string_lossy()
                .into_owned(),
        );
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(&slave_path)
            .map_err(|e| SupervisorError::io_at("cannot open", &slave_path, e))?;
        // SAFETY: fcntl on a valid descriptor.
        unsafe {
            let flags = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(master.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        Ok(Pty {
            master,
            slave,
            slave_path,
        })
    }
}

use std::os::unix::fs::OpenOptionsExt;
