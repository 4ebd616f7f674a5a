//! `virtnetworkd` seen from `virtqemud`/`virtlxcd`: a guest NIC on a network gets
//! its port through `virNetworkPortCreateXML` (the bridge read back from the
//! port's `<plug>`), loses it through `virNetworkPortDelete`, and `domifaddr
//! --source lease` reads `virNetworkGetDHCPLeases`.

use std::sync::Arc;

use drivers::api::{
    format_uuid, DhcpLease, DriverError, DriverResult, NetworkConnection, NetworkDriver, Uuid,
};
use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
use protocol::remote::{
    NetworkGetDhcpLeasesArgs, NetworkGetDhcpLeasesRet, NetworkListAllPortsArgs,
    NetworkListAllPortsRet, NetworkLookupByNameArgs, NetworkLookupByNameRet,
    NetworkPortCreateXmlArgs, NetworkPortFlagsArgs, NetworkPortGetXmlDescRet, NetworkPortRet,
    NetworkPortSetParametersArgs, NonnullNetwork,
};

use super::{close, PeerSocket};

/// The network driver of the `virtnetworkd` listening on `socket`.
pub struct PeerNetwork {
    socket: PeerSocket,
}

impl PeerNetwork {
    pub fn new(socket: PeerSocket) -> Self {
        PeerNetwork { socket }
    }

    /// Runs `f` on a connection with `network` looked up.
    fn with_network<T>(
        &self,
        network: &str,
        f: impl FnOnce(&mut client::Client, &NonnullNetwork) -> DriverResult<T>,
    ) -> DriverResult<T> {
        let mut client = self.socket.open()?;
        let looked_up: Result<NetworkLookupByNameRet, _> = client.call(
            REMOTE_PROGRAM,
            p::NETWORK_LOOKUP_BY_NAME,
            &NetworkLookupByNameArgs {
                name: network.to_string(),
            },
        );
        let result = match looked_up {
            Ok(ret) => f(&mut client, &ret.net),
            Err(e) => Err(self.socket.error(e)),
        };
        close(client);
        result
    }
}

/// The `bridge` attribute of the port's `<plug>`.
fn plug_bridge(port_xml: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(port_xml).ok()?;
    let plug = doc
        .root_element()
        .children()
        .find(|c| c.has_tag_name("plug"))?;
    plug.attribute("bridge").map(str::to_string)
}

