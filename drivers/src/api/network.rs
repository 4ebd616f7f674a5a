//! The network driver API (libvirt's `virtnetworkd`): a secondary driver that a
//! hypervisor connection also reaches, and the primary one of `network:///system`.
//! Every method defaults to libvirt's "not supported" answer naming the public API.

use std::sync::Arc;

use super::{DriverError, DriverResult, Uuid};

/// What a client holds for a network (libvirt's `remote_nonnull_network`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkHandle {
    pub name: String,
    pub uuid: Uuid,
}

/// What a client holds for a network port (`remote_nonnull_network_port`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPortHandle {
    pub network: NetworkHandle,
    pub uuid: Uuid,
}

/// One direction of a port's `<bandwidth>`: kilobytes per second (average,
/// peak, floor) and kilobytes (burst); 0 where not set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BandwidthRate {
    pub average: u32,
    pub peak: u32,
    pub burst: u32,
    pub floor: u32,
}

impl BandwidthRate {
    /// The rate of an `<inbound>`/`<outbound>` element read through `attr`;
    /// values that are no numbers count as unset (the hypervisor driver
    /// refuses them when it applies the NIC's bandwidth).
    pub fn from_attrs<'a>(attr: impl Fn(&str) -> Option<&'a str>) -> BandwidthRate {
        let number = |name: &str| {
            attr(name)
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(0)
        };
        BandwidthRate {
            average: number("average"),
            peak: number("peak"),
            burst: number("burst"),
            floor: number("floor"),
        }
    }
}

/// A network port's `<bandwidth>`, as libvirt keeps it: inbound only with an
/// average or a floor, outbound only with an average.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortBandwidth {
    pub inbound: Option<BandwidthRate>,
    pub outbound: Option<BandwidthRate>,
}

impl PortBandwidth {
    pub fn new(inbound: Option<BandwidthRate>, outbound: Option<BandwidthRate>) -> PortBandwidth {
        PortBandwidth {
            inbound: inbound.filter(|r| r.average > 0 || r.floor > 0),
            outbound: outbound.filter(|r| r.average > 0),
        }
    }

    /// The `<bandwidth>` of a guest NIC (`None`: no element).
    pub fn of_nic(nic: &crate::domain_xml::Element) -> PortBandwidth {
        let Some(bw) = nic.child("bandwidth") else {
            return PortBandwidth::default();
        };
        let rate = |which: &str| {
            bw.child(which)
                .map(|el| BandwidthRate::from_attrs(|name| el.attr(name)))
        };
        PortBandwidth::new(rate("inbound"), rate("outbound"))
    }

    /// The port parameters (`virNetworkPortGetParameters`) in libvirt's order.
    pub fn to_params(&self) -> Vec<super::NamedParam> {
        let mut out = Vec::new();
        let mut add = |field: &str, value: u32| {
            out.push(super::NamedParam::new(
                field,
                super::ParamValue::UInt(value),
            ))
        };
        if let Some(r) = self.inbound {
            add("inbound.average", r.average);
            add("inbound.peak", r.peak);
            add("inbound.floor", r.floor);
            add("inbound.burst", r.burst);
        }
        if let Some(r) = self.outbound {
            add("outbound.average", r.average);
            add("outbound.peak", r.peak);
            add("outbound.burst", r.burst);
        }
        out
    }

    /// The `<bandwidth>` element (empty text when there is nothing to say),
    /// attributes in libvirt's order.
    pub fn xml(&self, indent: usize) -> String {
        if self.inbound.is_none() && self.outbound.is_none() {
            return String::new();
        }
        let pad = " ".repeat(indent);
        let mut out = format!("{pad}<bandwidth>\n");
        for (name, rate) in [("inbound", self.inbound), ("outbound", self.outbound)] {
            let Some(rate) = rate else { continue };
            out.push_str(&format!("{pad}  <{name}"));
            for (attr, value) in [
                ("average", rate.average),
                ("peak", rate.peak),
                ("floor", rate.floor),
                ("burst", rate.burst),
            ] {
                if value > 0 {
                    out.push_str(&format!(" {attr}='{value}'"));
                }
            }
            out.push_str("/>\n");
        }
        out.push_str(&format!("{pad}</bandwidth>\n"));
        out
    }
}

