//! A started (or re-attached) process, watched through its pidfd.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a process ended, as far as we can know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Its status, collected because it is our child.
    Status(ExitStatus),
    /// It is gone, but it was not our child (re-attached after a daemon restart, its
    /// parent is init now) or someone else collected it: the status is not ours to read.
    Unknown,
}

impl Exit {
    pub fn status(&self) -> Option<ExitStatus> {
        match self {
            Exit::Status(status) => Some(*status),
            Exit::Unknown => None,
        }
    }

    /// Exit status 0.
    pub fn success(&self) -> bool {
        self.status().is_some_and(|s| s.success())
    }
}

/// The end of [`Child::wait_or_kill_group`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    Exited(Exit),
    /// The deadline passed: the process group was killed and the process reaped.
    TimedOut,
}

/// A process we started or re-attached to.
///
/// Waits poll its pidfd, which becomes readable when the process exits whoever its
/// parent is; our own children are then reaped by their pid (never `waitpid(-1)`).
/// Dropping a `Child` neither kills nor reaps it: guests outlive the daemon, and a
/// child never waited for stays a zombie until the daemon exits, so owners wait.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    /// The process group the child leads, when it has one of its own.
    group: Option<libc::pid_t>,
    /// Whether we are its parent and may collect its status.
    parent: bool,
    /// The status once collected (collecting twice would fail or, worse, reap another).
    exit: Mutex<Option<Exit>>,
    pub stdin: Option<ChildStdin>,
    pub stdout: Option<ChildStdout>,
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// Wraps a child the standard library just started. Its pid cannot have been
    /// reused: it is our unreaped child, so opening a pidfd by number is safe.
    pub(crate) fn from_std(mut child: std::process::Child, own_group: bool) -> io::Result<Child> {
        let pid = libc::pid_t::try_from(child.id())
            .map_err(|_| io::Error::other("process id out of range"))?;
        let pidfd = match pidfd_open(pid) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(Child {
            pid,
            pidfd,
            group: own_group.then_some(pid),
            parent: true,
            exit: Mutex::new(None),
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        })
    }

    /// Watches a process started by an earlier instance of the daemon (a guest or a
    /// supervisor after a restart). It is not our child, so waits end with
    /// [`Exit::Unknown`]: what the process left behind (a status file, a log, a
    /// socket closing) must tell how it ended. The caller checks that `pid` is still
    /// the process it expects (its command line, say): a pid is only a number.
    pub fn attach(pid: libc::pid_t) -> io::Result<Child> {
        if pid <= 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a process id",
            ));
        }
        let pidfd = pidfd_open(pid)?;
        let leads_group = rustix::process::getpgid(Some(process_id(pid)?))
            .is_ok_and(|pgid| pgid.as_raw_nonzero().get() == pid);
        Ok(Child {
            pid,
            pidfd,
            group: leads_group.then_some(pid),
            parent: false,
            exit: Mutex::new(None),
            stdin: None,
            stdout: None,
            stderr: None,
        })
    }

    pub fn id(&self) -> libc::pid_t {
        self.pid
    }

    /// The process group the child leads, if any.
    pub fn group(&self) -> Option<libc::pid_t> {
        self.group
    }

    /// Readable once the process has exited, for callers that poll it with other
    /// descriptors.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Whether the process has exited (it may not be reaped yet).
    pub fn has_exited(&self) -> bool {
        matches!(poll_readable(&self.pidfd, Some(Duration::ZERO)), Ok(true))
    }

    /// The exit, if the process has ended; reaps it when it is our child.
    pub fn try_wait(&self) -> io::Result<Option<Exit>> {
        let mut exit = self.lock_exit();
        if let Some(done) = *exit {
            return Ok(Some(done));
        }
        if !poll_readable(&self.pidfd, Some(Duration::ZERO))? {
            return Ok(None);
        }
        let done = if self.parent {
            reap(self.pid)?
        } else {
            Exit::Unknown
        };
        *exit = Some(done);
        Ok(Some(done))
    }

    /// Blocks until the process ends.
    pub fn wait(&self) -> io::Result<Exit> {
        loop {
            if let Some(done) = self.wait_timeout(Duration::from_secs(3600))? {
                return Ok(done);
            }
        }
    }

    /// Waits at most `timeout`; `None` when the process still runs.
    pub fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<Exit>> {
        if let Some(done) = *self.lock_exit() {
            return Ok(Some(done));
        }
        if !poll_readable(&self.pidfd, Some(timeout))? {
            return Ok(None);
        }
        self.try_wait()
    }

    /// Waits for the process until `timeout`, then kills its process group (or the
    /// process alone when it has no group of its own) and reaps it.
    pub fn wait_or_kill_group(&self, timeout: Duration) -> io::Result<Finished> {
        if let Some(done) = self.wait_timeout(timeout)? {
            return Ok(Finished::Exited(done));
        }
        self.kill_group()?;
        self.wait()?;
        Ok(Finished::TimedOut)
    }

    /// Sends `signal` through the pidfd, so never to a process that reused the pid.
    /// A process that is already gone is not an error.
    pub fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        match rustix::process::pidfd_send_signal(&self.pidfd, named_signal(signal)?) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends `signal` to the child's whole process group (to the child alone when it
    /// has none of its own). The group id is safe to use while the leader is not
    /// reaped: the kernel does not hand out its number again before that. Once the
    /// leader is reaped nothing is sent, since the number may belong to another group.
    pub fn signal_group(&self, signal: libc::c_int) -> io::Result<()> {
        let Some(group) = self.group else {
            return self.signal(signal);
        };
        let exit = self.lock_exit();
        if exit.is_some() || (!self.parent && self.has_exited()) {
            return Ok(());
        }
        match rustix::process::kill_process_group(process_id(group)?, named_signal(signal)?) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub fn kill(&self) -> io::Result<()> {
        self.signal(libc::SIGKILL)
    }

    pub fn kill_group(&self) -> io::Result<()> {
        self.signal_group(libc::SIGKILL)
    }

    fn lock_exit(&self) -> std::sync::MutexGuard<'_, Option<Exit>> {
        self.exit.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Collects the status of our exited child `pid`.
fn reap(pid: libc::pid_t) -> io::Result<Exit> {
    loop {
        match rustix::process::waitpid(Some(process_id(pid)?), WaitOptions::empty()) {
            Ok(Some((_, status))) => {
                return Ok(Exit::Status(ExitStatus::from_raw(status.as_raw())))
            }
            Ok(None) => return Ok(Exit::Unknown),
            Err(rustix::io::Errno::INTR) => continue,
            // Reaped elsewhere, or SIGCHLD is ignored: gone, status unknown.
            Err(rustix::io::Errno::CHILD) => return Ok(Exit::Unknown),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Polls `fd` for input for at most `timeout` (forever with `None`).
pub(crate) fn poll_readable(fd: &OwnedFd, timeout: Option<Duration>) -> io::Result<bool> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let wait = left.map(|left| Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        });
        let mut pfd = [PollFd::new(fd, PollFlags::IN)];
        match poll(&mut pfd, wait.as_ref()) {
            Ok(0) => {
                if deadline.is_none_or(|d| Instant::now() < d) {
                    continue;
                }
                return Ok(false);
            }
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn named_signal(signal: libc::c_int) -> io::Result<Signal> {
    Signal::from_named_raw(signal).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}

fn process_id(pid: libc::pid_t) -> io::Result<Pid> {
    Pid::from_raw(pid).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}

fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    Ok(rustix::process::pidfd_open(
        process_id(pid)?,
        PidfdFlags::empty(),
    )?)
}
