//! QEMU processes: spawned detached from the daemon (own session, cleared environment,
//! output into the guest log) and watched through a pidfd, which becomes readable when the
//! process exits whoever reaps it, so re-attached guests are watched the same way.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Resource limits for a guest process (0: inherit the daemon's).
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessLimits {
    pub max_processes: u64,
    pub max_files: u64,
}

/// A QEMU process we started or re-attached to.
#[derive(Clone, Debug)]
pub struct GuestProcess {
    pub pid: i32,
    pidfd: Arc<OwnedFd>,
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::other("descriptor out of range"))?;
    // SAFETY: the kernel just gave us this descriptor; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl GuestProcess {
    /// Starts `argv` in its own session with exactly `env`, stdin from /dev/null and
    /// stdout/stderr appended to `log`.
    pub fn spawn(
        argv: &[String],
        env: &[(String, String)],
        log: &File,
        limits: ProcessLimits,
    ) -> io::Result<Self> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::other("empty command line"))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?);
        // SAFETY: setsid is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(io::Error::last_os_error());
                }
                for (resource, value) in [
                    (libc::RLIMIT_NPROC, limits.max_processes),
                    (libc::RLIMIT_NOFILE, limits.max_files),
                ] {
                    if value > 0 {
                        let limit = libc::rlimit {
                            rlim_cur: value,
                            rlim_max: value,
                        };
                        if libc::setrlimit(resource, &limit) != 0 {
                            return Err(io::Error::last_os_error());
                        }
                    }
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        let pid = i32::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
        // The Child is dropped without waiting: the pidfd watches the process and
        // `reap` collects it.
        drop(child);
        let pidfd = pidfd_open(pid)?;
        Ok(GuestProcess {
            pid,
            pidfd: Arc::new(pidfd),
        })
    }

    /// Re-attaches to a running process by pid; `None` when it is gone.
    pub fn attach(pid: i32) -> Option<Self> {
        if pid <= 0 {
            return None;
        }
        let pidfd = pidfd_open(pid).ok()?;
        let process = GuestProcess {
            pid,
            pidfd: Arc::new(pidfd),
        };
        (!process.has_exited()).then_some(process)
    }

    /// The process's command line, NUL-separated arguments joined by spaces.
    pub fn cmdline(&self) -> String {
        std::fs::read(format!("/proc/{}/cmdline", self.pid))
            .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
            .unwrap_or_default()
    }

    pub fn has_exited(&self) -> bool {
        self.wait_exit(Some(Duration::ZERO))
    }

    /// Waits until the process exits or `timeout` passes; true when it exited.
    pub fn wait_exit(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let millis = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    i32::try_from(left.as_millis()).unwrap_or(i32::MAX)
                }
            };
            let mut pfd = libc::pollfd {
                fd: self.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, millis) };
            if n > 0 {
                return true;
            }
            if n == 0 {
                return false;
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return false;
            }
        }
    }

    /// Sends a signal through the pidfd (never to a recycled pid).
    pub fn signal(&self, signal: i32) -> io::Result<()> {
        // SAFETY: pidfd_send_signal with a valid descriptor and no siginfo.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ESRCH) {
                return Ok(());
            }
            return Err(err);
        }
        Ok(())
    }

    /// Collects the exit status if the process is our child (not after a restart).
    pub fn reap(&self) {
        // SAFETY: waitpid on one specific pid with WNOHANG never blocks.
        unsafe {
            libc::waitpid(self.pid, std::ptr::null_mut(), libc::WNOHANG);
        }
    }

    /// CPU time used so far, in nanoseconds (utime + stime from /proc).
    pub fn cpu_time_ns(&self) -> u64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return 0;
        };
        let Some(after_comm) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            return 0;
        };
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // Fields 14 and 15 of stat are utime/stime; after ") " the state is field 3.
        let total = ticks(11) + ticks(12);
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let hz = u64::try_from(hz).ok().filter(|h| *h > 0).unwrap_or(100);
        total.saturating_mul(1_000_000_000 / hz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawned_process_is_watched_and_signalled() {
        let log = tempfile_log();
        let argv = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            "echo hi; sleep 30".to_string(),
        ];
        let env = vec![("PATH".to_string(), "/usr/bin:/bin".to_string())];
        let process =
            GuestProcess::spawn(&argv, &env, &log.0, ProcessLimits::default()).expect("spawn");
        assert!(!process.has_exited());
        assert!(process.cmdline().contains("sleep 30"));
        let again = GuestProcess::attach(process.pid).expect("attach");
        process.signal(libc::SIGKILL).expect("kill");
        assert!(again.wait_exit(Some(Duration::from_secs(10))));
        process.reap();
        let _ = std::fs::remove_file(&log.1);
    }

    fn tempfile_log() -> (File, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("qemu-proc-{}.log", std::process::id()));
        (File::create(&path).expect("log"), path)
    }
}
