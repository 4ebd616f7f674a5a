//! `-d`: detaching into the background the way libvirtd does.
//!
//! The process forks; the intermediate child points stdin, stdout and
//! stderr at `/dev/null`, starts a new session and forks again, then exits.
//! The grandchild carries on as the daemon. The original process waits on a
//! pipe for one status byte from the grandchild: 0 means "sockets are
//! listening and the pid file is written", any other value is one of
//! libvirt's start-up failure codes, which the original process reports on
//! its stderr before exiting with status 1. So `libvirtd -d` returns only
//! once the daemon can take connections, and init scripts see failures.
//!
//! [`daemonize`] must run before any other thread exists, in particular
//! before the tokio runtime is built: `fork` copies only the calling thread,
//! and locks held by other threads would stay locked forever in the child.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};

use crate::logging::os_error_text;

/// libvirt's start-up failure codes: the status byte sent to the waiting
/// parent and the daemon's exit status when it fails in the foreground.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StartupFailure {
    PidFile = 1,
    RunDir = 2,
    Init = 3,
    Signal = 4,
    Privileges = 5,
    Network = 6,
    Config = 7,
    Hooks = 8,
    Reexec = 9,
    Audit = 10,
    Driver = 11,
}

impl StartupFailure {
    const ALL: [StartupFailure; 11] = [
        StartupFailure::PidFile,
        StartupFailure::RunDir,
        StartupFailure::Init,
        StartupFailure::Signal,
        StartupFailure::Privileges,
        StartupFailure::Network,
        StartupFailure::Config,
        StartupFailure::Hooks,
        StartupFailure::Reexec,
        StartupFailure::Audit,
        StartupFailure::Driver,
    ];

    /// The status byte, also the exit status of a failed foreground start.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<StartupFailure> {
        Self::ALL.into_iter().find(|failure| failure.code() == code)
    }

    /// The phrase the waiting parent prints (libvirt's wording, which
    /// administrators and scripts look for).
    pub fn description(self) -> &'static str {
        match self {
            StartupFailure::PidFile => "Unable to obtain pidfile",
            StartupFailure::RunDir => "Unable to create rundir",
            StartupFailure::Init => "Unable to initialize libvirt",
            StartupFailure::Signal => "Unable to setup signal handlers",
            StartupFailure::Privileges => "Unable to drop privileges",
            StartupFailure::Network => "Unable to initialize network sockets",
            StartupFailure::Config => "Unable to load configuration file",
            StartupFailure::Hooks => "Unable to look for hook scripts",
            StartupFailure::Reexec => "Unable to re-execute daemon",
            StartupFailure::Audit => "Unable to initialize audit system",
            StartupFailure::Driver => "Unable to initialize driver",
        }
    }
}

/// Tells the waiting parent (if any) how start-up went. Dropping it without
/// reporting closes the pipe, and the parent then says it cannot tell
/// whether the daemon runs.
#[derive(Debug)]
pub struct StartupReporter {
    pipe: Option<File>,
}

impl StartupReporter {
    /// The reporter of a daemon that did not detach: reports go nowhere.
    pub fn foreground() -> StartupReporter {
        StartupReporter { pipe: None }
    }

    /// True in a detached daemon whose parent is still waiting.
    pub fn is_detached(&self) -> bool {
        self.pipe.is_some()
    }

    /// Start-up succeeded: the parent exits with status 0.
    pub fn report_ok(self) {
        self.send(0);
    }

    /// Start-up failed: the parent prints the failure and exits with 1.
    pub fn report_error(self, failure: StartupFailure) {
        self.send(failure.code());
    }

    fn send(mut self, status: u8) {
        if let Some(mut pipe) = self.pipe.take() {
            // The parent may already be gone; nothing useful to do then.
            let _ = pipe.write_all(&[status]);
        }
    }
}

/// Detaches the process. Returns only in the grandchild (the daemon); the
/// original process exits from inside this call once the daemon reported.
/// An error means the detaching itself failed and we are still the
/// original, attached process.
pub fn daemonize(prog: &str) -> io::Result<StartupReporter> {
    std::env::set_current_dir("/")?;
    let (read_end, write_end) = status_pipe()?;
    // SAFETY: called before any other thread exists (documented contract),
    // so the child is a faithful copy of a single-threaded process.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            drop(read_end);
            become_session_leader_and_fork(write_end)
        }
        child => {
            drop(write_end);
            wait_for_daemon(prog, child, read_end)
        }
    }
}

/// The intermediate child: detach from the terminal, fork the daemon, exit.
fn become_session_leader_and_fork(write_end: File) -> io::Result<StartupReporter> {
    // SAFETY: setsid and fork have no memory-safety preconditions; `_exit`
    // skips destructors and atexit handlers, which belong to the parent.
    unsafe {
        if redirect_stdio_to_dev_null().is_err() || libc::setsid() < 0 {
            libc::_exit(1);
        }
        match libc::fork() {
            0 => Ok(StartupReporter {
                pipe: Some(write_end),
            }),
            -1 => libc::_exit(1),
            _ => libc::_exit(0),
        }
    }
}

