//! Virtual network procedures and network events.

use super::limits::NETWORK_LIST_MAX;
use super::objects::NonnullNetwork;
use crate::xdr_struct;

xdr_struct! {
    pub struct NetworkLookupByNameArgs {
        pub name: String,
    }
}

xdr_struct! {
    pub struct NetworkLookupByNameRet {
        pub net: NonnullNetwork,
    }
}

xdr_struct! {
    pub struct NetworkLookupByUuidArgs {
        pub uuid: [u8; 16],
    }
}

xdr_struct! {
    pub struct NetworkLookupByUuidRet {
        pub net: NonnullNetwork,
    }
}

xdr_struct! {
    /// Arguments of calls that take only a network: CREATE, DESTROY,
    /// UNDEFINE, GET_AUTOSTART, GET_BRIDGE_NAME, IS_ACTIVE, IS_PERSISTENT.
    pub struct NetworkRefArgs {
        pub net: NonnullNetwork,
    }
}

xdr_struct! {
    pub struct NetworkDefineXmlArgs {
        pub xml: String,
    }
}

xdr_struct! {
    /// Reply of DEFINE_XML, CREATE_XML and their _FLAGS variants.
    pub struct NetworkRefRet {
        pub net: NonnullNetwork,
    }
}

xdr_struct! {
    pub struct NetworkDefineXmlFlagsArgs {
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NetworkCreateXmlArgs {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct NetworkCreateXmlFlagsArgs {
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NetworkGetXmlDescArgs {
        pub net: NonnullNetwork,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NetworkGetXmlDescRet {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct NetworkGetAutostartRet {
        pub autostart: i32,
    }
}

xdr_struct! {
    pub struct NetworkSetAutostartArgs {
        pub net: NonnullNetwork,
        pub autostart: i32,
    }
}

xdr_struct! {
    pub struct NetworkGetBridgeNameRet {
        pub name: String,
    }
}

xdr_struct! {
    pub struct NetworkIsActiveRet {
        pub active: i32,
    }
}

xdr_struct! {
    pub struct NetworkIsPersistentRet {
        pub persistent: i32,
    }
}

xdr_struct! {
    pub struct ConnectListAllNetworksArgs {
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectListAllNetworksRet {
        pub nets: Vec<NonnullNetwork> [NETWORK_LIST_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct ConnectNetworkEventRegisterAnyArgs {
        pub event_id: i32,
        pub net: Option<NonnullNetwork>,
    }
}

xdr_struct! {
    pub struct ConnectNetworkEventRegisterAnyRet {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct ConnectNetworkEventDeregisterAnyArgs {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct NetworkEventLifecycleMsg {
        pub callback_id: i32,
        pub net: NonnullNetwork,
        pub event: i32,
        pub detail: i32,
    }
}

xdr_struct! {
    /// Reply of CONNECT_NUM_OF_NETWORKS and CONNECT_NUM_OF_DEFINED_NETWORKS.
    pub struct ConnectNumOfNetworksRet {
        pub num: i32,
    }
}

xdr_struct! {
    /// Arguments of CONNECT_LIST_NETWORKS and CONNECT_LIST_DEFINED_NETWORKS.
    pub struct ConnectListNetworksArgs {
        pub maxnames: i32,
    }
}

xdr_struct! {
    pub struct ConnectListNetworksRet {
        pub names: Vec<String> [NETWORK_LIST_MAX],
    }
}

xdr_struct! {
    pub struct NetworkUpdateArgs {
        pub net: NonnullNetwork,
        pub command: u32,
        pub section: u32,
        pub parent_index: i32,
        pub xml: String,
        pub flags: u32,
    }
}

/// `REMOTE_NETWORK_DHCP_LEASES_MAX`.
pub const NETWORK_DHCP_LEASES_MAX: usize = 65_536;

xdr_struct! {
    pub struct NetworkGetDhcpLeasesArgs {
        pub net: NonnullNetwork,
        pub mac: Option<String>,
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NetworkDhcpLease {
        pub iface: String,
        pub expirytime: i64,
        pub type_: i32,
        pub mac: Option<String>,
        pub iaid: Option<String>,
        pub ipaddr: String,
        pub prefix: u32,
        pub hostname: Option<String>,
        pub clientid: Option<String>,
    }
}

xdr_struct! {
    pub struct NetworkGetDhcpLeasesRet {
        pub leases: Vec<NetworkDhcpLease> [NETWORK_DHCP_LEASES_MAX],
        pub ret: u32,
    }
}

/// `REMOTE_DOMAIN_INTERFACE_MAX` and `REMOTE_DOMAIN_IP_ADDR_MAX`.
pub const DOMAIN_INTERFACE_MAX: usize = 2_048;
pub const DOMAIN_IP_ADDR_MAX: usize = 2_048;

xdr_struct! {
    /// DOMAIN_INTERFACE_ADDRESSES (here because its lease source asks the network driver).
    pub struct DomainInterfaceAddressesArgs {
        pub dom: super::NonnullDomain,
        pub source: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainIpAddr {
        pub type_: i32,
        pub addr: String,
        pub prefix: u32,
    }
}

xdr_struct! {
    pub struct DomainInterface {
        pub name: String,
        pub hwaddr: Option<String>,
        pub addrs: Vec<DomainIpAddr> [DOMAIN_IP_ADDR_MAX],
    }
}

xdr_struct! {
    pub struct DomainInterfaceAddressesRet {
        pub ifaces: Vec<DomainInterface> [DOMAIN_INTERFACE_MAX],
    }
}

/// `REMOTE_NETWORK_PORT_LIST_MAX`.
pub const NETWORK_PORT_LIST_MAX: usize = 16_384;

xdr_struct! {
    /// `remote_nonnull_network_port`.
    pub struct NonnullNetworkPort {
        pub net: NonnullNetwork,
        pub uuid: [u8; 16],
    }
}

xdr_struct! {
    pub struct NetworkListAllPortsArgs {
        pub network: NonnullNetwork,
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NetworkListAllPortsRet {
        pub ports: Vec<NonnullNetworkPort> [NETWORK_PORT_LIST_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct NetworkPortLookupByUuidArgs {
        pub network: NonnullNetwork,
        pub uuid: [u8; 16],
    }
}

xdr_struct! {
    /// Reply of PORT_LOOKUP_BY_UUID and PORT_CREATE_XML.
    pub struct NetworkPortRet {
        pub port: NonnullNetworkPort,
    }
}

xdr_struct! {
    pub struct NetworkPortCreateXmlArgs {
        pub network: NonnullNetwork,
        pub xml: String,
        pub flags: u32,
    }
}

/// `REMOTE_NETWORK_PORT_PARAMETERS_MAX`.
pub const NETWORK_PORT_PARAMETERS_MAX: usize = 16;

xdr_struct! {
    pub struct NetworkPortSetParametersArgs {
        pub port: NonnullNetworkPort,
        pub params: Vec<crate::typed_param::TypedParam> [NETWORK_PORT_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NetworkPortGetParametersArgs {
        pub port: NonnullNetworkPort,
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Every parameter of the port (the library allocates the array).
    pub struct NetworkPortGetParametersRet {
        pub params: Vec<crate::typed_param::TypedParam> [NETWORK_PORT_PARAMETERS_MAX],
        pub nparams: i32,
    }
}

xdr_struct! {
    /// Arguments of PORT_GET_XML_DESC and PORT_DELETE.
    pub struct NetworkPortFlagsArgs {
        pub port: NonnullNetworkPort,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NetworkPortGetXmlDescRet {
        pub xml: String,
    }
}
