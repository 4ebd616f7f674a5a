//! Hot plug (`virsh attach-device`, `detach-device`, `update-device`,
//! `detach-device-alias`, `attach-disk`, `attach-interface`): on workers, since
//! they wait for QEMU and, for unplug, for the guest.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::remote::*;

use super::{dom_ref, drv, job, Action};

pub fn attach_device(c: &Arc<dyn Connection>, h: &Header, a: DomainAttachDeviceArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.attach_device(&dom_ref(&a.dom), &a.xml, None))
    })
}

pub fn attach_device_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainAttachDeviceFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.attach_device(&dom_ref(&a.dom), &a.xml, Some(a.flags)))
    })
}

pub fn detach_device(c: &Arc<dyn Connection>, h: &Header, a: DomainDetachDeviceArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.detach_device(&dom_ref(&a.dom), &a.xml, None))
    })
}

pub fn detach_device_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainDetachDeviceFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.detach_device(&dom_ref(&a.dom), &a.xml, Some(a.flags)))
    })
}

pub fn update_device_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainUpdateDeviceFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.update_device(&dom_ref(&a.dom), &a.xml, a.flags))
    })
}

pub fn detach_device_alias(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainDetachDeviceAliasArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.detach_device_alias(&dom_ref(&a.dom), &a.alias, a.flags))
    })
}
