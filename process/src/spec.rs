//! What to start and how: [`Spec`] and [`Stdio`].
//!
//! Built on `std::process::Command` with a `pre_exec` step rather than on
//! `posix_spawn`: `posix_spawn` can neither join a cgroup, set resource limits, nor
//! mark a whole descriptor range close-on-exec, while `Command` already prepares argv
//! and the environment before forking, reports a failed exec (or a failed `pre_exec`
//! step) back to the caller through its own pipe, and only runs our step in the child.
//! That step (see [`Spec::spawn`]) is written to be async-signal-safe: it makes plain
//! system calls on data prepared before the fork and allocates nothing.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::after_fork::ChildStep;
use crate::child::Child;

/// Where a standard stream of the child goes.
#[derive(Debug)]
pub enum Stdio {
    /// `/dev/null`.
    Null,
    /// A pipe to the parent, found in [`Child::stdin`] and friends.
    Pipe,
    /// An open file (a log, usually); the child gets its own copy of the descriptor.
    File(File),
}

/// Which process group and session the child lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// The parent's, so signals to the daemon's group reach the child too.
    Inherit,
    /// A new process group led by the child; killing the group kills what it started.
    Own,
    /// A new session (and group), detached from any terminal: for processes that
    /// outlive the daemon.
    Session,
}

/// A process to start. Defaults: empty environment, `/` as working directory, every
/// standard stream on `/dev/null`, the parent's process group, no other descriptor.
#[derive(Debug)]
pub struct Spec {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: PathBuf,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
    group: Group,
    uid: Option<u32>,
    gid: Option<u32>,
    cgroup: Option<PathBuf>,
    pass: Vec<(OwnedFd, RawFd)>,
    rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
}

impl Spec {
    pub fn new(program: impl AsRef<OsStr>) -> Spec {
        Spec {
            program: PathBuf::from(program.as_ref()),
            args: Vec::new(),
            env: Vec::new(),
            cwd: PathBuf::from("/"),
            stdin: Stdio::Null,
            stdout: Stdio::Null,
            stderr: Stdio::Null,
            group: Group::Inherit,
            uid: None,
            gid: None,
            cgroup: None,
            pass: Vec::new(),
            rlimits: Vec::new(),
        }
    }

    /// A spec from a whole command line (program first).
    pub fn from_argv<S: AsRef<OsStr>>(argv: &[S]) -> io::Result<Spec> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command line"))?;
        Ok(Spec::new(program).args(args))
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Spec {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Spec {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Adds one variable to the otherwise empty environment.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Spec {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Spec {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Spec {
        self.cwd = dir.as_ref().to_path_buf();
        self
    }

    pub fn stdin(mut self, how: Stdio) -> Spec {
        self.stdin = how;
        self
    }

    pub fn stdout(mut self, how: Stdio) -> Spec {
        self.stdout = how;
        self
    }

    pub fn stderr(mut self, how: Stdio) -> Spec {
        self.stderr = how;
        self
    }

    pub fn group(mut self, group: Group) -> Spec {
        self.group = group;
        self
    }

    /// Runs the child as `uid` (after joining the cgroup, which may need privileges).
    pub fn uid(mut self, uid: u32) -> Spec {
        self.uid = Some(uid);
        self
    }

    /// Runs the child with `gid` and no supplementary groups.
    pub fn gid(mut self, gid: u32) -> Spec {
        self.gid = Some(gid);
        self
    }

    /// A cgroup directory (v1 or v2) the child joins before exec, so that nothing it
    /// does escapes the group's limits.
    pub fn cgroup(mut self, dir: impl AsRef<Path>) -> Spec {
        self.cgroup = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Passes `fd` to the child as descriptor number `target` (3 or above; the standard
    /// streams are set with [`Spec::stdin`] and friends).
    pub fn pass_fd(mut self, fd: OwnedFd, target: RawFd) -> Spec {
        self.pass.push((fd, target));
        self
    }

    /// Sets a resource limit (soft and hard) in the child, e.g. `libc::RLIMIT_NOFILE`.
    pub fn rlimit(mut self, resource: libc::__rlimit_resource_t, value: u64) -> Spec {
        self.rlimits.push((resource, value));
        self
    }

    /// Starts the process. The call returns once the program has been executed, or
    /// with the error that stopped it (from exec or from a set-up step in the child).
    pub fn spawn(&self) -> io::Result<Child> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(std_stdio(&self.stdin)?)
            .stdout(std_stdio(&self.stdout)?)
            .stderr(std_stdio(&self.stderr)?);
        if self.group == Group::Own {
            command.process_group(0);
        }
        self.child_step()?.install(&mut command);
        let child = command.spawn()?;
        let own_group = self.group != Group::Inherit;
        Child::from_std(child, own_group)
    }

    /// Runs the process to its end with stdout and stderr captured (stdin as set).
    pub fn output(self) -> io::Result<Output> {
        let spec = self.stdout(Stdio::Pipe).stderr(Stdio::Pipe);
        let mut child = spec.spawn()?;
        let stderr = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut stderr) = stderr {
                let _ = io::Read::read_to_end(&mut stderr, &mut buf);
            }
            buf
        });
        let mut stdout = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            io::Read::read_to_end(&mut out, &mut stdout)?;
        }
        let stderr = reader.join().unwrap_or_default();
        let exit = child.wait()?;
        Ok(Output {
            exit,
            stdout,
            stderr,
        })
    }

    fn child_step(&self) -> io::Result<ChildStep> {
        for (_, target) in &self.pass {
            if *target < 3 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "passed descriptors go to number 3 or above",
                ));
            }
        }
        let cgroup_procs = match &self.cgroup {
            Some(dir) => Some(
                CString::new(dir.join("cgroup.procs").as_os_str().as_bytes())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?,
            ),
            None => None,
        };
        let highest = self.pass.iter().map(|(_, t)| *t).max().unwrap_or(2);
        Ok(ChildStep {
            cgroup_procs,
            session: self.group == Group::Session,
            rlimits: self.rlimits.clone(),
            gid: self.gid,
            uid: self.uid,
            pass: self
                .pass
                .iter()
                .map(|(fd, target)| (fd.as_raw_fd(), *target))
                .collect(),
            parked: vec![-1; self.pass.len()],
            above: highest + 1,
        })
    }
}

/// What a finished process printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub exit: crate::Exit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

fn std_stdio(how: &Stdio) -> io::Result<std::process::Stdio> {
    Ok(match how {
        Stdio::Null => std::process::Stdio::null(),
        Stdio::Pipe => std::process::Stdio::piped(),
        Stdio::File(file) => std::process::Stdio::from(file.try_clone()?),
    })
}
