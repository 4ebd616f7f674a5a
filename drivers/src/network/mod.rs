//! The network driver (libvirt's `virtnetworkd`): virtual networks defined from network
//! XML, kept in `<confdir>/qemu/networks` with autostart links, their status in
//! `<rundir>/network`; a running network is a bridge with its addresses, a dnsmasq and
//! firewall rules, all of which outlive the daemon and are re-attached after a restart.

mod addr;
mod connection;
mod dnsmasq;
mod firewall;
mod host;
mod lifecycle;
mod network_hooks;
mod nftables;
mod objects;
mod port_params;
mod ports;
mod primary;
mod update;
mod xml;
mod xml_layout;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::api::{
    network_event, DriverResult, NetworkConnection, NetworkDriver, NetworkEvent, NetworkEventSink,
    NetworkHandle, Uuid,
};

pub use firewall::Backend as FirewallBackend;
use objects::NetObj;
pub use primary::NetworkPrimaryDriver;
pub use xml::NetworkDef;

/// Where the driver keeps its files (libvirt's layout below the daemon's directories).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPaths {
    /// `<confdir>/qemu/networks/NAME.xml`.
    pub config_dir: PathBuf,
    /// `<confdir>/qemu/networks/autostart/NAME.xml` links.
    pub autostart_dir: PathBuf,
    /// `<confdir>/network.conf`.
    pub network_conf: PathBuf,
    /// `<rundir>/network`: status files and dnsmasq pid files.
    pub run_dir: PathBuf,
    /// `<statedir>/dnsmasq`: dnsmasq configuration, hosts and lease files.
    pub dnsmasq_dir: PathBuf,
}

impl NetworkPaths {
    /// Paths below the daemon's configuration, runtime and state directories
    /// (`/etc/libvirt`, `/run/libvirt`, `/var/lib/libvirt` for root).
    pub fn new(config_dir: &Path, run_dir: &Path, state_dir: &Path) -> Self {
        let networks = config_dir.join("qemu").join("networks");
        NetworkPaths {
            autostart_dir: networks.join("autostart"),
            config_dir: networks,
            network_conf: config_dir.join("network.conf"),
            run_dir: run_dir.join("network"),
            dnsmasq_dir: state_dir.join("dnsmasq"),
        }
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.config_dir.join(format!("{name}.xml"))
    }

    pub fn autostart_link(&self, name: &str) -> PathBuf {
        self.autostart_dir.join(format!("{name}.xml"))
    }

    pub fn status_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.xml"))
    }
}

/// Debian 12's `default` network (libvirt-daemon-config-network), defined on a fresh
/// root: NAT on `virbr0`, 192.168.122.0/24, inactive and not autostarted.
pub const DEFAULT_NETWORK_XML: &str = "<network>\n  <name>default</name>\n  <bridge name='virbr0'/>\n  <forward/>\n  <ip address='192.168.122.1' netmask='255.255.255.0'>\n    <dhcp>\n      <range start='192.168.122.2' end='192.168.122.254'/>\n    </dhcp>\n  </ip>\n</network>\n";

pub(crate) struct Inner {
    nets: Vec<NetObj>,
    backend: FirewallBackend,
}

/// The driver state every connection shares.
pub struct Networks {
    paths: NetworkPaths,
    inner: Mutex<Inner>,
    sink: NetworkEventSink,
    hooks: Option<hooks::Hooks>,
}

impl Networks {
    /// Loads definitions and status files, re-attaches running networks and starts the
    /// autostarted ones (once per boot). Returns the problems worth logging.
    pub fn new(
        paths: NetworkPaths,
        sink: NetworkEventSink,
        hooks: Option<hooks::Hooks>,
    ) -> (Arc<Networks>, Vec<String>) {
        let mut problems = Vec::new();
        let backend = read_backend(&paths.network_conf, &mut problems);
        let driver = Arc::new(Networks {
            paths,
            inner: Mutex::new(Inner {
                nets: Vec::new(),
                backend,
            }),
            sink,
            hooks,
        });
        problems.extend(driver.install_default_network());
        problems.extend(driver.load());
        problems.extend(driver.autostart());
        (driver, problems)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, net: &NetworkHandle, event: i32) {
        (self.sink)(NetworkEvent {
            network: net.clone(),
            event,
            detail: 0,
        });
    }

    /// A fresh root gets Debian's `default` network, as the package installs it.
    fn install_default_network(&self) -> Vec<String> {
        if self.paths.config_dir.exists() {
            return Vec::new();
        }
        let result = NetworkDef::parse(DEFAULT_NETWORK_XML).and_then(|mut def| {
            def.complete(&[], |_| false);
            objects::save_config(&self.paths, &def)
        });
        match result {
            Ok(()) => Vec::new(),
            Err(e) => vec![format!("cannot install the default network: {e}")],
        }
    }

