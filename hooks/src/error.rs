//! The failure of one hook script, worded as libvirt words it so that log
//! scrapers and admins who know libvirt's messages find the same text.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a script failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookFailure {
    /// Exited with a non-zero status. A script that could not be executed at
    /// all (missing interpreter, no `#!` line) is reported like libvirt
    /// reports it: status 127 when something was not found, 126 otherwise,
    /// with the reason as its stderr.
    ExitStatus(i32),
    /// Killed by this signal.
    Signal(i32),
    /// Still running after the configured timeout; its whole process group
    /// was killed.
    TimedOut(Duration),
    /// The daemon could not talk to or wait for the script (a pipe or poll
    /// error); the script's process group was killed.
    Supervision(String),
}

/// A hook script failed.
///
/// Its text is libvirt's: `Hook script execution failed: internal error:
/// Child process (<environment and command>) unexpected exit status 1:
/// <stderr>`. Callers that report it to a client use libvirt's error code
/// `VIR_ERR_HOOK_SCRIPT_FAILED` (70) in the `VIR_FROM_HOOK` domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Hook script execution failed: internal error: Child process ({command}) {}",
    Outcome(.failure, .stderr)
)]
pub struct HookError {
    script: PathBuf,
    command: String,
    failure: HookFailure,
    stderr: String,
}

impl HookError {
    pub(crate) fn new(
        script: PathBuf,
        command: String,
        failure: HookFailure,
        stderr: String,
    ) -> HookError {
        HookError {
            script,
            command,
            failure,
            stderr,
        }
    }

    /// The script that failed.
    pub fn script(&self) -> &Path {
        &self.script
    }

    /// The environment and command line, shell-quoted, as in the message.
    pub fn command_line(&self) -> &str {
        &self.command
    }

    pub fn failure(&self) -> &HookFailure {
        &self.failure
    }

    /// The exit status, when the script exited (or could not be executed).
    pub fn exit_status(&self) -> Option<i32> {
        match self.failure {
            HookFailure::ExitStatus(status) => Some(status),
            _ => None,
        }
    }

    /// Everything the script wrote to stderr, unchanged.
    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// Whether the script was killed for running past the timeout.
    pub fn timed_out(&self) -> bool {
        matches!(self.failure, HookFailure::TimedOut(_))
    }
}

/// The part of the message after the command: what happened, then the
/// script's stderr when it wrote any.
struct Outcome<'a>(&'a HookFailure, &'a String);

impl fmt::Display for Outcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            HookFailure::ExitStatus(status) => write!(f, "unexpected exit status {status}")?,
            HookFailure::Signal(signal) => write!(f, "unexpected fatal signal {signal}")?,
            HookFailure::TimedOut(limit) => write!(
                f,
                "timed out after {} and was killed with its process group",
                seconds(*limit)
            )?,
            HookFailure::Supervision(reason) => {
                write!(f, "could not be supervised ({reason}) and was killed")?
            }
        }
        if !self.1.is_empty() {
            write!(f, ": {}", self.1)?;
        }
        Ok(())
    }
}

/// "1 second", "5 seconds", "0.5 seconds".
fn seconds(limit: Duration) -> String {
    let secs = limit.as_secs_f64();
    if secs == 1.0 {
        "1 second".to_string()
    } else {
        format!("{secs} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(failure: HookFailure, stderr: &str) -> HookError {
        HookError::new(
            "/etc/libvirt/hooks/qemu".into(),
            "LC_ALL=C PATH=/bin /etc/libvirt/hooks/qemu vm prepare begin -".into(),
            failure,
            stderr.into(),
        )
    }

    #[test]
    fn exit_status_message_matches_libvirt() {
        let e = error(
            HookFailure::ExitStatus(1),
            "Could not find required XYZZY\n",
        );
        assert_eq!(
            e.to_string(),
            "Hook script execution failed: internal error: Child process \
             (LC_ALL=C PATH=/bin /etc/libvirt/hooks/qemu vm prepare begin -) \
             unexpected exit status 1: Could not find required XYZZY\n"
        );
        assert_eq!(e.exit_status(), Some(1));
        assert!(!e.timed_out());
        assert_eq!(e.stderr(), "Could not find required XYZZY\n");
        assert_eq!(e.script(), Path::new("/etc/libvirt/hooks/qemu"));
    }

    #[test]
    fn no_stderr_means_no_colon() {
        let e = error(HookFailure::Signal(9), "");
        assert!(
            e.to_string()
                .ends_with("begin -) unexpected fatal signal 9"),
            "{e}"
        );
        assert_eq!(e.exit_status(), None);
    }

    #[test]
    fn timeout_says_so() {
        let e = error(HookFailure::TimedOut(Duration::from_secs(5)), "");
        assert!(e.timed_out());
        assert!(
            e.to_string()
                .ends_with("timed out after 5 seconds and was killed with its process group"),
            "{e}"
        );
        let short = error(HookFailure::TimedOut(Duration::from_millis(1500)), "late\n");
        assert!(
            short
                .to_string()
                .ends_with("after 1.5 seconds and was killed with its process group: late\n"),
            "{short}"
        );
        let one = error(HookFailure::TimedOut(Duration::from_secs(1)), "");
        assert!(one.to_string().contains("after 1 second and"), "{one}");
    }
}
