//! `secret:///system`: the secret driver as the primary driver of a connection
//! (what `virtsecretd` serves). It answers the connection-level getters; the
//! secret calls go through the secondary connection every non-test session gets.

use std::sync::Arc;

use crate::api::{domains, Connection, Driver, DriverResult};
use crate::domain_list::open_system_uri;

pub struct SecretPrimaryDriver;

struct SecretPrimaryConnection;

impl Driver for SecretPrimaryDriver {
    fn scheme(&self) -> &'static str {
        "secret"
    }

    fn open(&self, uri: &str, _read_only: bool) -> DriverResult<Arc<dyn Connection>> {
        open_system_uri(uri, &["/system"], "secret", "secret", domains::SECRET)?;
        Ok(Arc::new(SecretPrimaryConnection))
    }
}

impl Connection for SecretPrimaryConnection {
    fn uri(&self) -> String {
        "secret:///system".to_string()
    }

    fn hv_type(&self) -> String {
        "secret".to_string()
    }
}

// Domain statistics, devices and tuning: none on this connection (no-support answers).
impl crate::api::DomainStatistics for SecretPrimaryConnection {}

impl crate::api::DomainDevices for SecretPrimaryConnection {}

impl crate::api::DomainLiveTuning for SecretPrimaryConnection {}
impl crate::api::DomainMigration for SecretPrimaryConnection {}
impl crate::api::DomainExtraCalls for SecretPrimaryConnection {}

impl crate::api::DomainSnapshots for SecretPrimaryConnection {}

impl crate::api::DomainCheckpoints for SecretPrimaryConnection {}

impl crate::api::DomainBlockJobs for SecretPrimaryConnection {}
