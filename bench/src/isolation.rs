//! Keeps the real libvirtd away from the host's configuration and state.
//!
//! The real daemon has no equivalent of `LIBVIRTD_ROOT`: it always reads
//! /etc/libvirt and writes /run/libvirt, /var/lib/libvirt and friends. So it
//! runs in a private mount namespace where each of those directories is a
//! fresh tmpfs, set up in the child between fork and exec.
//!
//! Its QEMU driver also refuses to start unless the build-time user
//! `libvirt-qemu` exists (the Debian package that creates it,
//! libvirt-daemon-system, is not needed for the test driver). When the host
//! has no such user, copies of /etc/passwd and /etc/group with the user
//! added are bind-mounted over the originals inside the namespace only.

use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Directories the real libvirtd writes to (or reads its configuration
/// from), each replaced by an empty tmpfs.
pub const PRIVATE_DIRS: [&str; 5] = [
    "/etc/libvirt",
    "/run/libvirt",
    "/var/lib/libvirt",
    "/var/log/libvirt",
    "/var/cache/libvirt",
];

/// The account libvirt's QEMU driver resolves at start-up.
const QEMU_ACCOUNT: &str = "libvirt-qemu";

/// Guests would run as root; none are started, but the QEMU driver reads
/// this file at start-up.
const QEMU_CONF: &str = "user = \"root\"\ngroup = \"root\"\n";

#[derive(Debug, thiserror::Error)]
pub enum IsolationError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{0} exists on this host but is not a directory")]
    NotADirectory(&'static str),
    #[error("path with a NUL byte: {0}")]
    Nul(String),
}

/// Everything the child needs, prepared in the parent so that the code
/// between fork and exec only makes system calls.
#[derive(Debug)]
pub struct Isolation {
    tmpfs_dirs: Vec<CString>,
    /// (source, target) pairs bind-mounted after the tmpfs mounts.
    binds: Vec<(CString, CString)>,
    qemu_conf_path: CString,
    root: CString,
    tmpfs: CString,
    tmpfs_options: CString,
}

fn cstring(text: &str) -> Result<CString, IsolationError> {
    CString::new(text).map_err(|_| IsolationError::Nul(text.to_string()))
}

fn cpath(path: &Path) -> Result<CString, IsolationError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| IsolationError::Nul(path.display().to_string()))
}

