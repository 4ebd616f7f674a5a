//! Starting, timing and stopping one daemon instance.
//!
//! Each start gets its own directory (config, socket directory, pid file,
//! log), so a stale socket of an earlier start can never answer for a new
//! one. Both daemons get the same libvirtd.conf settings.

use std::fs::{self, File};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::isolation::{Isolation, IsolationError};
use crate::wire::{Session, WireError};

/// Descriptor limit for the daemons and the bench: room for 1000+ clients.
pub const NOFILE_LIMIT: u64 = 8192;

/// How long a daemon may take to answer its first client.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// How long a daemon may take to exit after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(15);
/// Pause between connection attempts while the socket does not exist yet.
const CONNECT_RETRY: Duration = Duration::from_micros(200);

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("preparing {path}: {source}")]
    Prepare { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Isolation(#[from] IsolationError),
    #[error("starting {binary}: {source}")]
    Spawn { binary: PathBuf, source: io::Error },
    #[error("{label} exited ({status}) before answering; log {log}:\n{tail}")]
    Exited {
        label: &'static str,
        status: std::process::ExitStatus,
        log: PathBuf,
        tail: String,
    },
    #[error("{label} did not answer within {limit:?}; log {log}")]
    NotReady {
        label: &'static str,
        limit: Duration,
        log: PathBuf,
    },
    #[error("{label}'s first client failed: {source}; log {log}")]
    FirstClient {
        label: &'static str,
        source: WireError,
        log: PathBuf,
    },
    #[error("{label} wrote no usable pid file at {path}")]
    PidFile { label: &'static str, path: PathBuf },
    #[error("waiting for {label}: {source}")]
    Wait {
        label: &'static str,
        source: io::Error,
    },
}

/// How a daemon is started.
#[derive(Debug, Clone)]
pub enum Flavor {
    /// This project's libvirtd, confined with `LIBVIRTD_ROOT`.
    Ours,
    /// The real libvirtd 9.0 in a private mount namespace, under a child
    /// subreaper when one is installed.
    Theirs {
        isolation: Arc<Isolation>,
        subreaper: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub struct DaemonSpec {
    pub label: &'static str,
    pub binary: PathBuf,
    pub flavor: Flavor,
}

/// A started daemon that answered its first client.
#[derive(Debug)]
pub struct RunningDaemon {
    label: &'static str,
    child: Option<Child>,
    /// The daemon's own pid (not the subreaper's).
    pub pid: u32,
    pub socket: PathBuf,
    /// From just before exec to the reply of the first GET_LIB_VERSION.
    pub startup: Duration,
    pub log: PathBuf,
}

/// The libvirtd.conf both daemons get.
pub fn config_text(socket_dir: &Path) -> String {
    format!(
        "# written by libvirtd-bench\n\
         unix_sock_dir = \"{}\"\n\
         auth_unix_rw = \"none\"\n\
         auth_unix_ro = \"none\"\n\
         max_clients = 5000\n",
        socket_dir.display()
    )
}

fn prepare(path: &Path, result: io::Result<()>) -> Result<(), LaunchError> {
    result.map_err(|source| LaunchError::Prepare {
        path: path.to_path_buf(),
        source,
    })
}

/// Raises this process's descriptor limit (soft, and hard if needed).
pub fn raise_nofile_limit() -> io::Result<()> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if hard > NOFILE_LIMIT && setrlimit(Resource::RLIMIT_NOFILE, NOFILE_LIMIT, hard).is_ok() {
            return Ok(());
        }
    }
    setrlimit(Resource::RLIMIT_NOFILE, NOFILE_LIMIT, NOFILE_LIMIT)?;
    Ok(())
}

/// What a start adds to the common configuration.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Appended to [`config_text`].
    pub config: String,
    /// Pass `-l` (`--listen`), which TCP and TLS listeners need.
    pub listen: bool,
}

impl DaemonSpec {
    /// Starts one instance in `dir` (created) and waits until a client is
    /// served: AUTH_LIST, CONNECT_OPEN, CONNECT_GET_LIB_VERSION.
    pub fn start(&self, dir: &Path) -> Result<RunningDaemon, LaunchError> {
        self.start_with(dir, &Extra::default())
    }

    /// [`DaemonSpec::start`] with more configuration and options; readiness
    /// is still judged on the Unix socket.
    pub fn start_with(&self, dir: &Path, extra: &Extra) -> Result<RunningDaemon, LaunchError> {
        let socket_dir = dir.join("sock");
        let config = dir.join("libvirtd.conf");
        let pid_file = dir.join("libvirtd.pid");
        let log = dir.join("daemon.log");
        prepare(&socket_dir, fs::create_dir_all(&socket_dir))?;
        let text = config_text(&socket_dir) + &extra.config;
        prepare(&config, fs::write(&config, text))?;
        let log_file = File::create(&log).map_err(|source| LaunchError::Prepare {
            path: log.clone(),
            source,
        })?;
        let log_err = log_file
            .try_clone()
            .map_err(|source| LaunchError::Prepare {
                path: log.clone(),
                source,
            })?;

        let mut command = self.command(dir, &config, &pid_file)?;
        if extra.listen {
            command.arg("-l");
        }
        command
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .process_group(0);
        let started = Instant::now();
        let child = command.spawn().map_err(|source| LaunchError::Spawn {
            binary: self.binary.clone(),
            source,
        })?;
        let mut daemon = RunningDaemon {
            label: self.label,
            pid: child.id(),
            child: Some(child),
            socket: socket_dir.join("libvirt-sock"),
            startup: Duration::ZERO,
            log,
        };
        daemon.wait_ready()?;
        daemon.startup = started.elapsed();
        if let Flavor::Theirs {
            subreaper: Some(_), ..
        } = self.flavor
        {
            daemon.pid = read_pid(&pid_file).ok_or(LaunchError::PidFile {
                label: self.label,
                path: pid_file.clone(),
            })?;
        }
        Ok(daemon)
    }

    fn command(&self, dir: &Path, config: &Path, pid_file: &Path) -> Result<Command, LaunchError> {
        let daemon_args = [
            "-f".as_ref(),
            config.as_os_str(),
            "-p".as_ref(),
            pid_file.as_os_str(),
        ];
        match &self.flavor {
            Flavor::Ours => {
                let root = dir.join("root");
                prepare(&root, fs::create_dir_all(&root))?;
                let mut command = Command::new(&self.binary);
                command.args(daemon_args).env("LIBVIRTD_ROOT", &root);
                // SAFETY: the closure only makes a system call.
                unsafe {
                    command.pre_exec(raise_nofile_limit);
                }
                Ok(command)
            }
            Flavor::Theirs {
                isolation,
                subreaper,
            } => {
                let mut command = match subreaper {
                    Some(tini) => {
                        let mut c = Command::new(tini);
                        c.args(["-s", "--"]).arg(&self.binary);
                        c
                    }
                    None => Command::new(&self.binary),
                };
                command.args(daemon_args);
                let isolation = Arc::clone(isolation);
                // SAFETY: the closure only makes system calls on data
                // prepared before the fork.
                unsafe {
                    command.pre_exec(move || {
                        raise_nofile_limit()?;
                        isolation.enter()
                    });
                }
                Ok(command)
            }
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The last lines of a daemon's log, for error messages (the run's
/// directory, log included, is gone when the bench exits).
pub fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl RunningDaemon {
    fn child(&mut self) -> Result<&mut Child, LaunchError> {
        self.child.as_mut().ok_or(LaunchError::Wait {
            label: self.label,
            source: io::Error::other("already stopped"),
        })
    }

    fn wait_ready(&mut self) -> Result<(), LaunchError> {
        let deadline = Instant::now() + READY_LIMIT;
        let label = self.label;
        loop {
            if let Some(status) = self
                .child()?
                .try_wait()
                .map_err(|source| LaunchError::Wait { label, source })?
            {
                return Err(LaunchError::Exited {
                    label,
                    status,
                    log: self.log.clone(),
                    tail: log_tail(&self.log),
                });
            }
            match Session::connect(&self.socket) {
                Ok(mut session) => {
                    let served = session
                        .open_test_driver()
                        .and_then(|()| session.lib_version());
                    return served
                        .map(|_| ())
                        .map_err(|source| LaunchError::FirstClient {
                            label,
                            source,
                            log: self.log.clone(),
                        });
                }
                Err(WireError::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                    ) => {}
                Err(source) => {
                    return Err(LaunchError::FirstClient {
                        label,
                        source,
                        log: self.log.clone(),
                    })
                }
            }
            if Instant::now() >= deadline {
                return Err(LaunchError::NotReady {
                    label,
                    limit: READY_LIMIT,
                    log: self.log.clone(),
                });
            }
            thread::sleep(CONNECT_RETRY);
        }
    }

    /// SIGTERM, then SIGKILL to the whole process group if the daemon does
    /// not exit in time.
    pub fn stop(mut self) -> Result<(), LaunchError> {
        let label = self.label;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as libc::pid_t),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + STOP_LIMIT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    kill_group(&child);
                    child
                        .wait()
                        .map_err(|source| LaunchError::Wait { label, source })?;
                    break;
                }
                Err(source) => return Err(LaunchError::Wait { label, source }),
            }
        }
        // Anything the daemon left behind in its group goes too.
        kill_group(&child);
        Ok(())
    }
}

/// SIGKILL to the process group `child` leads.
pub(crate) fn kill_group(child: &Child) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(child.id() as libc::pid_t),
        nix::sys::signal::Signal::SIGKILL,
    );
}

impl Drop for RunningDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&child);
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_points_sockets_into_the_instance_directory() {
        let text = config_text(Path::new("/tmp/x/sock"));
        assert!(text.contains("unix_sock_dir = \"/tmp/x/sock\"\n"));
        assert!(text.contains("auth_unix_rw = \"none\"\n"));
    }

    #[test]
    fn a_daemon_that_exits_at_once_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let spec = DaemonSpec {
            label: "fake",
            binary: PathBuf::from("/bin/false"),
            flavor: Flavor::Ours,
        };
        let err = spec.start(dir.path()).unwrap_err();
        match err {
            LaunchError::Exited { label, log, .. } => {
                assert_eq!(label, "fake");
                assert!(log.starts_with(dir.path()));
            }
            other => panic!("unexpected error: {other}"),
        }
    }

    #[test]
    fn limit_can_be_raised() {
        raise_nofile_limit().unwrap();
        let (soft, _) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(soft, NOFILE_LIMIT);
    }
}
