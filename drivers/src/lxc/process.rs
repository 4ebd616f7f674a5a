//! Starting a container's supervisor and watching it from the daemon.

use std::fs;
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use super::control::{self, ExitNotice};
use super::error::LxcError;
use super::paths::LxcPaths;
use super::supervisor::SupervisorArgs;
use super::Inner;
use crate::api::Uuid;

/// How long a container may take to start (its init must be exec'd by then).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the supervisor reports about a freshly started container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    pub init_pid: i32,
    pub supervisor_pid: i32,
    /// Host path of the console's pty.
    pub console_tty: Option<String>,
}

/// Runs the supervisor for container `name`, whose live definition is already in its
/// status file, and waits for its start-up line.
pub fn spawn_supervisor(
    paths: &LxcPaths,
    name: &str,
    pass_fds: Vec<std::os::fd::OwnedFd>,
) -> Result<Started, LxcError> {
    // The container's root is staged below the run directory, and a container
    // with `<idmap>` mounts it as an unprivileged host user: that user must be
    // able to traverse (never list) the directory.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&paths.run_dir, fs::Permissions::from_mode(0o711))
        .map_err(|e| LxcError::io("cannot set the mode of", &paths.run_dir, e))?;
    fs::create_dir_all(&paths.log_dir)
        .map_err(|e| LxcError::io("cannot create directory", &paths.log_dir, e))?;
    let log_path = paths.log_file(name);
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| LxcError::io("cannot open log file", &log_path, e))?;
    let args = SupervisorArgs {
        name: name.to_string(),
        status: paths.status_file(name),
        socket: paths.control_socket(name),
        staging: paths.root_staging(name),
        pass_fds: pass_fds.len() as u32,
    };
    let mut spec = process::Spec::new(&paths.supervisor);
    // The supervisor holds them at 3, 4, ... until init has them there too.
    for (i, fd) in pass_fds.into_iter().enumerate() {
        spec = spec.pass_fd(fd, 3 + i as i32);
    }
    let mut child = spec
        .args(args.to_args())
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(process::Stdio::Null)
        .stdout(process::Stdio::Pipe)
        .stderr(process::Stdio::File(log))
        .spawn()
        .map_err(|e| LxcError::io("cannot run the container supervisor", &paths.supervisor, e))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| LxcError::Failed("the supervisor has no stdout".into()))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(START_TIMEOUT);
    // The process we spawned only forks the real supervisor and exits.
    let _ = child.wait();
    let line = line.map_err(|_| {
        LxcError::Failed(format!(
            "the container did not start within {} seconds",
            START_TIMEOUT.as_secs()
        ))
    })?;
    parse_start_line(&line)
}

fn parse_start_line(line: &str) -> Result<Started, LxcError> {
    let line = line.trim_end();
    if let Some(message) = line.strip_prefix("error ") {
        return Err(LxcError::Failed(message.to_string()));
    }
    let mut words = line.split_whitespace();
    let parsed = match (words.next(), words.next(), words.next()) {
        (Some("ok"), Some(init), Some(supervisor)) => init
            .parse()
            .ok()
            .zip(supervisor.parse().ok())
            .map(|(init_pid, supervisor_pid)| Started {
                init_pid,
                supervisor_pid,
                console_tty: words.next().map(str::to_string),
            }),
        _ => None,
    };
    parsed.ok_or_else(|| {
        LxcError::Failed(if line.is_empty() {
            "the supervisor exited without starting the container".to_string()
        } else {
            format!("unexpected answer from the supervisor: {line}")
        })
    })
}

/// Watches a running container in a thread of its own; when its init is gone (or the
/// supervisor vanished) the domain is marked stopped.
pub fn spawn_watcher(inner: &Arc<Inner>, uuid: Uuid, token: u64, name: &str) {
    let socket = inner.paths.control_socket(name);
    let inner = Arc::clone(inner);
    std::thread::spawn(move || {
        let notice = match control::watch(&socket) {
            Ok(mut reader) => {
                let mut notice = None;
                let mut line = String::new();
                while notice.is_none() {
                    line.clear();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => notice = ExitNotice::parse(&line),
                    }
                }
                notice
            }
            Err(_) => None,
        };
        if super::lifecycle::container_exited(&inner, &uuid, token, notice) {
            // Init asked for a reboot: the same definition starts again. A transient
            // domain that cannot start again is gone, as after any other stop.
            if inner.start(&uuid, 0).is_err() {
                let mut st = inner.lock();
                if let Some(index) = st.find_by_uuid(&uuid) {
                    if !st.domains[index].persistent && !st.domains[index].is_active() {
                        st.domains.remove(index);
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_start_line() {
        assert_eq!(
            parse_start_line("ok 42 40 /dev/pts/3\n").expect("ok line"),
            Started {
                init_pid: 42,
                supervisor_pid: 40,
                console_tty: Some("/dev/pts/3".into()),
            }
        );
        let err = parse_start_line("error cannot mount\n").expect_err("error line");
        assert_eq!(err.to_string(), "cannot mount");
        let err = parse_start_line("").expect_err("nothing");
        assert!(err.to_string().contains("exited without"), "{err}");
    }
}
