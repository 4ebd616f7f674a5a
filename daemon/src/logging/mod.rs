//! Logging configured the libvirt way (`log_level`, `log_filters`,
//! `log_outputs`, `LIBVIRT_DEBUG`/`LIBVIRT_LOG_*`, `-v`), written in
//! libvirt's line format to stderr, files, syslog or journald, and
//! changeable while the daemon runs.
//!
//! Typical start-up: [`resolve`] the inputs into a [`LogConfig`], then
//! [`install`] it and keep the [`LogHandle`] for SIGHUP and the admin
//! server. Code logs with the ordinary `tracing` macros; see
//! [`category`] for how `log_filters` entries select our targets.

pub mod category;
mod config;
mod format;
pub mod journald;
mod layer;
mod sink;

#[cfg(test)]
mod tests;

use std::io;
use std::path::PathBuf;

use thiserror::Error;
use tracing_subscriber::layer::SubscriberExt;

pub use config::{
    parse_filters, parse_outputs, resolve, Destination, Filter, LogConfig, LogInputs, Output,
    Priority,
};
pub use format::VERSION_BANNER;
pub use journald::journald_available;
pub use layer::{LogHandle, LogLayer};

/// libvirt's error code for invalid arguments (`VIR_ERR_INVALID_ARG`).
const VIR_ERR_INVALID_ARG: i32 = 8;
/// libvirt's error code for failed system calls (`VIR_ERR_SYSTEM_ERROR`).
const VIR_ERR_SYSTEM_ERROR: i32 = 38;

/// Problems with log settings, worded as libvirt words them (clients such
/// as virt-admin print these texts).
#[derive(Debug, Error)]
pub enum LogError {
    #[error("Failed to set logging priority, argument '{0}' is invalid")]
    Level(String),
    #[error("Malformed format for filter '{0}'")]
    MalformedFilter(String),
    #[error("Invalid priority '{priority}' for filter '{filter}'")]
    FilterPriority { priority: String, filter: String },
    #[error("Invalid match string '{0}'")]
    EmptyMatch(String),
    #[error("Malformed format for log output '{0}'")]
    MalformedOutput(String),
    #[error("Invalid log priority '{priority}' for log output '{output}'")]
    OutputPriority { priority: String, output: String },
    #[error("Invalid log destination '{destination}' for log output '{output}'")]
    OutputDestination { destination: String, output: String },
    #[error("Log output '{output}' does not meet the format requirements for destination type '{destination}'")]
    OutputFormat { output: String, destination: String },
    #[error("failed to open {}: {}", path.display(), os_error_text(source))]
    OpenFile { path: PathBuf, source: io::Error },
    #[error("Could not create log directory: {}", os_error_text(.0))]
    LogDirectory(io::Error),
    #[error("journald socket {} is not available, logging to stderr instead", .0.display())]
    JournaldUnavailable(PathBuf),
}

impl LogError {
    /// The libvirt error code a client should receive for this problem.
    pub fn libvirt_code(&self) -> i32 {
        match self {
            LogError::OpenFile { .. }
            | LogError::LogDirectory(_)
            | LogError::JournaldUnavailable(_) => VIR_ERR_SYSTEM_ERROR,
            _ => VIR_ERR_INVALID_ARG,
        }
    }
}

/// The C library's text for an OS error ("No such file or directory"),
/// without Rust's " (os error N)" suffix, as libvirt messages show it.
pub fn os_error_text(err: &io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return err.to_string();
    };
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length; the XSI
    // strerror_r always NUL-terminates on success. (nix's Errno::desc has
    // texts of its own, not the C library's that libvirt shows.)
    let rc = unsafe { libc::strerror_r(code, buffer.as_mut_ptr().cast(), buffer.len()) };
    if rc != 0 {
        return format!("Unknown error {code}");
    }
    let end = buffer
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// Makes `config` the process-wide logging setup and returns its handle.
/// Output problems (a file that cannot be opened, journald missing) are
/// logged right after, through the fallback outputs. Calling it twice
/// keeps the first setup (tracing allows one global subscriber); the
/// second handle then controls nothing visible.
pub fn install(config: LogConfig) -> LogHandle {
    let (layer, handle, problems) = LogLayer::new(config);
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
    for problem in problems {
        match problem {
            LogError::JournaldUnavailable(_) => {
                tracing::warn!(target: "daemon::logging", "{problem}")
            }
            _ => tracing::error!(target: "daemon::logging", "{problem}"),
        }
    }
    handle
}
