//! Choosing a driver from the URI a client opens.

use std::sync::Arc;

use super::{
    Driver, InterfaceDriver, NetworkDriver, NodeDeviceDriver, SecretDriver, StorageDriver,
};

/// The set of drivers a daemon runs; picks one by URI scheme ("test:///default" -> test driver).
#[derive(Default)]
pub struct DriverRegistry {
    drivers: Vec<Arc<dyn Driver>>,
    /// The secondary network driver hypervisor connections also reach.
    network: Option<Arc<dyn NetworkDriver>>,
    /// The storage driver, served beside the hypervisor driver of a connection.
    storage: Option<Arc<dyn StorageDriver>>,
    /// The secret driver, served beside the hypervisor driver of a connection.
    secret: Option<Arc<dyn SecretDriver>>,
    /// The node device driver, served beside the hypervisor driver of a connection.
    nodedev: Option<Arc<dyn NodeDeviceDriver>>,
    /// The host interface driver, served beside the hypervisor driver of a connection.
    interface: Option<Arc<dyn InterfaceDriver>>,
}

impl DriverRegistry {
    pub fn new() -> Self {
        DriverRegistry::default()
    }

    /// Adds a driver; the first one registered also serves clients that send an empty URI.
    pub fn register(&mut self, driver: Arc<dyn Driver>) {
        self.drivers.push(driver);
    }

    /// Sets the secondary network driver.
    pub fn set_network_driver(&mut self, driver: Arc<dyn NetworkDriver>) {
        self.network = Some(driver);
    }

    /// The secondary network driver, when this daemon runs one.
    pub fn network_driver(&self) -> Option<Arc<dyn NetworkDriver>> {
        self.network.clone()
    }

    /// Sets the storage driver (secondary on hypervisor connections).
    pub fn set_storage_driver(&mut self, driver: Arc<dyn StorageDriver>) {
        self.storage = Some(driver);
    }

    pub fn storage_driver(&self) -> Option<Arc<dyn StorageDriver>> {
        self.storage.clone()
    }

    /// Sets the secret driver (secondary on hypervisor connections).
    pub fn set_secret_driver(&mut self, driver: Arc<dyn SecretDriver>) {
        self.secret = Some(driver);
    }

    pub fn secret_driver(&self) -> Option<Arc<dyn SecretDriver>> {
        self.secret.clone()
    }

    /// Sets the node device driver (secondary on hypervisor connections).
    pub fn set_nodedev_driver(&mut self, driver: Arc<dyn NodeDeviceDriver>) {
        self.nodedev = Some(driver);
    }

    pub fn nodedev_driver(&self) -> Option<Arc<dyn NodeDeviceDriver>> {
        self.nodedev.clone()
    }

    /// Sets the host interface driver (secondary on hypervisor connections).
    pub fn set_interface_driver(&mut self, driver: Arc<dyn InterfaceDriver>) {
        self.interface = Some(driver);
    }

    pub fn interface_driver(&self) -> Option<Arc<dyn InterfaceDriver>> {
        self.interface.clone()
    }

    /// The driver whose scheme is the URI's scheme. A transport suffix ("test+unix") is
    /// ignored: clients strip it before talking to a daemon, but tolerate it anyway.
    pub fn for_uri(&self, uri: &str) -> Option<Arc<dyn Driver>> {
        let scheme = uri.split_once(':')?.0;
        let scheme = scheme.split('+').next().unwrap_or(scheme);
        self.drivers
            .iter()
            .find(|d| d.scheme().eq_ignore_ascii_case(scheme))
            .cloned()
    }

    /// The driver for a client that sent no URI: the first registered.
    pub fn default_driver(&self) -> Option<Arc<dyn Driver>> {
        self.drivers.first().cloned()
    }

    /// Whether any driver keeps the daemon from exiting on the idle timeout.
    pub fn inhibits_idle(&self) -> bool {
        self.drivers.iter().any(|d| d.inhibits_idle())
            || self.network.as_ref().is_some_and(|n| n.inhibits_idle())
    }

    /// Asks every driver to re-read its on-disk state (SIGHUP); returns the problems.
    pub fn reload_all(&self) -> Vec<String> {
        let mut problems: Vec<String> = self.drivers.iter().flat_map(|d| d.reload()).collect();
        if let Some(network) = &self.network {
            problems.extend(network.reload());
        }
        if let Some(storage) = &self.storage {
            problems.extend(storage.reload());
        }
        if let Some(secret) = &self.secret {
            problems.extend(secret.reload());
        }
        problems
    }

