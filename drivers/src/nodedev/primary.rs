//! `nodedev:///system`: the node device driver as the primary driver of a
//! connection (what `virtnodedevd` serves); the device calls go through the
//! secondary connection every non-test session gets.

use std::sync::Arc;

use crate::api::{domains, Connection, Driver, DriverResult};
use crate::domain_list::open_system_uri;

pub struct NodeDevPrimaryDriver;

struct NodeDevPrimaryConnection;

impl Driver for NodeDevPrimaryDriver {
    fn scheme(&self) -> &'static str {
        "nodedev"
    }

    fn open(&self, uri: &str, _read_only: bool) -> DriverResult<Arc<dyn Connection>> {
        open_system_uri(uri, &["/system"], "nodedev", "nodedev", domains::NODEDEV)?;
        Ok(Arc::new(NodeDevPrimaryConnection))
    }
}

impl Connection for NodeDevPrimaryConnection {
    fn uri(&self) -> String {
        "nodedev:///system".to_string()
    }

    fn hv_type(&self) -> String {
        "nodedev".to_string()
    }
}

// Domain statistics, devices and tuning: none on this connection (no-support answers).
impl crate::api::DomainStatistics for NodeDevPrimaryConnection {}

impl crate::api::DomainDevices for NodeDevPrimaryConnection {}

impl crate::api::DomainLiveTuning for NodeDevPrimaryConnection {}
impl crate::api::DomainMigration for NodeDevPrimaryConnection {}
impl crate::api::DomainExtraCalls for NodeDevPrimaryConnection {}

impl crate::api::DomainSnapshots for NodeDevPrimaryConnection {}

impl crate::api::DomainCheckpoints for NodeDevPrimaryConnection {}

impl crate::api::DomainBlockJobs for NodeDevPrimaryConnection {}
