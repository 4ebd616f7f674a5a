//! `network:///system`: the network driver as the primary driver of a connection
//! (what `virtnetworkd` serves). It answers the connection-level getters as libvirt's
//! network driver does (type "network", no hostname or version) and nothing else; the
//! network calls go through the secondary connection every non-test session gets.

use std::sync::Arc;

use crate::api::{domains, Connection, Driver, DriverResult};
use crate::domain_list::open_system_uri;

pub struct NetworkPrimaryDriver;

struct NetworkPrimaryConnection;

impl Driver for NetworkPrimaryDriver {
    fn scheme(&self) -> &'static str {
        "network"
    }

    fn open(&self, uri: &str, _read_only: bool) -> DriverResult<Arc<dyn Connection>> {
        open_system_uri(uri, &["/system"], "network", "network", domains::NETWORK)?;
        Ok(Arc::new(NetworkPrimaryConnection))
    }
}

impl Connection for NetworkPrimaryConnection {
    fn uri(&self) -> String {
        "network:///system".to_string()
    }

    fn hv_type(&self) -> String {
        "network".to_string()
    }
}

// Domain calls: libvirt's "not supported" from the traits' defaults.
impl crate::api::DomainStatistics for NetworkPrimaryConnection {}

impl crate::api::DomainDevices for NetworkPrimaryConnection {}

impl crate::api::DomainLiveTuning for NetworkPrimaryConnection {}

impl crate::api::DomainMigration for NetworkPrimaryConnection {}
impl crate::api::DomainExtraCalls for NetworkPrimaryConnection {}
impl crate::api::DomainSnapshots for NetworkPrimaryConnection {}

impl crate::api::DomainCheckpoints for NetworkPrimaryConnection {}

impl crate::api::DomainBlockJobs for NetworkPrimaryConnection {}
