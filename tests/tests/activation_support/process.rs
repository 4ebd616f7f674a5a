//! Starting the daemon with inherited sockets the way a service manager
//! does: the listening fds become 3, 4, ... in the child, and `LISTEN_PID`
//! carries the child's own pid, which only exists after `fork`. So the
//! child is created with `fork`/`execve` by hand and only calls
//! async-signal-safe functions between the two.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use integration_tests::wait_until;
use nix::unistd::Pid;

/// What to start and which sockets it inherits.
pub struct Launch<'a> {
    pub program: &'a Path,
    /// `argv[0]`: the name picks the daemon (libvirtd, virtqemud, ...).
    pub arg0: &'a str,
    pub args: Vec<String>,
    /// Inherited sockets, in fd order from 3.
    pub fds: Vec<RawFd>,
    /// `LISTEN_FDNAMES`; `None` leaves the variable out.
    pub fdnames: Option<String>,
    /// Environment besides the `LISTEN_*` variables.
    pub env: Vec<(String, String)>,
    pub stdout: &'a Path,
    pub stderr: &'a Path,
}

/// A started process in its own process group, killed with it on drop.
pub struct Process {
    pid: i32,
    status: Option<ExitStatus>,
}

fn cstring(bytes: &[u8]) -> CString {
    CString::new(bytes).expect("no NUL byte in an argument")
}

/// Writes `value` as decimal digits at `out`, then a NUL. Async-signal-safe.
///
/// # Safety
/// `out` must point to at least 12 writable bytes.
unsafe fn write_decimal(out: *mut u8, value: i32) {
    let mut digits = [0u8; 11];
    let mut n = value.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        *out.add(i) = digits[len - 1 - i];
    }
    *out.add(len) = 0;
}

impl Launch<'_> {
    /// Forks and executes; panics if the fork fails.
    pub fn spawn(&self) -> Process {
        let program = cstring(self.program.as_os_str().as_bytes());
        let mut argv: Vec<CString> = vec![cstring(self.arg0.as_bytes())];
        argv.extend(self.args.iter().map(|a| cstring(a.as_bytes())));
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());

        let mut env: Vec<CString> = std::env::vars_os()
            .filter(|(name, _)| {
                let name = name.as_bytes();
                !name.starts_with(b"LISTEN_")
                    && name != b"NOTIFY_SOCKET"
                    && !self.env.iter().any(|(n, _)| n.as_bytes() == name)
            })
            .map(|(name, value)| {
                let mut text = name.as_bytes().to_vec();
                text.push(b'=');
                text.extend_from_slice(value.as_bytes());
                cstring(&text)
            })
            .collect();
        for (name, value) in &self.env {
            env.push(cstring(format!("{name}={value}").as_bytes()));
        }
        // Without sockets the process is started in traditional mode.
        let activated = !self.fds.is_empty() || self.fdnames.is_some();
        if activated {
            env.push(cstring(format!("LISTEN_FDS={}", self.fds.len()).as_bytes()));
        }
        if let Some(names) = &self.fdnames {
            env.push(cstring(format!("LISTEN_FDNAMES={names}").as_bytes()));
        }
        // Filled in by the child with its pid.
        let mut listen_pid = b"LISTEN_PID=".to_vec();
        listen_pid.resize(listen_pid.len() + 16, 0);
        let pid_digits_at = b"LISTEN_PID=".len();
        let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
        if activated {
            env_ptrs.push(listen_pid.as_ptr().cast());
        }
        env_ptrs.push(std::ptr::null());
        assert!(self.fds.len() <= 64, "at most 64 inherited sockets");
        let listen_pid_buf = listen_pid.as_mut_ptr();

        let stdin = File::open("/dev/null").expect("open /dev/null");
        let stdout = File::create(self.stdout).expect("create stdout file");
        let stderr = File::create(self.stderr).expect("create stderr file");
        let (stdin, stdout, stderr) = (stdin.as_raw_fd(), stdout.as_raw_fd(), stderr.as_raw_fd());
        let fds = self.fds.clone();

        // SAFETY: between fork and execve the child only calls
        // async-signal-safe functions and writes to memory it owns.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: see above; every pointer was prepared before fork.
            unsafe {
                libc::setpgid(0, 0);
                write_decimal(listen_pid_buf.add(pid_digits_at), libc::getpid());
                // Move the sockets out of the way first: a source fd may
                // sit where another one has to go.
                let mut moved = [0 as RawFd; 64];
                for (i, fd) in fds.iter().enumerate().take(moved.len()) {
                    moved[i] = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 100);
                }
                libc::dup2(stdin, 0);
                libc::dup2(stdout, 1);
                libc::dup2(stderr, 2);
                for (i, fd) in moved.iter().take(fds.len()).enumerate() {
                    libc::dup2(*fd, 3 + i as RawFd);
                }
                libc::execve(program.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr());
                libc::_exit(127);
            }
        }
        Process { pid, status: None }
    }
}

impl Process {
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The exit status once the process has ended, without blocking.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
            self.status = match waitpid(Pid::from_raw(self.pid), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, code)) => Some(ExitStatus::from_raw((code & 0xff) << 8)),
                Ok(WaitStatus::Signaled(_, signal, core)) => Some(ExitStatus::from_raw(
                    signal as i32 | if core { 0x80 } else { 0 },
                )),
                _ => None,
            };
        }
        self.status
    }

    /// Waits for the end; `None` if it still runs after `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_until(timeout, || self.try_wait().is_some());
        self.status
    }

    pub fn signal(&self, signal: i32) {
        let signal = nix::sys::signal::Signal::try_from(signal).expect("a signal number");
        nix::sys::signal::kill(Pid::from_raw(self.pid), signal).expect("kill");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(-self.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = nix::sys::wait::waitpid(Pid::from_raw(self.pid), None);
        }
    }
}
