//! Why start-up stopped: one error per step, each with libvirtd's exit status and,
//! once detached with `-d`, the failure the waiting parent reports.

use tracing::error;

use crate::config::ConfigError;
use crate::daemonize::{StartupFailure, StartupReporter};
use crate::logging::{self, LogInputs};
use crate::pidfile::PidFileError;

/// A failed start-up step. The texts are the ones libvirtd logs.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A bad command line; the status is the option parser's.
    #[error("{message}")]
    Usage { code: i32, message: String },
    #[error("Can't load config file: {0}")]
    Config(ConfigError),
    /// `access_drivers` names a driver this daemon does not implement.
    #[error("Can't initialize access manager: {0}")]
    AccessDrivers(String),
    /// A driver's own configuration asks for what this daemon does not do.
    #[error("Driver state initialization failed: {0}")]
    DriverConfig(String),
    #[error("Failed to fork as daemon: {0}")]
    Fork(std::io::Error),
    #[error("Unable to start the event loop: {0}")]
    EventLoop(std::io::Error),
    #[error("Unable to set up signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("{0}")]
    PidFile(PidFileError),
    /// An authentication method this daemon cannot provide.
    #[error("{0}")]
    Auth(String),
    #[error("the daemon start hook script failed")]
    StartHook,
    /// A socket that could not be created or claimed.
    #[error("{0}")]
    Listeners(String),
    /// The running daemon stopped on an error.
    #[error("{0}")]
    Run(std::io::Error),
}

impl StartupError {
    /// What a `-d` parent is told (none for failures before or after detaching).
    pub fn failure(&self) -> Option<StartupFailure> {
        match self {
            StartupError::EventLoop(_) => Some(StartupFailure::Init),
            StartupError::Signals(_) => Some(StartupFailure::Signal),
            StartupError::PidFile(_) => Some(StartupFailure::PidFile),
            StartupError::Auth(_) | StartupError::Listeners(_) => Some(StartupFailure::Network),
            StartupError::StartHook => Some(StartupFailure::Hooks),
            StartupError::Usage { .. }
            | StartupError::Config(_)
            | StartupError::AccessDrivers(_)
            | StartupError::DriverConfig(_)
            | StartupError::Fork(_)
            | StartupError::Run(_) => None,
        }
    }

    /// The daemon's exit status, as libvirtd's.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartupError::Usage { code, .. } => *code,
            StartupError::Config(e) => e.exit_status(),
            other => other.failure().map_or(1, |f| i32::from(f.code())),
        }
    }

    /// Logs the error, tells a waiting `-d` parent, and gives the exit status.
    pub fn report(self, reporter: Option<StartupReporter>) -> i32 {
        error!(target: "daemon::startup", "{self}");
        if let (Some(reporter), Some(failure)) = (reporter, self.failure()) {
            reporter.report_error(failure);
        }
        self.exit_code()
    }

    /// [`StartupError::report`] for errors found before the configured logging is
    /// known: they go to the default output.
    pub fn report_with_default_logging(self) -> i32 {
        let _log = logging::install(logging::resolve(&LogInputs::default()).0);
        self.report(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::EAGAIN)
    }

    #[test]
    fn exit_statuses_are_libvirtds() {
        let pid = PidFileError::Lock {
            path: "/run/libvirtd.pid".into(),
            source: io(),
        };
        let cases = [
            (
                StartupError::Usage {
                    code: 2,
                    message: "bad".into(),
                },
                2,
            ),
            (StartupError::Fork(io()), 1),
            (StartupError::AccessDrivers("polkit".into()), 1),
            (StartupError::EventLoop(io()), 3),
            (StartupError::Signals(io()), 4),
            (StartupError::PidFile(pid), 1),
            (StartupError::Auth("sasl".into()), 6),
            (StartupError::StartHook, 8),
            (StartupError::Listeners("bind".into()), 6),
            (StartupError::Run(io()), 1),
        ];
        for (error, status) in cases {
            assert_eq!(error.exit_code(), status, "{error:?}");
        }
    }

    #[test]
    fn messages_are_libvirtds() {
        assert_eq!(
            StartupError::StartHook.to_string(),
            "the daemon start hook script failed"
        );
        assert!(StartupError::Fork(io())
            .to_string()
            .starts_with("Failed to fork as daemon: "));
        assert!(StartupError::Signals(io())
            .to_string()
            .starts_with("Unable to set up signal handlers: "));
        assert_eq!(StartupError::Run(io()).failure(), None);
    }
}
