//! Running one script: spawn it cleanly, feed its stdin, collect stdout and
//! stderr, and wait for it, with an optional deadline.
//!
//! The wait ends when the script process exits, not when its pipes close: a
//! script that leaves a background child holding stdout (`sleep 1000 &`)
//! does not hold up the operation, which it would in libvirt. Once the
//! script has exited, everything it wrote is already in the pipes, so the
//! remaining bytes are drained without waiting for end-of-file.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use process::{Child, Exit, Group, Spec, Stdio};

use crate::error::{HookError, HookFailure};
use crate::invocation::Invocation;

/// Output kept per stream; a script printing more is not a hook script.
const MAX_CAPTURE: usize = 64 * 1024 * 1024;
/// How long a script that is open for writing elsewhere is retried.
const BUSY_RETRY_FOR: Duration = Duration::from_secs(2);

/// What a successful script printed.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `inv` to completion. Any outcome other than exit status 0 is an error.
pub(crate) fn run(
    inv: &Invocation,
    input: Option<&[u8]>,
    timeout: Option<Duration>,
) -> Result<Output, HookError> {
    let fail = |failure: HookFailure, stderr: &[u8]| {
        HookError::new(
            inv.program.clone(),
            inv.display(),
            failure,
            String::from_utf8_lossy(stderr).into_owned(),
        )
    };
    let mut child = match spawn(inv, input.is_some()) {
        Ok(child) => child,
        Err(e) => {
            let status = if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let reason = format!(
                "cannot execute binary {}: {}",
                inv.program.display(),
                os_error_text(&e)
            );
            return Err(fail(HookFailure::ExitStatus(status), reason.as_bytes()));
        }
    };
    let mut session = match Session::new(&mut child, input.unwrap_or_default()) {
        Ok(session) => session,
        Err(e) => {
            kill_group(&mut child);
            return Err(fail(HookFailure::Supervision(e.to_string()), b""));
        }
    };
    let deadline = timeout.map(|limit| Instant::now() + limit);
    match session.supervise(&mut child, deadline) {
        Ok(Some(status)) => {
            let output = session.finish();
            match failure_of(status) {
                None => Ok(output),
                Some(failure) => Err(fail(failure, &output.stderr)),
            }
        }
        Ok(None) => {
            kill_group(&mut child);
            session.drain();
            let output = session.finish();
            let limit = timeout.unwrap_or_default();
            Err(fail(HookFailure::TimedOut(limit), &output.stderr))
        }
        Err(e) => {
            kill_group(&mut child);
            let output = session.finish();
            Err(fail(
                HookFailure::Supervision(e.to_string()),
                &output.stderr,
            ))
        }
    }
}

