//! Calls that change domains. They run on worker threads: a real driver may
//! wait for a guest process here.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::programs::remote_proc as p;
use protocol::remote::*;

use super::{dom_ref, drv, job, reply_err, wire_dom, Action};

const SERVED: &[i32] = &[
    p::DOMAIN_DEFINE_XML,
    p::DOMAIN_DEFINE_XML_FLAGS,
    p::DOMAIN_UNDEFINE,
    p::DOMAIN_UNDEFINE_FLAGS,
    p::DOMAIN_CREATE,
    p::DOMAIN_CREATE_WITH_FLAGS,
    p::DOMAIN_CREATE_XML,
    p::DOMAIN_DESTROY,
    p::DOMAIN_DESTROY_FLAGS,
    p::DOMAIN_SUSPEND,
    p::DOMAIN_RESUME,
    p::DOMAIN_SHUTDOWN,
    p::DOMAIN_SHUTDOWN_FLAGS,
    p::DOMAIN_REBOOT,
    p::DOMAIN_RESET,
    p::DOMAIN_SET_AUTOSTART,
];

pub fn serves(proc_: i32) -> bool {
    SERVED.contains(&proc_)
}

pub fn handle(conn: &Arc<dyn Connection>, h: &Header, body: &[u8]) -> Action {
    let c = conn.clone();
    match h.proc_ {
        p::DOMAIN_DEFINE_XML => job(h, body, move |a: DomainDefineXmlArgs| {
            drv(c.define_xml(&a.xml, 0)).map(|d| DomainDefineXmlRet { dom: wire_dom(d) })
        }),
        p::DOMAIN_DEFINE_XML_FLAGS => job(h, body, move |a: DomainDefineXmlFlagsArgs| {
            drv(c.define_xml(&a.xml, a.flags)).map(|d| DomainDefineXmlFlagsRet { dom: wire_dom(d) })
        }),
        p::DOMAIN_UNDEFINE => job(h, body, move |a: DomainUndefineArgs| {
            drv(c.undefine(&dom_ref(&a.dom), 0))
        }),
        p::DOMAIN_UNDEFINE_FLAGS => job(h, body, move |a: DomainUndefineFlagsArgs| {
            drv(c.undefine(&dom_ref(&a.dom), a.flags))
        }),
        p::DOMAIN_CREATE => job(h, body, move |a: DomainCreateArgs| {
            drv(c.create(&dom_ref(&a.dom), 0)).map(|_| ())
        }),
        p::DOMAIN_CREATE_WITH_FLAGS => job(h, body, move |a: DomainCreateWithFlagsArgs| {
            drv(c.create(&dom_ref(&a.dom), a.flags))
                .map(|d| DomainCreateWithFlagsRet { dom: wire_dom(d) })
        }),
        p::DOMAIN_CREATE_XML => job(h, body, move |a: DomainCreateXmlArgs| {
            drv(c.create_xml(&a.xml_desc, a.flags)).map(|d| DomainCreateXmlRet { dom: wire_dom(d) })
        }),
        p::DOMAIN_DESTROY => job(h, body, move |a: DomainDestroyArgs| {
            drv(c.destroy(&dom_ref(&a.dom), 0))
        }),
        p::DOMAIN_DESTROY_FLAGS => job(h, body, move |a: DomainDestroyFlagsArgs| {
            drv(c.destroy(&dom_ref(&a.dom), a.flags))
        }),
        p::DOMAIN_SUSPEND => job(h, body, move |a: DomainSuspendArgs| {
            drv(c.suspend(&dom_ref(&a.dom)))
        }),
        p::DOMAIN_RESUME => job(h, body, move |a: DomainResumeArgs| {
            drv(c.resume(&dom_ref(&a.dom)))
        }),
        p::DOMAIN_SHUTDOWN => job(h, body, move |a: DomainShutdownArgs| {
            drv(c.shutdown(&dom_ref(&a.dom), 0))
        }),
        p::DOMAIN_SHUTDOWN_FLAGS => job(h, body, move |a: DomainShutdownFlagsArgs| {
            drv(c.shutdown(&dom_ref(&a.dom), a.flags))
        }),
        p::DOMAIN_REBOOT => job(h, body, move |a: DomainRebootArgs| {
            drv(c.reboot(&dom_ref(&a.dom), a.flags))
        }),
        p::DOMAIN_RESET => job(h, body, move |a: DomainResetArgs| {
            drv(c.reset(&dom_ref(&a.dom), a.flags))
        }),
        p::DOMAIN_SET_AUTOSTART => job(h, body, move |a: DomainSetAutostartArgs| {
            drv(c.set_autostart(&dom_ref(&a.dom), a.autostart != 0))
        }),
        other => reply_err(
            h,
            RemoteError::new(
                codes::INTERNAL_ERROR,
                domains::RPC,
                format!("unrouted procedure {other}"),
            ),
        ),
    }
}