/// Returns `text` with `line` appended unless an entry named `name` exists.
pub fn with_entry(text: &str, name: &str, line: &str) -> Option<String> {
    let prefix = format!("{name}:");
    if text.lines().any(|l| l.starts_with(&prefix)) {
        return None;
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    Some(out)
}

/// A numeric id not used in an /etc/passwd or /etc/group text.
pub fn free_id(text: &str, preferred: u32) -> u32 {
    let used: Vec<u32> = text
        .lines()
        .filter_map(|l| l.split(':').nth(2)?.parse().ok())
        .collect();
    (preferred..)
        .find(|id| !used.contains(id))
        .unwrap_or(preferred)
}

impl Isolation {
    /// Prepares the mounts; account overlays are written into `scratch`.
    pub fn prepare(scratch: &Path) -> Result<Isolation, IsolationError> {
        let mut tmpfs_dirs = Vec::new();
        for dir in PRIVATE_DIRS {
            let path = Path::new(dir);
            // A missing directory is created inside the namespace; one that
            // exists as something else would be a surprise worth stopping on.
            if path.exists() && !path.is_dir() {
                return Err(IsolationError::NotADirectory(dir));
            }
            tmpfs_dirs.push(cstring(dir)?);
        }
        let mut binds = Vec::new();
        for (file, line) in account_overlays()? {
            let target = Path::new(file);
            let source = scratch.join(target.file_name().unwrap_or(target.as_os_str()));
            fs::write(&source, line).map_err(|e| IsolationError::Write {
                path: source.clone(),
                source: e,
            })?;
            binds.push((cpath(&source)?, cstring(file)?));
        }
        Ok(Isolation {
            tmpfs_dirs,
            binds,
            qemu_conf_path: cstring("/etc/libvirt/qemu.conf")?,
            root: cstring("/")?,
            tmpfs: cstring("tmpfs")?,
            tmpfs_options: cstring("mode=0755")?,
        })
    }

    /// Whether /etc/passwd and /etc/group are overlaid in the namespace.
    pub fn adds_qemu_account(&self) -> bool {
        !self.binds.is_empty()
    }

    /// Enters a private mount namespace and mounts everything. Runs in the
    /// child between fork and exec: system calls only, no allocation.
    pub fn enter(&self) -> io::Result<()> {
        // nix passes the CStr paths straight to the kernel: nothing allocates.
        use nix::fcntl::OFlag;
        use nix::mount::{mount, MsFlags};
        use nix::sys::stat::Mode;
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
        mount(
            None::<&CStr>,
            self.root.as_c_str(),
            None::<&CStr>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&CStr>,
        )?;
        for dir in &self.tmpfs_dirs {
            match nix::unistd::mkdir(dir.as_c_str(), Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(e.into()),
            }
            mount(
                Some(self.tmpfs.as_c_str()),
                dir.as_c_str(),
                Some(self.tmpfs.as_c_str()),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(self.tmpfs_options.as_c_str()),
            )?;
        }
        for (source, target) in &self.binds {
            mount(
                Some(source.as_c_str()),
                target.as_c_str(),
                None::<&CStr>,
                MsFlags::MS_BIND,
                None::<&CStr>,
            )?;
        }
        let fd = nix::fcntl::open(
            self.qemu_conf_path.as_c_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )?;
        let bytes = QEMU_CONF.as_bytes();
        if nix::unistd::write(&fd, bytes)? != bytes.len() {
            return Err(io::Error::from(io::ErrorKind::WriteZero));
        }
        Ok(())
    }
}

/// (file, new contents) for /etc/passwd and /etc/group when the host lacks
/// the QEMU account; empty when it has it.
fn account_overlays() -> Result<Vec<(&'static str, String)>, IsolationError> {
    let read = |file: &str| {
        fs::read_to_string(file).map_err(|source| IsolationError::Read {
            path: PathBuf::from(file),
            source,
        })
    };
    let passwd = read("/etc/passwd")?;
    let group = read("/etc/group")?;
    let gid = free_id(&group, 64055);
    let uid = free_id(&passwd, 64055);
    let mut out = Vec::new();
    let user_line =
        format!("{QEMU_ACCOUNT}:x:{uid}:{gid}:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin");
    if let Some(text) = with_entry(&passwd, QEMU_ACCOUNT, &user_line) {
        out.push(("/etc/passwd", text));
    }
    let group_line = format!("{QEMU_ACCOUNT}:x:{gid}:");
    if let Some(text) = with_entry(&group, QEMU_ACCOUNT, &group_line) {
        out.push(("/etc/group", text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_added_only_when_missing() {
        let text = "root:x:0:0:root:/root:/bin/bash\n";
        let added = with_entry(text, "libvirt-qemu", "libvirt-qemu:x:9:9::/:/bin/false").unwrap();
        assert_eq!(
            added,
            "root:x:0:0:root:/root:/bin/bash\nlibvirt-qemu:x:9:9::/:/bin/false\n"
        );
        assert_eq!(with_entry(&added, "libvirt-qemu", "x"), None);
        assert_eq!(
            with_entry("root:x:0:", "roo", "roo:x:1:").unwrap(),
            "root:x:0:\nroo:x:1:\n"
        );
    }

    #[test]
    fn free_id_skips_used_ids() {
        let text = "a:x:64055:1\nb:x:64056:1\n";
        assert_eq!(free_id(text, 64055), 64057);
        assert_eq!(free_id(text, 10), 10);
    }
}