    /// The daemon is stopping: running jobs that can roll back do so.
    pub fn abort_jobs_all(&self) {
        self.drivers.iter().for_each(|d| d.abort_jobs());
    }

    /// Whether some driver runs a job of its own.
    pub fn jobs_running_any(&self) -> bool {
        self.drivers.iter().any(|d| d.jobs_running())
    }

    /// The daemon exits now: what running jobs would leave untracked is undone.
    pub fn abandon_jobs_all(&self) -> Vec<String> {
        self.drivers.iter().flat_map(|d| d.abandon_jobs()).collect()
    }

    /// The host is going down: every driver handles its guests, one after the other.
    pub fn host_shutdown_all(&self) -> Vec<String> {
        self.drivers
            .iter()
            .flat_map(|d| d.host_shutdown())
            .collect()
    }

    /// Whether some driver handles guests at host shutdown itself.
    pub fn handles_host_shutdown(&self) -> bool {
        self.drivers.iter().any(|d| d.handles_host_shutdown())
    }

    /// Schemes served, in registration order.
    pub fn schemes(&self) -> Vec<&'static str> {
        self.drivers.iter().map(|d| d.scheme()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Connection, DriverError, DriverResult};

    struct Fake(&'static str);
    impl Driver for Fake {
        fn scheme(&self) -> &'static str {
            self.0
        }
        fn open(&self, _uri: &str, _ro: bool) -> DriverResult<Arc<dyn Connection>> {
            Err(DriverError::internal("fake"))
        }
    }

    #[test]
    fn picks_driver_by_scheme() {
        let mut reg = DriverRegistry::new();
        reg.register(Arc::new(Fake("qemu")));
        reg.register(Arc::new(Fake("test")));
        assert_eq!(
            reg.for_uri("test:///default").map(|d| d.scheme()),
            Some("test")
        );
        assert_eq!(
            reg.for_uri("qemu:///system").map(|d| d.scheme()),
            Some("qemu")
        );
        assert_eq!(
            reg.for_uri("test+unix:///default").map(|d| d.scheme()),
            Some("test")
        );
        assert!(reg.for_uri("lxc:///").is_none());
        assert!(reg.for_uri("").is_none());
        assert_eq!(reg.default_driver().map(|d| d.scheme()), Some("qemu"));
        assert_eq!(reg.schemes(), vec!["qemu", "test"]);
    }

    struct Busy;
    impl Driver for Busy {
        fn scheme(&self) -> &'static str {
            "busy"
        }
        fn open(&self, _uri: &str, _ro: bool) -> DriverResult<Arc<dyn Connection>> {
            Err(DriverError::internal("busy"))
        }
        fn inhibits_idle(&self) -> bool {
            true
        }
    }

    #[test]
    fn any_busy_driver_inhibits_idle() {
        let mut reg = DriverRegistry::new();
        assert!(!reg.inhibits_idle());
        reg.register(Arc::new(Fake("qemu")));
        assert!(!reg.inhibits_idle(), "drivers default to not inhibiting");
        reg.register(Arc::new(Busy));
        assert!(reg.inhibits_idle());
    }

    struct Saver;
    impl Driver for Saver {
        fn scheme(&self) -> &'static str {
            "saver"
        }
        fn open(&self, _uri: &str, _ro: bool) -> DriverResult<Arc<dyn Connection>> {
            Err(DriverError::internal("saver"))
        }
        fn host_shutdown(&self) -> Vec<String> {
            vec!["saved guest 'a'".to_string()]
        }
        fn handles_host_shutdown(&self) -> bool {
            true
        }
    }

    #[test]
    fn host_shutdown_reaches_every_driver() {
        let mut reg = DriverRegistry::new();
        reg.register(Arc::new(Fake("qemu")));
        assert!(!reg.handles_host_shutdown());
        assert!(reg.host_shutdown_all().is_empty());
        reg.register(Arc::new(Saver));
        reg.register(Arc::new(Saver));
        assert!(reg.handles_host_shutdown());
        assert_eq!(reg.host_shutdown_all().len(), 2);
    }

    #[test]
    fn empty_registry_has_no_default() {
        assert!(DriverRegistry::new().default_driver().is_none());
    }
}
