//! What runs in the child between fork and exec: the only place of this crate that
//! needs `unsafe`.
//!
//! Everything here runs in the forked child of a possibly multi-threaded parent, so it
//! only makes async-signal-safe system calls and never allocates or takes a lock. The
//! calls go through rustix and nix where those take owned values; the ones left on
//! libc work on raw descriptor numbers that no Rust owner describes in the child (the
//! parent's descriptors to pass, and every descriptor to mark), each with its reason.
//!
//! Descriptors are marked close-on-exec rather than closed: the standard library reports
//! a failed exec through a close-on-exec pipe of its own, which must stay open until the
//! exec, and the kernel closes everything marked at that moment anyway.

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::fs::{Mode, OFlags, RawDir};

/// The work done in the child between fork and exec, on data prepared in the parent.
pub(crate) struct ChildStep {
    pub(crate) cgroup_procs: Option<CString>,
    pub(crate) session: bool,
    pub(crate) rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    pub(crate) gid: Option<u32>,
    pub(crate) uid: Option<u32>,
    /// (descriptor in the parent, number in the child).
    pub(crate) pass: Vec<(RawFd, RawFd)>,
    /// Scratch space, one slot per passed descriptor, filled in the child.
    pub(crate) parked: Vec<RawFd>,
    /// Parking numbers start here, above every target.
    pub(crate) above: RawFd,
}

impl ChildStep {
    /// Has `command` run this step in its child.
    pub(crate) fn install(mut self, command: &mut Command) {
        // SAFETY: `run` only makes async-signal-safe system calls on data prepared
        // before the fork and allocates nothing.
        unsafe {
            command.pre_exec(move || self.run());
        }
    }

    /// Async-signal-safe: system calls only, no allocation (the error values are plain
    /// OS error numbers).
    fn run(&mut self) -> io::Result<()> {
        if let Some(procs) = &self.cgroup_procs {
            join_cgroup(procs)?;
        }
        if self.session {
            rustix::process::setsid()?;
        }
        // Descriptors move before limits apply, so a lower RLIMIT_NOFILE cannot stop
        // the move. Each passed descriptor is parked above all targets first, so
        // moving one into place never overwrites one still to move.
        for (slot, (fd, _)) in self.parked.iter_mut().zip(&self.pass) {
            // SAFETY: F_DUPFD_CLOEXEC on a descriptor the parent keeps open for the
            // spawn; the copy is only a number until dup2 below.
            *slot = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, self.above) };
            if *slot < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        for (parked, (_, target)) in self.parked.iter().zip(&self.pass) {
            // SAFETY: dup2 of the copy just made onto a number the child expects; what
            // was there is closed by the kernel, as wanted.
            if unsafe { libc::dup2(*parked, *target) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        for (resource, value) in &self.rlimits {
            let limit = libc::rlimit {
                rlim_cur: *value,
                rlim_max: *value,
            };
            // SAFETY: setrlimit only reads the struct on our stack.
            if unsafe { libc::setrlimit(*resource, &limit) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some(gid) = self.gid {
            nix::unistd::setgroups(&[])?;
            nix::unistd::setgid(nix::unistd::Gid::from_raw(gid))?;
        }
        if let Some(uid) = self.uid {
            nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))?;
        }
        mark_cloexec_from(3);
        for (_, target) in &self.pass {
            // SAFETY: clearing the flags of a descriptor dup2 just created.
            if unsafe { libc::fcntl(*target, libc::F_SETFD, 0) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// Moves the calling process into the cgroup whose `cgroup.procs` is `procs` (writing
/// 0 there means "the writer", in cgroup v1 and v2 alike).
fn join_cgroup(procs: &CString) -> io::Result<()> {
    let fd = rustix::fs::open(
        procs.as_c_str(),
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if rustix::io::write(&fd, b"0")? != 1 {
        return Err(io::Error::from(io::ErrorKind::WriteZero));
    }
    Ok(())
}

/// Marks every descriptor numbered `first` or above close-on-exec.
///
/// Uses `close_range(CLOSE_RANGE_CLOEXEC)` (Linux 5.11); on older kernels walks
/// `/proc/self/fd` with `getdents64` into a stack buffer, and without `/proc` every
/// number up to the descriptor limit. Async-signal-safe.
pub fn mark_cloexec_from(first: RawFd) {
    let Ok(start) = u32::try_from(first) else {
        return;
    };
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes descriptor flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            start,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 || walk_proc_fds(first) {
        return;
    }
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let max = limit.current.map_or(1 << 20, |n| {
        RawFd::try_from(n.min(1 << 20)).unwrap_or(1 << 20)
    });
    for fd in first..max {
        set_cloexec(fd);
    }
}

/// Marks the open descriptors listed in `/proc/self/fd`; false when it cannot be read.
fn walk_proc_fds(first: RawFd) -> bool {
    let Ok(dir) = rustix::fs::open(
        c"/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let own = std::os::fd::AsRawFd::as_raw_fd(&dir);
    let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
    let mut entries = RawDir::new(&dir, &mut buf);
    while let Some(Ok(entry)) = entries.next() {
        if let Some(fd) = parse_fd(entry.file_name().to_bytes()) {
            if fd >= first && fd != own {
                set_cloexec(fd);
            }
        }
    }
    true
}

/// The number in a directory entry name ("." and ".." are not numbers).
fn parse_fd(name: &[u8]) -> Option<RawFd> {
    let mut value: RawFd = 0;
    let mut digits = 0;
    for &b in name.iter().take_while(|b| **b != 0) {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(RawFd::from(b - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some(value)
}

fn set_cloexec(fd: RawFd) {
    // SAFETY: F_SETFD on a number that may not be open: a closed one fails harmlessly
    // with EBADF, and no Rust owner of an open one relies on its flags in the child.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    use std::os::fd::AsRawFd;

    #[test]
    fn entry_names_parse_as_numbers_only() {
        assert_eq!(parse_fd(b"17\0\0"), Some(17));
        assert_eq!(parse_fd(b"17"), Some(17));
        assert_eq!(parse_fd(b".\0"), None);
        assert_eq!(parse_fd(b"..\0"), None);
        assert_eq!(parse_fd(b"\0"), None);
    }

    #[test]
    fn proc_walk_marks_open_descriptors() {
        let null = std::fs::File::open("/dev/null").expect("open /dev/null");
        let high = rustix::io::fcntl_dupfd_cloexec(&null, 100).expect("dup");
        fcntl(&high, FcntlArg::F_SETFD(FdFlag::empty())).expect("clear flags");
        assert!(high.as_raw_fd() >= 100);
        assert!(walk_proc_fds(high.as_raw_fd()));
        let flags = fcntl(&high, FcntlArg::F_GETFD).expect("flags");
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
    }
}
