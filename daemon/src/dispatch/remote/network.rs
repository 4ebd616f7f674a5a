//! Virtual network procedures, served by the session's secondary network connection.
//! Calls that touch the host (start, destroy, define, update) run on workers.

use std::sync::Arc;

use drivers::api::{NetworkConnection, NetworkHandle};
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::*;
use protocol::xdr::Xdr;

use super::object_events::{checked_deregister, checked_register};
use super::{drv, inline, job, Action, Session};
use crate::context::Daemon;
use crate::dispatch::reply::with_template;
use crate::network_events::NETWORK_EVENT_ID_LAST;

fn handle(n: &NonnullNetwork) -> NetworkHandle {
    NetworkHandle {
        name: n.name.clone(),
        uuid: n.uuid,
    }
}

fn wire(n: NetworkHandle) -> NonnullNetwork {
    NonnullNetwork {
        name: n.name,
        uuid: n.uuid,
    }
}

/// The session's network connection, or libvirt's "not supported" naming the call's API.
fn net(session: &Session, h: &Header) -> Result<Arc<dyn NetworkConnection>, Action> {
    super::secondary(&session.network, h, domains::NETWORK)
}

/// Runs `f` on this thread with the network connection.
fn quick<R: Xdr>(
    session: &Session,
    h: &Header,
    f: impl FnOnce(&Arc<dyn NetworkConnection>) -> Result<R, RemoteError>,
) -> Action {
    match net(session, h) {
        Ok(n) => inline(h, || f(&n)),
        Err(refused) => refused,
    }
}

/// Runs `f` on a worker with the network connection.
fn slow<R, F>(session: &Session, h: &Header, f: F) -> Action
where
    R: Xdr,
    F: FnOnce(Arc<dyn NetworkConnection>) -> Result<R, RemoteError> + Send + 'static,
{
    match net(session, h) {
        Ok(n) => job(h, move || f(n)),
        Err(refused) => refused,
    }
}

pub fn list_all(s: &Session, h: &Header, a: ConnectListAllNetworksArgs) -> Action {
    quick(s, h, |n| {
        let list = drv(n.list_all_networks(a.flags))?;
        let ret = list.len() as u32;
        let nets = if a.need_results != 0 {
            list.into_iter()
                .take(NETWORK_LIST_MAX_WIRE)
                .map(wire)
                .collect()
        } else {
            Vec::new()
        };
        Ok(ConnectListAllNetworksRet { nets, ret })
    })
}

const NETWORK_LIST_MAX_WIRE: usize = 16_384;

pub fn list_names(s: &Session, h: &Header, a: ConnectListNetworksArgs, active: bool) -> Action {
    quick(s, h, |n| {
        if a.maxnames as usize > NETWORK_LIST_MAX_WIRE {
            return Err(with_template(
                codes::RPC,
                domains::RPC,
                "maxnames > REMOTE_NETWORK_LIST_MAX",
                "%s",
                "maxnames > REMOTE_NETWORK_LIST_MAX",
            ));
        }
        drv(n.list_network_names(active, a.maxnames.max(0) as usize))
            .map(|names| ConnectListNetworksRet { names })
    })
}

pub fn num(s: &Session, h: &Header, active: bool) -> Action {
    quick(s, h, |n| {
        drv(n.num_of_networks(active)).map(|num| ConnectNumOfNetworksRet { num })
    })
}

pub fn lookup_by_name(s: &Session, h: &Header, a: NetworkLookupByNameArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_lookup_by_name(&a.name)).map(|x| NetworkLookupByNameRet { net: wire(x) })
    })
}

pub fn lookup_by_uuid(s: &Session, h: &Header, a: NetworkLookupByUuidArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_lookup_by_uuid(&a.uuid)).map(|x| NetworkLookupByUuidRet { net: wire(x) })
    })
}

pub fn define(s: &Session, h: &Header, xml: String, flags: u32) -> Action {
    slow(s, h, move |n| {
        drv(n.network_define_xml(&xml, flags)).map(|x| NetworkRefRet { net: wire(x) })
    })
}