    /// Starts the networks marked for autostart, once per boot of the host (libvirt's
    /// `autostarted` marker in the run directory).
    fn autostart(&self) -> Vec<String> {
        let marker = self.paths.run_dir.join("autostarted");
        if marker.exists() {
            return Vec::new();
        }
        let _ = crate::fsutil::create_private_dir(&self.paths.run_dir);
        let _ = crate::fsutil::atomic_write(&marker, b"");
        let names: Vec<NetworkHandle> = self
            .lock()
            .nets
            .iter()
            .filter(|n| n.autostart && !n.active)
            .map(NetObj::handle)
            .collect();
        let mut problems = Vec::new();
        for h in names {
            if let Err(e) = self.start(&h) {
                problems.push(format!("failed to autostart network '{}': {e}", h.name));
            }
        }
        problems
    }

    pub fn paths(&self) -> &NetworkPaths {
        &self.paths
    }

    /// Finds a network by uuid (what clients hold), naming it in the error by name.
    fn find<'a>(inner: &'a mut Inner, h: &NetworkHandle) -> DriverResult<&'a mut NetObj> {
        inner
            .nets
            .iter_mut()
            .find(|n| n.def.uuid() == h.uuid)
            .ok_or_else(|| objects::no_network_uuid(&h.uuid, &h.name))
    }

    fn find_by_uuid(inner: &Inner, uuid: &Uuid) -> Option<usize> {
        inner.nets.iter().position(|n| n.def.uuid() == *uuid)
    }
}

/// `firewall_backend` of `network.conf` ("iptables" unless set to "nftables").
fn read_backend(path: &Path, problems: &mut Vec<String>) -> FirewallBackend {
    match crate::virconf::ConfFile::read(path) {
        Ok(conf) => match conf.get_string("firewall_backend") {
            Ok(Some(text)) => FirewallBackend::parse(text).unwrap_or_else(|| {
                problems.push(format!(
                    "unrecognized firewall_backend '{text}' in {}, using iptables",
                    path.display()
                ));
                FirewallBackend::Iptables
            }),
            Ok(None) => FirewallBackend::Iptables,
            Err(e) => {
                problems.push(e.to_string());
                FirewallBackend::Iptables
            }
        },
        Err(e) if e.is_not_found() => FirewallBackend::Iptables,
        Err(e) => {
            problems.push(e.to_string());
            FirewallBackend::Iptables
        }
    }
}

impl Networks {
    /// SIGHUP: `network.conf` and the definitions on disk are read again, and the
    /// firewall rules of the active networks are put back (a firewall reload may have
    /// flushed them).
    pub fn reload(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let backend = read_backend(&self.paths.network_conf, &mut problems);
        let previous = std::mem::replace(&mut self.lock().backend, backend);
        problems.extend(self.load());
        if previous == backend {
            problems.extend(self.reload_firewall());
        }
        problems
    }

    /// Unexpired DHCP leases of `network` (none when it is unknown).
    pub fn leases(&self, network: &str) -> Vec<crate::api::DhcpLease> {
        let handle = {
            let inner = self.lock();
            match inner.nets.iter().find(|n| n.def.name() == network) {
                Some(n) => n.handle(),
                None => return Vec::new(),
            }
        };
        connection::dhcp_leases(self, &handle, None).unwrap_or_default()
    }
}

/// The driver as the registry holds it: opening a connection needs the `Arc`.
pub struct NetworkDriverHandle(pub Arc<Networks>);

impl NetworkDriver for NetworkDriverHandle {
    fn open(&self, _read_only: bool) -> DriverResult<Arc<dyn NetworkConnection>> {
        Ok(Arc::new(connection::NetConn {
            driver: self.0.clone(),
        }))
    }
    fn reload(&self) -> Vec<String> {
        self.0.reload()
    }
    fn port_create(
        &self,
        network: &str,
        owner_name: &str,
        owner_uuid: &Uuid,
        mac: &str,
        bandwidth: &crate::api::PortBandwidth,
    ) -> DriverResult<String> {
        ports::create(&self.0, network, owner_name, owner_uuid, mac, *bandwidth)
    }
    fn port_delete(&self, network: &str, mac: &str) {
        ports::delete(&self.0, network, mac)
    }
    fn port_set_bandwidth(
        &self,
        network: &str,
        mac: &str,
        bandwidth: &crate::api::PortBandwidth,
    ) -> DriverResult<()> {
        port_params::set_by_mac(&self.0, network, mac, *bandwidth)
    }
    fn leases(&self, network: &str) -> Vec<crate::api::DhcpLease> {
        self.0.leases(network)
    }
}

use network_event as ev;
