//! Calls that change domains. They run on worker threads: a real driver may
//! wait for a guest process here.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::remote::*;

use super::{dom_ref, drv, job, wire_dom, Action};
use crate::dispatch::Session;

pub fn domain_define_xml(c: &Arc<dyn Connection>, h: &Header, a: DomainDefineXmlArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.define_xml(&a.xml, 0)).map(|d| DomainDefineXmlRet { dom: wire_dom(d) })
    })
}

pub fn domain_define_xml_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainDefineXmlFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.define_xml(&a.xml, a.flags)).map(|d| DomainDefineXmlFlagsRet { dom: wire_dom(d) })
    })
}

pub fn domain_undefine(c: &Arc<dyn Connection>, h: &Header, a: DomainUndefineArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.undefine(&dom_ref(&a.dom), 0)))
}

pub fn domain_undefine_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainUndefineFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || drv(c.undefine(&dom_ref(&a.dom), a.flags)))
}

pub fn domain_create(c: &Arc<dyn Connection>, h: &Header, a: DomainCreateArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.create(&dom_ref(&a.dom), 0)).map(|_| ()))
}

pub fn domain_create_with_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainCreateWithFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.create(&dom_ref(&a.dom), a.flags))
            .map(|d| DomainCreateWithFlagsRet { dom: wire_dom(d) })
    })
}

pub fn domain_create_xml(c: &Arc<dyn Connection>, h: &Header, a: DomainCreateXmlArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.create_xml(&a.xml_desc, a.flags)).map(|d| DomainCreateXmlRet { dom: wire_dom(d) })
    })
}

/// `virsh create --pass-fds`: the descriptors passed with the call go to
/// the guest.
pub fn domain_create_xml_with_files(
    session: &mut Session,
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainCreateXmlArgs,
) -> Action {
    let c = c.clone();
    let fds = std::mem::take(&mut session.fds);
    job(h, move || {
        drv(c.create_xml_with_files(&a.xml_desc, fds, a.flags))
            .map(|d| DomainCreateXmlRet { dom: wire_dom(d) })
    })
}

/// `virsh start --pass-fds`.
pub fn domain_create_with_files(
    session: &mut Session,
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainCreateWithFlagsArgs,
) -> Action {
    let c = c.clone();
    let fds = std::mem::take(&mut session.fds);
    job(h, move || {
        drv(c.create_with_files(&dom_ref(&a.dom), fds, a.flags))
            .map(|d| DomainCreateWithFlagsRet { dom: wire_dom(d) })
    })
}

pub fn domain_destroy(c: &Arc<dyn Connection>, h: &Header, a: DomainDestroyArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.destroy(&dom_ref(&a.dom), 0)))
}

pub fn domain_destroy_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainDestroyFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || drv(c.destroy(&dom_ref(&a.dom), a.flags)))
}

pub fn domain_suspend(c: &Arc<dyn Connection>, h: &Header, a: DomainSuspendArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.suspend(&dom_ref(&a.dom))))
}

pub fn domain_resume(c: &Arc<dyn Connection>, h: &Header, a: DomainResumeArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.resume(&dom_ref(&a.dom))))
}

pub fn domain_shutdown(c: &Arc<dyn Connection>, h: &Header, a: DomainShutdownArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.shutdown(&dom_ref(&a.dom), 0)))
}

pub fn domain_shutdown_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainShutdownFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || drv(c.shutdown(&dom_ref(&a.dom), a.flags)))
}

pub fn domain_reboot(c: &Arc<dyn Connection>, h: &Header, a: DomainRebootArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.reboot(&dom_ref(&a.dom), a.flags)))
}

pub fn domain_reset(c: &Arc<dyn Connection>, h: &Header, a: DomainResetArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.reset(&dom_ref(&a.dom), a.flags)))
}

pub fn domain_set_autostart(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetAutostartArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_autostart(&dom_ref(&a.dom), a.autostart != 0))
    })
}
