//! Keeping the daemon's descriptors out of children, between fork and exec.
//!
//! Everything here runs in the forked child of a possibly multi-threaded parent, so it
//! only makes async-signal-safe system calls and never allocates or takes a lock.
//!
//! Descriptors are marked close-on-exec rather than closed: the standard library reports
//! a failed exec through a close-on-exec pipe of its own, which must stay open until the
//! exec, and the kernel closes everything marked at that moment anyway.

use std::os::fd::RawFd;

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
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        RawFd::try_from(limit.rlim_cur.min(1 << 20)).unwrap_or(1 << 20)
    } else {
        1024
    };
    for fd in first..max {
        set_cloexec(fd);
    }
}

/// Marks the open descriptors listed in `/proc/self/fd`; false when it cannot be read.
fn walk_proc_fds(first: RawFd) -> bool {
    const DIR: &std::ffi::CStr = c"/proc/self/fd";
    // SAFETY: DIR is NUL-terminated; open returns a new descriptor or -1.
    let dir = unsafe {
        libc::open(
            DIR.as_ptr().cast(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if dir < 0 {
        return false;
    }
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: the buffer is ours and its length is passed along.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), buf.len()) };
        let Ok(n) = usize::try_from(n) else { break };
        if n == 0 {
            break;
        }
        let mut at = 0;
        // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name.
        while at + 19 < n {
            let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
            if reclen == 0 {
                break;
            }
            if let Some(fd) = parse_fd(&buf[at + 19..(at + reclen).min(n)]) {
                if fd >= first && fd != dir {
                    set_cloexec(fd);
                }
            }
            at += reclen;
        }
    }
    // SAFETY: dir is the descriptor opened above.
    unsafe { libc::close(dir) };
    true
}

/// The number in a NUL-terminated directory entry name ("." and ".." are not numbers).
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
    // SAFETY: F_SETFD on a closed descriptor fails harmlessly with EBADF.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_parse_as_numbers_only() {
        assert_eq!(parse_fd(b"17\0\0"), Some(17));
        assert_eq!(parse_fd(b".\0"), None);
        assert_eq!(parse_fd(b"..\0"), None);
        assert_eq!(parse_fd(b"\0"), None);
    }

    #[test]
    fn proc_walk_marks_open_descriptors() {
        // SAFETY: a NUL-terminated path; the descriptors are ours and closed below.
        let fd = unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            let high = libc::fcntl(null, libc::F_DUPFD, 100);
            libc::close(null);
            high
        };
        assert!(fd >= 100);
        assert!(walk_proc_fds(fd));
        // SAFETY: plain flag query and close of our own descriptor.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        unsafe { libc::close(fd) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
    }
}