/// Starts the script. `ETXTBSY` means some process still has the file open
/// for writing: an admin's editor saving it, or a process forked elsewhere in
/// the daemon just while the file was being written, which lets go at its
/// exec. Both pass quickly, so that case is retried for a while.
fn spawn(inv: &Invocation, with_input: bool) -> io::Result<Child> {
    let spec = spec(inv, with_input);
    let give_up = Instant::now() + BUSY_RETRY_FOR;
    let mut pause = Duration::from_millis(1);
    loop {
        match spec.spawn() {
            Err(e) if e.kind() == io::ErrorKind::ExecutableFileBusy && Instant::now() < give_up => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// How `inv` runs: cleared environment, `/` as working directory, its own
/// process group, pipes for the three standard streams, and no other
/// descriptor of the daemon.
fn spec(inv: &Invocation, with_input: bool) -> Spec {
    Spec::new(&inv.program)
        .args(&inv.args)
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(if with_input { Stdio::Pipe } else { Stdio::Null })
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .group(Group::Own)
}

/// Kills the script and everything it started in its process group, then
/// reaps the script.
fn kill_group(child: &mut Child) {
    let _ = child.kill_group();
    let _ = child.wait();
}

fn failure_of(exit: Exit) -> Option<HookFailure> {
    let Some(status) = exit.status() else {
        return Some(HookFailure::Supervision(
            "the script's exit status was collected elsewhere".into(),
        ));
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => None,
        (Some(code), _) => Some(HookFailure::ExitStatus(code)),
        (None, Some(signal)) => Some(HookFailure::Signal(signal)),
        (None, None) => Some(HookFailure::Supervision(format!("{status}"))),
    }
}

/// The text of an OS error without Rust's " (os error N)" suffix.
fn os_error_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// The pipes of one running script and what came out of them so far.
struct Session<'a> {
    stdin: Option<std::process::ChildStdin>,
    input: &'a [u8],
    written: usize,
    stdout: Option<std::process::ChildStdout>,
    stderr: Option<std::process::ChildStderr>,
    output: Output,
}

impl<'a> Session<'a> {
    fn new(child: &mut Child, input: &'a [u8]) -> io::Result<Session<'a>> {
        let session = Session {
            stdin: child.stdin.take(),
            input,
            written: 0,
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
            output: Output::default(),
        };
        if let Some(stdin) = &session.stdin {
            set_nonblocking(stdin)?;
        }
        if let Some(stdout) = &session.stdout {
            set_nonblocking(stdout)?;
        }
        if let Some(stderr) = &session.stderr {
            set_nonblocking(stderr)?;
        }
        Ok(session)
    }

    /// Moves data until the script exits (its status) or the deadline passes
    /// (`None`).
    fn supervise(
        &mut self,
        child: &mut Child,
        deadline: Option<Instant>,
    ) -> io::Result<Option<Exit>> {
        if self.input.is_empty() {
            self.stdin = None;
        }
        loop {
            let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let timeout = match wait {
                None => PollTimeout::NONE,
                // Round up so a deadline under a millisecond still waits.
                Some(w) => PollTimeout::try_from(w.as_millis().max(u128::from(!w.is_zero())))
                    .unwrap_or(PollTimeout::MAX),
            };
            // The pidfd becomes readable when the script exits.
            let wanted = [
                (self.stdin.as_ref().map(|s| s.as_fd()), PollFlags::POLLOUT),
                (self.stdout.as_ref().map(|s| s.as_fd()), PollFlags::POLLIN),
                (self.stderr.as_ref().map(|s| s.as_fd()), PollFlags::POLLIN),
                (Some(child.pidfd()), PollFlags::POLLIN),
            ];
            let mut fds = Vec::with_capacity(wanted.len());
            let mut at = [None; 4];
            for (slot, (fd, events)) in at.iter_mut().zip(wanted) {
                if let Some(fd) = fd {
                    *slot = Some(fds.len());
                    fds.push(PollFd::new(fd, events));
                }
            }
            let [stdin_at, stdout_at, stderr_at, pidfd_at] = at;
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let revents: Vec<PollFlags> = fds
                .iter()
                .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
                .collect();
            drop(fds);
            let ready = |at: Option<usize>, mask: PollFlags| {
                at.is_some_and(|i| {
                    revents[i].intersects(mask | PollFlags::POLLERR | PollFlags::POLLHUP)
                })
            };
            if ready(stdin_at, PollFlags::POLLOUT) {
                self.write_input();
            }
            if ready(stdout_at, PollFlags::POLLIN) {
                read_available(&mut self.stdout, &mut self.output.stdout)?;
            }
            if ready(stderr_at, PollFlags::POLLIN) {
                read_available(&mut self.stderr, &mut self.output.stderr)?;
            }
            let exited = if ready(pidfd_at, PollFlags::POLLIN) {
                Some(child.wait()?)
            } else {
                None
            };
            if let Some(status) = exited {
                self.drain();
                return Ok(Some(status));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
        }
    }

    /// Writes what the pipe takes now; closes stdin when all is written or
    /// the script stopped reading (it may ignore its input).
    fn write_input(&mut self) {
        let Some(stdin) = self.stdin.as_mut() else {
            return;
        };
        loop {
            match stdin.write(&self.input[self.written..]) {
                Ok(0) => break,
                Ok(n) => {
                    self.written += n;
                    if self.written == self.input.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => break,
            }
        }
        self.stdin = None;
    }

    /// Takes whatever is buffered in stdout and stderr without waiting.
    fn drain(&mut self) {
        self.stdin = None;
        // Errors here only lose output of a script that is already gone.
        let _ = read_available(&mut self.stdout, &mut self.output.stdout);
        let _ = read_available(&mut self.stderr, &mut self.output.stderr);
        self.stdout = None;
        self.stderr = None;
    }

    fn finish(self) -> Output {
        self.output
    }
}

/// Reads until the pipe is empty for now; at end-of-file the pipe is dropped.
fn read_available<R: Read>(pipe: &mut Option<R>, into: &mut Vec<u8>) -> io::Result<()> {
    let Some(reader) = pipe.as_mut() else {
        return Ok(());
    };
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => {
                *pipe = None;
                return Ok(());
            }
            Ok(n) => {
                let room = MAX_CAPTURE.saturating_sub(into.len());
                into.extend_from_slice(&chunk[..n.min(room)]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn set_nonblocking(fd: impl AsFd) -> io::Result<()> {
    let flags = OFlag::from_bits_retain(fcntl(&fd, FcntlArg::F_GETFL)?);
    fcntl(&fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}
