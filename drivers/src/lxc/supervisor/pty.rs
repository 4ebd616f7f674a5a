//! The container's console: a pseudo-terminal whose slave becomes `/dev/console` inside
//! and whose master the supervisor keeps (its output goes to the container's log).

use std::fs::File;
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
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .map_err(|e| SupervisorError::io("cannot open a pty", e.into()))?;
        let name = grantpt(&master)
            .and_then(|()| unlockpt(&master))
            .and_then(|()| ptsname(&master, Vec::new()))
            .map_err(|e| SupervisorError::io("cannot prepare the pty", e.into()))?;
        let slave_path = PathBuf::from(name.to_string_lossy().into_owned());
        let master = File::from(master);
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(&slave_path)
            .map_err(|e| SupervisorError::io_at("cannot open", &slave_path, e))?;
        if let Ok(flags) = rustix::fs::fcntl_getfl(&master) {
            let _ = rustix::fs::fcntl_setfl(&master, flags | rustix::fs::OFlags::NONBLOCK);
        }
        Ok(Pty {
            master,
            slave,
            slave_path,
        })
    }
}

use std::os::unix::fs::OpenOptionsExt;
