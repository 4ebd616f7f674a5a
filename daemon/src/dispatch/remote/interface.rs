//! Host interface procedures, served by the session's secondary interface
//! connection. Every call reads sysfs, so they run on workers; calls that
//! would change the host's configuration are refused by the driver.

use std::sync::Arc;

use drivers::api::{InterfaceConnection, InterfaceRef};
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::programs::remote_proc as p;
use protocol::remote::limits::INTERFACE_LIST_MAX;
use protocol::remote::*;
use protocol::xdr::Xdr;

use super::{drv, inline, job, Action, Session};
use crate::dispatch::reply::with_template;

/// The session's interface connection, or libvirt's "not supported" naming the call's API.
fn interfaces(session: &Session, h: &Header) -> Result<Arc<dyn InterfaceConnection>, Action> {
    super::secondary(&session.interface, h, domains::INTERFACE)
}

/// Runs `f` on a worker with the interface connection.
fn slow<R, F>(session: &Session, h: &Header, f: F) -> Action
where
    R: Xdr,
    F: FnOnce(Arc<dyn InterfaceConnection>) -> Result<R, RemoteError> + Send + 'static,
{
    match interfaces(session, h) {
        Ok(c) => job(h, move || f(c)),
        Err(refused) => refused,
    }
}

fn rpc_limit(what: &str) -> RemoteError {
    with_template(codes::RPC, domains::RPC, what, "%s", what)
}

fn wire(r: InterfaceRef) -> NonnullInterface {
    NonnullInterface {
        name: r.name,
        mac: r.mac,
    }
}

fn count(s: &Session, h: &Header, active: bool) -> Action {
    slow(s, h, move |c| {
        let num = if active {
            c.num_of_active()
        } else {
            c.num_of_inactive()
        };
        drv(num).map(|num| ConnectNumOfInterfacesRet { num })
    })
}

pub fn num_of_active(s: &Session, h: &Header) -> Action {
    count(s, h, true)
}

pub fn num_of_inactive(s: &Session, h: &Header) -> Action {
    count(s, h, false)
}

fn names(s: &Session, h: &Header, a: ConnectListInterfacesArgs, active: bool) -> Action {
    slow(s, h, move |c| {
        if a.maxnames as usize > INTERFACE_LIST_MAX {
            return Err(rpc_limit("maxnames > REMOTE_INTERFACE_LIST_MAX"));
        }
        let max = a.maxnames.max(0) as usize;
        let names = if active {
            c.list_active(max)
        } else {
            c.list_inactive(max)
        };
        drv(names).map(|names| ConnectListInterfacesRet { names })
    })
}

pub fn list_active(s: &Session, h: &Header, a: ConnectListInterfacesArgs) -> Action {
    names(s, h, a, true)
}

pub fn list_inactive(s: &Session, h: &Header, a: ConnectListInterfacesArgs) -> Action {
    names(s, h, a, false)
}

pub fn list_all(s: &Session, h: &Header, a: ConnectListAllInterfacesArgs) -> Action {
    slow(s, h, move |c| {
        let found = drv(c.list_all(a.flags))?;
        let ret = found.len() as u32;
        let ifaces = if a.need_results != 0 {
            if found.len() > INTERFACE_LIST_MAX {
                return Err(rpc_limit("Too many interfaces"));
            }
            found.into_iter().map(wire).collect()
        } else {
            Vec::new()
        };
        Ok(ConnectListAllInterfacesRet { ifaces, ret })
    })
}

pub fn lookup_by_name(s: &Session, h: &Header, a: InterfaceLookupByNameArgs) -> Action {
    slow(s, h, move |c| {
        drv(c.lookup_by_name(&a.name)).map(|r| InterfaceRefRet { iface: wire(r) })
    })
}

pub fn lookup_by_mac(s: &Session, h: &Header, a: InterfaceLookupByMacStringArgs) -> Action {
    slow(s, h, move |c| {
        drv(c.lookup_by_mac(&a.mac)).map(|r| InterfaceRefRet { iface: wire(r) })
    })
}

pub fn xml_desc(s: &Session, h: &Header, a: InterfaceFlagsArgs) -> Action {
    slow(s, h, move |c| {
        drv(c.xml_desc(&a.iface.name, a.flags)).map(|xml| InterfaceGetXmlDescRet { xml })
    })
}

pub fn is_active(s: &Session, h: &Header, a: InterfaceRefArgs) -> Action {
    slow(s, h, move |c| {
        drv(c.is_active(&a.iface.name)).map(|v| InterfaceIsActiveRet { active: v as i32 })
    })
}

/// Calls that would change the host: refused with the driver's reason.
pub fn refuse<R: Xdr + 'static>(s: &Session, h: &Header) -> Action {
    match interfaces(s, h) {
        Ok(c) => {
            let api = p::info(h.proc_).map(|i| i.api).unwrap_or("");
            let err = c.refuse_change(api);
            inline(h, move || drv::<R>(Err(err)))
        }
        Err(refused) => refused,
    }
}