pub fn create_xml(s: &Session, h: &Header, xml: String, flags: u32) -> Action {
    slow(s, h, move |n| {
        drv(n.network_create_xml(&xml, flags)).map(|x| NetworkRefRet { net: wire(x) })
    })
}

pub fn undefine(s: &Session, h: &Header, a: NetworkRefArgs) -> Action {
    slow(s, h, move |n| drv(n.network_undefine(&handle(&a.net))))
}

pub fn create(s: &Session, h: &Header, a: NetworkRefArgs) -> Action {
    slow(s, h, move |n| drv(n.network_create(&handle(&a.net))))
}

pub fn destroy(s: &Session, h: &Header, a: NetworkRefArgs) -> Action {
    slow(s, h, move |n| drv(n.network_destroy(&handle(&a.net))))
}

pub fn xml_desc(s: &Session, h: &Header, a: NetworkGetXmlDescArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_get_xml_desc(&handle(&a.net), a.flags))
            .map(|xml| NetworkGetXmlDescRet { xml })
    })
}

pub fn get_autostart(s: &Session, h: &Header, a: NetworkRefArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_get_autostart(&handle(&a.net))).map(|v| NetworkGetAutostartRet {
            autostart: v as i32,
        })
    })
}

pub fn set_autostart(s: &Session, h: &Header, a: NetworkSetAutostartArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_set_autostart(&handle(&a.net), a.autostart != 0))
    })
}

pub fn bridge_name(s: &Session, h: &Header, a: NetworkRefArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_get_bridge_name(&handle(&a.net))).map(|name| NetworkGetBridgeNameRet { name })
    })
}

pub fn is_active(s: &Session, h: &Header, a: NetworkRefArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_is_active(&handle(&a.net))).map(|v| NetworkIsActiveRet { active: v as i32 })
    })
}

pub fn is_persistent(s: &Session, h: &Header, a: NetworkRefArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_is_persistent(&handle(&a.net))).map(|v| NetworkIsPersistentRet {
            persistent: v as i32,
        })
    })
}

pub fn update(s: &Session, h: &Header, a: NetworkUpdateArgs) -> Action {
    slow(s, h, move |n| {
        drv(n.network_update(
            &handle(&a.net),
            a.command,
            a.section,
            a.parent_index,
            &a.xml,
            a.flags,
        ))
    })
}