/// One DHCP lease (`virNetworkDHCPLease`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpLease {
    pub iface: String,
    /// Seconds since the epoch when the lease ends (0: never).
    pub expiry_time: i64,
    /// `VIR_IP_ADDR_TYPE_IPV4` (0) or `_IPV6` (1).
    pub addr_type: i32,
    pub mac: Option<String>,
    pub iaid: Option<String>,
    pub ipaddr: String,
    pub prefix: u32,
    pub hostname: Option<String>,
    pub clientid: Option<String>,
}

/// One guest NIC and its addresses (`virDomainInterface`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceAddresses {
    pub name: String,
    pub hwaddr: Option<String>,
    /// `(VIR_IP_ADDR_TYPE_*, address, prefix)`.
    pub addrs: Vec<(i32, String, u32)>,
}

/// `VIR_NETWORK_EVENT_*` lifecycle events.
pub mod network_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const STOPPED: i32 = 3;
}

/// `VIR_CONNECT_LIST_NETWORKS_*` filters.
pub mod network_list_flags {
    pub const INACTIVE: u32 = 1 << 0;
    pub const ACTIVE: u32 = 1 << 1;
    pub const PERSISTENT: u32 = 1 << 2;
    pub const TRANSIENT: u32 = 1 << 3;
    pub const AUTOSTART: u32 = 1 << 4;
    pub const NO_AUTOSTART: u32 = 1 << 5;
}

/// One lifecycle event of one network, pushed by the driver to the daemon's fan-out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkEvent {
    pub network: NetworkHandle,
    pub event: i32,
    pub detail: i32,
}

/// Where the network driver delivers its events.
pub type NetworkEventSink = Arc<dyn Fn(NetworkEvent) + Send + Sync>;

