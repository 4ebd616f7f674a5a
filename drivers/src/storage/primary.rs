//! `storage:///system`: the storage driver as a connection's primary driver, as
//! clients of virtstoraged open it. Connection-level getters answer like
//! virtstoraged; domain calls are not supported.

use std::sync::Arc;

use crate::api::{codes, domains, Connection, Driver, DriverError, DriverResult};

/// The pool and volume calls of such a connection go to the storage driver
/// the registry holds (the daemon opens it as on any connection).
pub struct StoragePrimary;

impl StoragePrimary {
    pub fn new() -> Self {
        StoragePrimary
    }
}

impl Default for StoragePrimary {
    fn default() -> Self {
        Self::new()
    }
}

struct StorageOnly {
    uri: String,
}

impl Driver for StoragePrimary {
    fn scheme(&self) -> &'static str {
        "storage"
    }

    fn open(&self, uri: &str, _read_only: bool) -> DriverResult<Arc<dyn Connection>> {
        let path = uri.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        let path = path.split_once('/').map(|(_, p)| p).unwrap_or("");
        let path = path.split('?').next().unwrap_or("");
        let privileged = nix::unistd::geteuid().is_root();
        let expected = if privileged { "system" } else { "session" };
        if path != expected {
            return Err(DriverError::new(
                codes::INTERNAL_ERROR,
                domains::NONE,
                format!("unexpected storage URI path '/{path}', try storage:///{expected}"),
            )
            .in_domain(super::errors::FROM_STORAGE));
        }
        Ok(Arc::new(StorageOnly {
            uri: format!("storage:///{expected}"),
        }))
    }
}

impl Connection for StorageOnly {
    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn hv_type(&self) -> String {
        "storage".to_string()
    }
}

// Domain statistics, devices and tuning: none on this connection (no-support answers).
impl crate::api::DomainStatistics for StorageOnly {}

impl crate::api::DomainDevices for StorageOnly {}

impl crate::api::DomainLiveTuning for StorageOnly {}
impl crate::api::DomainMigration for StorageOnly {}
impl crate::api::DomainExtraCalls for StorageOnly {}

impl crate::api::DomainSnapshots for StorageOnly {}

impl crate::api::DomainCheckpoints for StorageOnly {}

impl crate::api::DomainBlockJobs for StorageOnly {}
