//! Node device procedures, served by the session's secondary node device
//! connection. Listing and describing devices reads sysfs, so those calls run
//! on workers; calls that would change the host are refused by the driver.

use std::sync::Arc;

use drivers::api::NodeDeviceConnection;
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::programs::remote_proc as p;
use protocol::remote::limits::{NODE_DEVICE_CAPS_LIST_MAX, NODE_DEVICE_LIST_MAX};
use protocol::remote::*;
use protocol::xdr::Xdr;

use super::{drv, inline, job, Action, Session};
use crate::dispatch::reply::with_template;

/// The session's node device connection, or libvirt's "not supported" naming the call's API.
pub(super) fn devices(
    session: &Session,
    h: &Header,
) -> Result<Arc<dyn NodeDeviceConnection>, Action> {
    super::secondary(&session.nodedev, h, domains::NODEDEV)
}

/// Runs `f` on a worker with the node device connection.
fn slow<R, F>(session: &Session, h: &Header, f: F) -> Action
where
    R: Xdr,
    F: FnOnce(Arc<dyn NodeDeviceConnection>) -> Result<R, RemoteError> + Send + 'static,
{
    match devices(session, h) {
        Ok(c) => job(h, move || f(c)),
        Err(refused) => refused,
    }
}

fn rpc_limit(what: &str) -> RemoteError {
    with_template(codes::RPC, domains::RPC, what, "%s", what)
}

fn dev(name: String) -> NonnullNodeDevice {
    NonnullNodeDevice { name }
}

pub fn num_of_devices(s: &Session, h: &Header, a: NodeNumOfDevicesArgs) -> Action {
    slow(s, h, move |c| {
        drv(c.num_of_devices(a.cap.as_deref(), a.flags)).map(|num| NodeDeviceNumRet { num })
    })
}

pub fn list_devices(s: &Session, h: &Header, a: NodeListDevicesArgs) -> Action {
    slow(s, h, move |c| {
        if a.maxnames as usize > NODE_DEVICE_LIST_MAX {
            return Err(rpc_limit("maxnames > REMOTE_NODE_DEVICE_LIST_MAX"));
        }
        drv(c.list_devices(a.cap.as_deref(), a.maxnames.max(0) as usize, a.flags))
            .map(|names| NodeListDevicesRet { names })
    })
}

pub fn list_all(s: &Session, h: &Header, a: ConnectListAllNodeDevicesArgs) -> Action {
    slow(s, h, move |c| {
        let names = drv(c.list_all_devices(a.flags))?;
        let ret = names.len() as u32;
        let devices = if a.need_results != 0 {
            if names.len() > NODE_DEVICE_LIST_MAX {
                return Err(rpc_limit("Too many node devices"));
            }
            names.into_iter().map(dev).collect()
        } else {
            Vec::new()
        };
        Ok(ConnectListAllNodeDevicesRet { devices, ret })
    })
}

pub fn lookup_by_name(s: &Session, h: &Header, a: NodeDeviceNameArgs) -> Action {
    slow(s, h, move |c| {
        drv(c.lookup_by_name(&a.name)).map(|name| NodeDeviceRefRet { dev: dev(name) })
    })
}

pub fn xml_desc(s: &Session, h: &Header, a: NodeDeviceNameFlagsArgs) -> Action {
    slow(s, h, move |c| {
        drv(c.xml_desc(&a.name, a.flags)).map(|xml| NodeDeviceGetXmlDescRet { xml })
    })
}

pub fn parent(s: &Session, h: &Header, a: NodeDeviceNameArgs) -> Action {
    slow(s, h, move |c| {
        drv(c.parent(&a.name)).map(|parent_name| NodeDeviceGetParentRet { parent_name })
    })
}

pub fn num_of_caps(s: &Session, h: &Header, a: NodeDeviceNameArgs) -> Action {
    slow(s, h, move |c| {
        drv(c.caps(&a.name)).map(|caps| NodeDeviceNumRet {
            num: caps.len() as i32,
        })
    })
}

pub fn list_caps(s: &Session, h: &Header, a: NodeDeviceListCapsArgs) -> Action {
    slow(s, h, move |c| {
        if a.maxnames as usize > NODE_DEVICE_CAPS_LIST_MAX {
            return Err(rpc_limit("maxnames > REMOTE_NODE_DEVICE_CAPS_LIST_MAX"));
        }
        drv(c.caps(&a.name)).map(|caps| NodeDeviceListCapsRet {
            names: caps.into_iter().take(a.maxnames.max(0) as usize).collect(),
        })
    })
}

/// `IsActive`, `IsPersistent` and `GetAutostart`.
pub fn flag(
    s: &Session,
    h: &Header,
    a: NodeDeviceNameArgs,
    get: fn(&dyn NodeDeviceConnection, &str) -> drivers::api::DriverResult<bool>,
) -> Action {
    slow(s, h, move |c| {
        drv(get(c.as_ref(), &a.name)).map(|v| NodeDeviceFlagRet { value: v as i32 })
    })
}

/// Calls that would change the host: refused with the driver's reason.
pub fn refuse(s: &Session, h: &Header) -> Action {
    match devices(s, h) {
        Ok(c) => {
            let api = p::info(h.proc_).map(|i| i.api).unwrap_or("");
            let err = c.refuse_change(api);
            inline(h, move || drv::<()>(Err(err)))
        }
        Err(refused) => refused,
    }
}
