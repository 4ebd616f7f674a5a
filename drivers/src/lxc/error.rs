//! Errors of the lxc driver and how a client sees them.

use std::path::Path;

use crate::api::{codes, domains, DriverError};
use crate::domain_xml::DomainXmlError;
use crate::fsutil::FsError;

#[derive(Debug, thiserror::Error)]
pub enum LxcError {
    #[error(transparent)]
    Io(#[from] FsError),
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Xml(#[from] DomainXmlError),
}

impl LxcError {
    pub fn io(what: &'static str, path: &Path, source: std::io::Error) -> Self {
        LxcError::Io(FsError::new(what, path, source))
    }
}

impl From<LxcError> for DriverError {
    fn from(err: LxcError) -> DriverError {
        match err {
            LxcError::Io(err) => err.into_driver_error(domains::LXC),
            LxcError::Failed(msg) => DriverError::new(codes::OPERATION_FAILED, domains::LXC, msg),
            LxcError::Unsupported(msg) => {
                DriverError::new(codes::CONFIG_UNSUPPORTED, domains::LXC, msg)
            }
            LxcError::Xml(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_to_lxc_errors() {
        let err: DriverError = LxcError::Failed("container died".into()).into();
        assert_eq!(
            (err.code, err.domain),
            (codes::OPERATION_FAILED, domains::LXC)
        );
        assert_eq!(err.message, "operation failed: container died");
        let err: DriverError = LxcError::Unsupported("no init".into()).into();
        assert_eq!(err.message, "unsupported configuration: no init");
    }
}
