//! QEMU processes: spawned detached from the daemon (own session, cleared environment,
//! output into the guest log) and watched through a pidfd, which becomes readable when the
//! process exits whoever reaps it, so re-attached guests are watched the same way.

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use process::{Child, Group, Spec, Stdio};

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
    child: Arc<Child>,
}

impl GuestProcess {
    /// Starts `argv` in its own session with exactly `env`, stdin from /dev/null,
    /// stdout/stderr appended to `log` and no other descriptor of the daemon.
    pub fn spawn(
        argv: &[String],
        env: &[(String, String)],
        log: &File,
        limits: ProcessLimits,
    ) -> io::Result<Self> {
        let mut spec = Spec::from_argv(argv)?
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir("/")
            .stdin(Stdio::Null)
            .stdout(Stdio::File(log.try_clone()?))
            .stderr(Stdio::File(log.try_clone()?))
            .group(Group::Session);
        for (resource, value) in [
            (libc::RLIMIT_NPROC, limits.max_processes),
            (libc::RLIMIT_NOFILE, limits.max_files),
        ] {
            if value > 0 {
                spec = spec.rlimit(resource, value);
            }
        }
        let child = spec.spawn()?;
        Ok(GuestProcess {
            pid: child.id(),
            child: Arc::new(child),
        })
    }

    /// Re-attaches to a running process by pid; `None` when it is gone.
    pub fn attach(pid: i32) -> Option<Self> {
        let child = Child::attach(pid).ok()?;
        let process = GuestProcess {
            pid,
            child: Arc::new(child),
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
        self.child.has_exited()
    }

    /// Waits until the process exits or `timeout` passes; true when it exited. A
    /// process we started is reaped then.
    pub fn wait_exit(&self, timeout: Option<Duration>) -> bool {
        match timeout {
            None => self.child.wait().is_ok(),
            Some(limit) => matches!(self.child.wait_timeout(limit), Ok(Some(_))),
        }
    }

    /// Sends a signal through the pidfd (never to a recycled pid).
    pub fn signal(&self, signal: i32) -> io::Result<()> {
        self.child.signal(signal)
    }

    /// Collects the exit status if the process has exited and is our child (not after
    /// a restart: a re-attached guest's parent is init).
    pub fn reap(&self) {
        let _ = self.child.try_wait();
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
        let hz = rustix::param::clock_ticks_per_second().max(1);
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