/// The `address` of the port's `<mac>`.
fn port_mac(port_xml: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(port_xml).ok()?;
    let mac = doc
        .root_element()
        .children()
        .find(|c| c.has_tag_name("mac"))?;
    mac.attribute("address").map(str::to_string)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

impl NetworkDriver for PeerNetwork {
    fn open(&self, _read_only: bool) -> DriverResult<Arc<dyn NetworkConnection>> {
        Err(DriverError::no_support("virConnectListAllNetworks"))
    }

    fn port_create(
        &self,
        network: &str,
        owner_name: &str,
        owner_uuid: &Uuid,
        mac: &str,
        bandwidth: &drivers::api::PortBandwidth,
    ) -> DriverResult<String> {
        let xml = format!(
            "<networkport>\n  <owner>\n    <name>{}</name>\n    <uuid>{}</uuid>\n  </owner>\n  \
             <mac address='{}'/>\n{}</networkport>\n",
            escape(owner_name),
            format_uuid(owner_uuid),
            escape(mac),
            bandwidth.xml(2)
        );
        self.with_network(network, |client, net| {
            let created: NetworkPortRet = client
                .call(
                    REMOTE_PROGRAM,
                    p::NETWORK_PORT_CREATE_XML,
                    &NetworkPortCreateXmlArgs {
                        network: net.clone(),
                        xml,
                        flags: 0,
                    },
                )
                .map_err(|e| self.socket.error(e))?;
            let desc: NetworkPortGetXmlDescRet = client
                .call(
                    REMOTE_PROGRAM,
                    p::NETWORK_PORT_GET_XML_DESC,
                    &NetworkPortFlagsArgs {
                        port: created.port,
                        flags: 0,
                    },
                )
                .map_err(|e| self.socket.error(e))?;
            plug_bridge(&desc.xml).ok_or_else(|| {
                DriverError::new(
                    drivers::api::codes::INTERNAL_ERROR,
                    drivers::api::domains::NETWORK,
                    format!("network port on '{network}' has no bridge to plug into"),
                )
            })
        })
    }

    fn port_delete(&self, network: &str, mac: &str) {
        let result = self.with_network(network, |client, net| {
            let ports: NetworkListAllPortsRet = client
                .call(
                    REMOTE_PROGRAM,
                    p::NETWORK_LIST_ALL_PORTS,
                    &NetworkListAllPortsArgs {
                        network: net.clone(),
                        need_results: 1,
                        flags: 0,
                    },
                )
                .map_err(|e| self.socket.error(e))?;
            for port in ports.ports {
                let args = NetworkPortFlagsArgs { port, flags: 0 };
                let desc: NetworkPortGetXmlDescRet = client
                    .call(REMOTE_PROGRAM, p::NETWORK_PORT_GET_XML_DESC, &args)
                    .map_err(|e| self.socket.error(e))?;
                if port_mac(&desc.xml).is_some_and(|m| m.eq_ignore_ascii_case(mac)) {
                    client
                        .call::<_, ()>(REMOTE_PROGRAM, p::NETWORK_PORT_DELETE, &args)
                        .map_err(|e| self.socket.error(e))?;
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            tracing::warn!(
                "deleting the port of {mac} on network {network}: {}",
                e.message
            );
        }
    }

    fn port_set_bandwidth(
        &self,
        network: &str,
        mac: &str,
        bandwidth: &drivers::api::PortBandwidth,
    ) -> DriverResult<()> {
        let params: Vec<protocol::TypedParam> = bandwidth
            .to_params()
            .into_iter()
            .map(|p| match p.value {
                drivers::api::ParamValue::UInt(v) => {
                    protocol::TypedParam::new(p.field.as_str(), protocol::TypedParamValue::UInt(v))
                }
                // to_params gives unsigned values only.
                _ => {
                    protocol::TypedParam::new(p.field.as_str(), protocol::TypedParamValue::UInt(0))
                }
            })
            .collect();
        self.with_network(network, |client, net| {
            let ports: NetworkListAllPortsRet = client
                .call(
                    REMOTE_PROGRAM,
                    p::NETWORK_LIST_ALL_PORTS,
                    &NetworkListAllPortsArgs {
                        network: net.clone(),
                        need_results: 1,
                        flags: 0,
                    },
                )
                .map_err(|e| self.socket.error(e))?;
            for port in ports.ports {
                let args = NetworkPortFlagsArgs { port, flags: 0 };
                let desc: NetworkPortGetXmlDescRet = client
                    .call(REMOTE_PROGRAM, p::NETWORK_PORT_GET_XML_DESC, &args)
                    .map_err(|e| self.socket.error(e))?;
                if port_mac(&desc.xml).is_some_and(|m| m.eq_ignore_ascii_case(mac)) {
                    let set = NetworkPortSetParametersArgs {
                        port: args.port,
                        params: params.clone(),
                        flags: 0,
                    };
                    client
                        .call::<_, ()>(REMOTE_PROGRAM, p::NETWORK_PORT_SET_PARAMETERS, &set)
                        .map_err(|e| self.socket.error(e))?;
                }
            }
            Ok(())
        })
    }

    fn leases(&self, network: &str) -> Vec<DhcpLease> {
        self.with_network(network, |client, net| {
            let ret: NetworkGetDhcpLeasesRet = client
                .call(
                    REMOTE_PROGRAM,
                    p::NETWORK_GET_DHCP_LEASES,
                    &NetworkGetDhcpLeasesArgs {
                        net: net.clone(),
                        mac: None,
                        need_results: 1,
                        flags: 0,
                    },
                )
                .map_err(|e| self.socket.error(e))?;
            Ok(ret
                .leases
                .into_iter()
                .map(|l| DhcpLease {
                    iface: l.iface,
                    expiry_time: l.expirytime,
                    addr_type: l.type_,
                    mac: l.mac,
                    iaid: l.iaid,
                    ipaddr: l.ipaddr,
                    prefix: l.prefix,
                    hostname: l.hostname,
                    clientid: l.clientid,
                })
                .collect())
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bridge_and_mac_of_a_port() {
        let xml = "<networkport><uuid>x</uuid><mac address='52:54:00:00:00:01'/>\
                   <plug type='network' bridge='virbr0'/></networkport>";
        assert_eq!(plug_bridge(xml).as_deref(), Some("virbr0"));
        assert_eq!(port_mac(xml).as_deref(), Some("52:54:00:00:00:01"));
        assert_eq!(escape("a<b'"), "a&lt;b&apos;");
    }
}