pub fn dhcp_leases(s: &Session, h: &Header, a: NetworkGetDhcpLeasesArgs) -> Action {
    quick(s, h, |n| {
        let leases = drv(n.network_dhcp_leases(&handle(&a.net), a.mac.as_deref(), a.flags))?;
        let ret = leases.len() as u32;
        let leases = if a.need_results != 0 {
            leases
                .into_iter()
                .take(NETWORK_DHCP_LEASES_MAX)
                .map(|l| NetworkDhcpLease {
                    iface: l.iface,
                    expirytime: l.expiry_time,
                    type_: l.addr_type,
                    mac: l.mac,
                    iaid: l.iaid,
                    ipaddr: l.ipaddr,
                    prefix: l.prefix,
                    hostname: l.hostname,
                    clientid: l.clientid,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(NetworkGetDhcpLeasesRet { leases, ret })
    })
}

pub fn event_register(
    daemon: &Daemon,
    s: &mut Session,
    h: &Header,
    a: ConnectNetworkEventRegisterAnyArgs,
) -> Action {
    if let Err(refused) = net(s, h) {
        return refused;
    }
    let sender = s.sender();
    let client = s.info.id;
    inline(h, || {
        let callback_id = checked_register("network", a.event_id, NETWORK_EVENT_ID_LAST, || {
            daemon
                .network_events
                .register(client, a.net.map(|n| n.uuid), sender)
        })?;
        Ok(ConnectNetworkEventRegisterAnyRet { callback_id })
    })
}

pub fn event_deregister(
    daemon: &Daemon,
    s: &mut Session,
    h: &Header,
    a: ConnectNetworkEventDeregisterAnyArgs,
) -> Action {
    let client = s.info.id;
    inline(h, || {
        let removed = daemon.network_events.deregister(client, a.callback_id);
        checked_deregister("network", a.callback_id, removed)
    })
}

/// `virDomainInterfaceAddresses`: a hypervisor call, here because its lease source is
/// answered from the network driver's leases.
pub fn domain_interface_addresses(
    conn: &Arc<dyn drivers::api::Connection>,
    h: &Header,
    a: DomainInterfaceAddressesArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        let dom = drivers::api::DomainRef {
            name: a.dom.name.clone(),
            uuid: a.dom.uuid,
        };
        let ifaces = drv(conn.interface_addresses(&dom, a.source, a.flags))?;
        Ok(DomainInterfaceAddressesRet {
            ifaces: ifaces
                .into_iter()
                .take(DOMAIN_INTERFACE_MAX)
                .map(|i| DomainInterface {
                    name: i.name,
                    hwaddr: i.hwaddr,
                    addrs: i
                        .addrs
                        .into_iter()
                        .take(DOMAIN_IP_ADDR_MAX)
                        .map(|(type_, addr, prefix)| DomainIpAddr {
                            type_,
                            addr,
                            prefix,
                        })
                        .collect(),
                })
                .collect(),
        })
    })
}

fn port_handle(p: &NonnullNetworkPort) -> drivers::api::NetworkPortHandle {
    drivers::api::NetworkPortHandle {
        network: handle(&p.net),
        uuid: p.uuid,
    }
}

fn wire_port(p: drivers::api::NetworkPortHandle) -> NonnullNetworkPort {
    NonnullNetworkPort {
        net: wire(p.network),
        uuid: p.uuid,
    }
}

pub fn list_ports(s: &Session, h: &Header, a: NetworkListAllPortsArgs) -> Action {
    quick(s, h, |n| {
        let list = drv(n.network_list_all_ports(&handle(&a.network), a.flags))?;
        let ret = list.len() as u32;
        let ports = if a.need_results != 0 {
            list.into_iter()
                .take(NETWORK_PORT_LIST_MAX)
                .map(wire_port)
                .collect()
        } else {
            Vec::new()
        };
        Ok(NetworkListAllPortsRet { ports, ret })
    })
}

pub fn port_lookup(s: &Session, h: &Header, a: NetworkPortLookupByUuidArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_port_lookup_by_uuid(&handle(&a.network), &a.uuid))
            .map(|p| NetworkPortRet { port: wire_port(p) })
    })
}

pub fn port_create(s: &Session, h: &Header, a: NetworkPortCreateXmlArgs) -> Action {
    slow(s, h, move |n| {
        drv(n.network_port_create_xml(&handle(&a.network), &a.xml, a.flags))
            .map(|p| NetworkPortRet { port: wire_port(p) })
    })
}

pub fn port_xml(s: &Session, h: &Header, a: NetworkPortFlagsArgs) -> Action {
    quick(s, h, |n| {
        drv(n.network_port_get_xml_desc(&port_handle(&a.port), a.flags))
            .map(|xml| NetworkPortGetXmlDescRet { xml })
    })
}

pub fn port_get_parameters(s: &Session, h: &Header, a: NetworkPortGetParametersArgs) -> Action {
    quick(s, h, |n| {
        let params = drv(n.network_port_get_parameters(&port_handle(&a.port), a.flags))?;
        let params: Vec<protocol::TypedParam> = params
            .into_iter()
            .take(NETWORK_PORT_PARAMETERS_MAX)
            .map(super::tuning::wire_param)
            .collect();
        let nparams = params.len() as i32;
        Ok(NetworkPortGetParametersRet { params, nparams })
    })
}

pub fn port_set_parameters(s: &Session, h: &Header, a: NetworkPortSetParametersArgs) -> Action {
    slow(s, h, move |n| {
        let params = super::tuning::driver_params(a.params)?;
        drv(n.network_port_set_parameters(&port_handle(&a.port), &params, a.flags))
    })
}

pub fn port_delete(s: &Session, h: &Header, a: NetworkPortFlagsArgs) -> Action {
    slow(s, h, move |n| {
        drv(n.network_port_delete(&port_handle(&a.port), a.flags))
    })
}
