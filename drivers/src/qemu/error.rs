//! Why a qemu driver operation failed, and the libvirt error a client sees for it.

use crate::api::{codes, domains, DriverError};
use crate::fsutil::FsError;

#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// A file the driver keeps (definition, status, link) could not be written or read.
    #[error(transparent)]
    Io(#[from] FsError),
    /// The definition asks for something this driver cannot run.
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    /// QEMU refused to start or died while starting; the text is its own message.
    #[error("internal error: {0}")]
    StartFailed(String),
    /// The monitor answered with an error or went away.
    #[error("internal error: {0}")]
    Monitor(String),
    /// The domain is in a state that does not allow the operation.
    #[error("Requested operation is not valid: {0}")]
    InvalidState(String),
    /// The operation did not complete (e.g. the process would not die).
    #[error("operation failed: {0}")]
    Failed(String),
    /// QEMU did not answer in time (a hung or stopped guest), or the domain's
    /// job stayed busy longer than a caller may wait for it.
    #[error("Timed out during operation: {0}")]
    Timeout(String),
    /// A hook script refused the operation.
    #[error("{0}")]
    Hook(#[from] hooks::HookError),
    /// A client cancelled the job (`virsh domjobabort`).
    #[error("operation aborted: {0}")]
    Aborted(String),
    /// A failure that already carries the libvirt error to report (a perf counter
    /// the host cannot open).
    #[error(transparent)]
    Driver(DriverError),
}

impl QemuError {
    pub fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        QemuError::Io(FsError::new(what, path, source))
    }
}

impl From<QemuError> for DriverError {
    fn from(err: QemuError) -> Self {
        match err {
            QemuError::Io(err) => err.into_driver_error(domains::QEMU),
            QemuError::Unsupported(msg) => {
                DriverError::new(codes::CONFIG_UNSUPPORTED, domains::QEMU, msg)
            }
            QemuError::StartFailed(msg) | QemuError::Monitor(msg) => {
                DriverError::new(codes::INTERNAL_ERROR, domains::QEMU, msg)
            }
            QemuError::InvalidState(msg) => {
                DriverError::new(codes::OPERATION_INVALID, domains::QEMU, msg)
            }
            QemuError::Failed(msg) => DriverError::new(codes::OPERATION_FAILED, domains::QEMU, msg),
            QemuError::Timeout(msg) => {
                DriverError::new(codes::OPERATION_TIMEOUT, domains::QEMU, msg)
            }
            QemuError::Hook(err) => super::hook_calls::hook_error(&err),
            QemuError::Aborted(msg) => {
                DriverError::new(codes::OPERATION_ABORTED, domains::QEMU, msg)
            }
            QemuError::Driver(err) => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_failure_is_internal_error_with_qemu_text() {
        let err = DriverError::from(QemuError::StartFailed("qemu says no".into()));
        assert_eq!((err.code, err.domain), (1, 10));
        assert_eq!(err.message, "internal error: qemu says no");
    }

    #[test]
    fn invalid_state_is_operation_invalid() {
        let err = DriverError::from(QemuError::InvalidState("domain is not running".into()));
        assert_eq!((err.code, err.domain), (55, 10));
        assert_eq!(
            err.message,
            "Requested operation is not valid: domain is not running"
        );
    }
}