fn redirect_stdio_to_dev_null() -> io::Result<()> {
    let input = File::open("/dev/null")?;
    let output = OpenOptions::new().write(true).open("/dev/null")?;
    nix::unistd::dup2_stdin(&input)?;
    nix::unistd::dup2_stdout(&output)?;
    nix::unistd::dup2_stderr(&output)?;
    Ok(())
}

/// The original process: reap the intermediate child, then wait for the
/// daemon's verdict and exit with it.
fn wait_for_daemon(
    prog: &str,
    child: libc::pid_t,
    mut read_end: File,
) -> io::Result<StartupReporter> {
    let status = loop {
        match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None) {
            Ok(status) => break status,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(err.into()),
        }
    };
    if status != nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(child), 0) {
        return Err(io::Error::other(
            "the intermediate process failed to start the daemon",
        ));
    }
    let (code, message) = parent_verdict(prog, read_status(&mut read_end));
    let mut stderr = io::stderr();
    let _ = stderr.write_all(message.as_bytes());
    let _ = stderr.flush();
    std::process::exit(code);
}

/// Reads the single status byte; `Ok(None)` when the daemon closed the
/// pipe without writing one (it died or dropped its reporter).
fn read_status(pipe: &mut File) -> io::Result<Option<u8>> {
    let mut byte = [0u8; 1];
    loop {
        match pipe.read(&mut byte) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(byte[0])),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
}

/// Exit status and stderr text of the waiting parent for what it read.
fn parent_verdict(prog: &str, status: io::Result<Option<u8>>) -> (i32, String) {
    match status {
        Ok(Some(0)) => (0, String::new()),
        Ok(Some(code)) => {
            let reason = StartupFailure::from_code(code)
                .map(StartupFailure::description)
                .unwrap_or("Unable to start the daemon");
            (
                1,
                format!(
                    "{prog}: error: {reason}. Check /var/log/messages or run without --daemon for more info.\n"
                ),
            )
        }
        Ok(None) => (
            1,
            format!("{prog}: error: unable to determine if daemon is running: the daemon exited during start-up\n"),
        ),
        Err(err) => (
            1,
            format!("{prog}: error: unable to determine if daemon is running: {}\n", os_error_text(&err)),
        ),
    }
}

/// A close-on-exec pipe, so guests and hooks never inherit it.
fn status_pipe() -> io::Result<(File, File)> {
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    Ok((File::from(read_end), File::from(write_end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reporter_and_reader() -> (StartupReporter, File) {
        let (read_end, write_end) = status_pipe().expect("pipe");
        (
            StartupReporter {
                pipe: Some(write_end),
            },
            read_end,
        )
    }

    #[test]
    fn ok_report_makes_parent_exit_zero_silently() {
        let (reporter, mut reader) = reporter_and_reader();
        assert!(reporter.is_detached());
        reporter.report_ok();
        let status = read_status(&mut reader);
        assert_eq!(parent_verdict("libvirtd", status), (0, String::new()));
    }

    #[test]
    fn failure_report_names_the_cause() {
        let (reporter, mut reader) = reporter_and_reader();
        reporter.report_error(StartupFailure::PidFile);
        let status = read_status(&mut reader);
        assert_eq!(
            parent_verdict("/usr/sbin/libvirtd", status),
            (
                1,
                "/usr/sbin/libvirtd: error: Unable to obtain pidfile. Check /var/log/messages or run \
                 without --daemon for more info.\n"
                    .to_string()
            )
        );
    }

    #[test]
    fn dropped_reporter_is_reported_as_unknown_state() {
        let (reporter, mut reader) = reporter_and_reader();
        drop(reporter);
        let status = read_status(&mut reader).expect("read");
        assert_eq!(status, None);
        let (code, text) = parent_verdict("libvirtd", Ok(status));
        assert_eq!(code, 1);
        assert!(text.starts_with("libvirtd: error: unable to determine if daemon is running: "));
    }

    #[test]
    fn failure_codes_round_trip_and_match_libvirt_numbers() {
        assert_eq!(StartupFailure::Network.code(), 6);
        assert_eq!(StartupFailure::Driver.code(), 11);
        for code in 1..=11 {
            let failure = StartupFailure::from_code(code).expect("known code");
            assert_eq!(failure.code(), code);
        }
        assert_eq!(StartupFailure::from_code(0), None);
        assert_eq!(StartupFailure::from_code(12), None);
    }

    #[test]
    fn foreground_reporter_goes_nowhere() {
        let reporter = StartupReporter::foreground();
        assert!(!reporter.is_detached());
        reporter.report_error(StartupFailure::Config);
    }
}
