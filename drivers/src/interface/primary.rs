//! `interface:///system`: the host interface driver as the primary driver of a
//! connection (what `virtinterfaced` serves); the interface calls go through
//! the secondary connection every non-test session gets.

use std::sync::Arc;

use crate::api::{domains, Connection, Driver, DriverResult};
use crate::domain_list::open_system_uri;

pub struct InterfacePrimaryDriver;

struct InterfacePrimaryConnection;

impl Driver for InterfacePrimaryDriver {
    fn scheme(&self) -> &'static str {
        "interface"
    }

    fn open(&self, uri: &str, _read_only: bool) -> DriverResult<Arc<dyn Connection>> {
        open_system_uri(
            uri,
            &["/system"],
            "interface",
            "interface",
            domains::INTERFACE,
        )?;
        Ok(Arc::new(InterfacePrimaryConnection))
    }
}

impl Connection for InterfacePrimaryConnection {
    fn uri(&self) -> String {
        "interface:///system".to_string()
    }

    fn hv_type(&self) -> String {
        "interface".to_string()
    }
}

// Domain statistics, devices and tuning: none on this connection (no-support answers).
impl crate::api::DomainStatistics for InterfacePrimaryConnection {}

impl crate::api::DomainDevices for InterfacePrimaryConnection {}

impl crate::api::DomainLiveTuning for InterfacePrimaryConnection {}
impl crate::api::DomainMigration for InterfacePrimaryConnection {}
impl crate::api::DomainExtraCalls for InterfacePrimaryConnection {}

impl crate::api::DomainSnapshots for InterfacePrimaryConnection {}

impl crate::api::DomainCheckpoints for InterfacePrimaryConnection {}

impl crate::api::DomainBlockJobs for InterfacePrimaryConnection {}