/// One client's view of the network driver.
pub trait NetworkConnection: Send + Sync {
    fn list_all_networks(&self, _flags: u32) -> DriverResult<Vec<NetworkHandle>> {
        Err(DriverError::no_support("virConnectListAllNetworks"))
    }
    /// Names of active (`active`) or inactive networks, at most `max`.
    fn list_network_names(&self, active: bool, _max: usize) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support(if active {
            "virConnectListNetworks"
        } else {
            "virConnectListDefinedNetworks"
        }))
    }
    fn num_of_networks(&self, active: bool) -> DriverResult<i32> {
        Err(DriverError::no_support(if active {
            "virConnectNumOfNetworks"
        } else {
            "virConnectNumOfDefinedNetworks"
        }))
    }
    fn network_lookup_by_name(&self, _name: &str) -> DriverResult<NetworkHandle> {
        Err(DriverError::no_support("virNetworkLookupByName"))
    }
    fn network_lookup_by_uuid(&self, _uuid: &Uuid) -> DriverResult<NetworkHandle> {
        Err(DriverError::no_support("virNetworkLookupByUUID"))
    }
    fn network_define_xml(&self, _xml: &str, _flags: u32) -> DriverResult<NetworkHandle> {
        Err(DriverError::no_support("virNetworkDefineXML"))
    }
    fn network_create_xml(&self, _xml: &str, _flags: u32) -> DriverResult<NetworkHandle> {
        Err(DriverError::no_support("virNetworkCreateXML"))
    }
    fn network_undefine(&self, _net: &NetworkHandle) -> DriverResult<()> {
        Err(DriverError::no_support("virNetworkUndefine"))
    }
    fn network_create(&self, _net: &NetworkHandle) -> DriverResult<()> {
        Err(DriverError::no_support("virNetworkCreate"))
    }
    fn network_destroy(&self, _net: &NetworkHandle) -> DriverResult<()> {
        Err(DriverError::no_support("virNetworkDestroy"))
    }
    fn network_get_xml_desc(&self, _net: &NetworkHandle, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virNetworkGetXMLDesc"))
    }
    fn network_get_autostart(&self, _net: &NetworkHandle) -> DriverResult<bool> {
        Err(DriverError::no_support("virNetworkGetAutostart"))
    }
    fn network_set_autostart(&self, _net: &NetworkHandle, _on: bool) -> DriverResult<()> {
        Err(DriverError::no_support("virNetworkSetAutostart"))
    }
    fn network_get_bridge_name(&self, _net: &NetworkHandle) -> DriverResult<String> {
        Err(DriverError::no_support("virNetworkGetBridgeName"))
    }
    fn network_is_active(&self, _net: &NetworkHandle) -> DriverResult<bool> {
        Err(DriverError::no_support("virNetworkIsActive"))
    }
    fn network_is_persistent(&self, _net: &NetworkHandle) -> DriverResult<bool> {
        Err(DriverError::no_support("virNetworkIsPersistent"))
    }
    /// `virNetworkUpdate`: `command`, `section` and `flags` are libvirt's numbers.
    fn network_update(
        &self,
        _net: &NetworkHandle,
        _command: u32,
        _section: u32,
        _parent_index: i32,
        _xml: &str,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virNetworkUpdate"))
    }
    fn network_dhcp_leases(
        &self,
        _net: &NetworkHandle,
        _mac: Option<&str>,
        _flags: u32,
    ) -> DriverResult<Vec<DhcpLease>> {
        Err(DriverError::no_support("virNetworkGetDHCPLeases"))
    }
    fn network_list_all_ports(
        &self,
        _net: &NetworkHandle,
        _flags: u32,
    ) -> DriverResult<Vec<NetworkPortHandle>> {
        Err(DriverError::no_support("virNetworkListAllPorts"))
    }
    fn network_port_lookup_by_uuid(
        &self,
        _net: &NetworkHandle,
        _uuid: &Uuid,
    ) -> DriverResult<NetworkPortHandle> {
        Err(DriverError::no_support("virNetworkPortLookupByUUID"))
    }
    fn network_port_create_xml(
        &self,
        _net: &NetworkHandle,
        _xml: &str,
        _flags: u32,
    ) -> DriverResult<NetworkPortHandle> {
        Err(DriverError::no_support("virNetworkPortCreateXML"))
    }
    fn network_port_get_xml_desc(
        &self,
        _port: &NetworkPortHandle,
        _flags: u32,
    ) -> DriverResult<String> {
        Err(DriverError::no_support("virNetworkPortGetXMLDesc"))
    }
    fn network_port_delete(&self, _port: &NetworkPortHandle, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virNetworkPortDelete"))
    }
    /// `virNetworkPortGetParameters`: the port's bandwidth as `inbound.*` and
    /// `outbound.*` unsigned values.
    fn network_port_get_parameters(
        &self,
        _port: &NetworkPortHandle,
        _flags: u32,
    ) -> DriverResult<Vec<super::NamedParam>> {
        Err(DriverError::no_support("virNetworkPortGetParameters"))
    }
    /// `virNetworkPortSetParameters`: replaces the port's bandwidth.
    fn network_port_set_parameters(
        &self,
        _port: &NetworkPortHandle,
        _params: &[super::NamedParam],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virNetworkPortSetParameters"))
    }
    /// The client closed its connection.
    fn close(&self) {}
}

/// The network driver shared by every connection.
pub trait NetworkDriver: Send + Sync {
    fn open(&self, read_only: bool) -> DriverResult<Arc<dyn NetworkConnection>>;
    /// SIGHUP: re-read definitions from disk, start newly autostarted networks.
    fn reload(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether running networks should keep the daemon up on an idle timeout.
    fn inhibits_idle(&self) -> bool {
        false
    }
    /// A guest NIC on network `network` is being plugged: the port is created
    /// (hooks run) and the bridge name to attach the tap to is returned.
    fn port_create(
        &self,
        _network: &str,
        _owner_name: &str,
        _owner_uuid: &Uuid,
        _mac: &str,
        _bandwidth: &PortBandwidth,
    ) -> DriverResult<String> {
        Err(DriverError::no_support("virNetworkPortCreateXML"))
    }
    /// `domiftune` changed the bandwidth of the guest NIC `mac` on `network`: its
    /// port records it, as libvirt's hypervisor drivers tell the network driver
    /// through `virNetworkPortSetParameters` (which may refuse a floor).
    fn port_set_bandwidth(
        &self,
        _network: &str,
        _mac: &str,
        _bandwidth: &PortBandwidth,
    ) -> DriverResult<()> {
        Ok(())
    }
    /// The guest NIC with `mac` on `network` went away.
    fn port_delete(&self, _network: &str, _mac: &str) {}
    /// Current DHCP leases of `network` (for `domifaddr --source lease`).
    fn leases(&self, _network: &str) -> Vec<DhcpLease> {
        Vec::new()
    }
}
