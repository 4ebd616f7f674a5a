//! Saving guests and their memory size: managed save, save to and restore from a
//! file, and the balloon. All wait on QEMU, so they run on worker threads.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::remote::{
    DomainManagedSaveArgs, DomainManagedSaveDefineXmlArgs, DomainManagedSaveGetXmlDescArgs,
    DomainManagedSaveGetXmlDescRet, DomainManagedSaveRemoveArgs, DomainRestoreArgs,
    DomainRestoreFlagsArgs, DomainSaveArgs, DomainSaveFlagsArgs, DomainSaveImageDefineXmlArgs,
    DomainSaveImageGetXmlDescArgs, DomainSaveImageGetXmlDescRet, DomainSetMemoryArgs,
    DomainSetMemoryFlagsArgs,
};

use super::{dom_ref, drv, job, Action};

pub fn domain_managed_save(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainManagedSaveArgs,
) -> Action {
    let c = c.clone();
    job(h, move || drv(c.managed_save(&dom_ref(&a.dom), a.flags)))
}

pub fn domain_managed_save_remove(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainManagedSaveRemoveArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.managed_save_remove(&dom_ref(&a.dom), a.flags))
    })
}

pub fn domain_save(c: &Arc<dyn Connection>, h: &Header, a: DomainSaveArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.save(&dom_ref(&a.dom), &a.to, None, 0)))
}

pub fn domain_save_flags(c: &Arc<dyn Connection>, h: &Header, a: DomainSaveFlagsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.save(&dom_ref(&a.dom), &a.to, a.dxml.as_deref(), a.flags))
    })
}

pub fn domain_restore(c: &Arc<dyn Connection>, h: &Header, a: DomainRestoreArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.restore(&a.from, None, 0)))
}

pub fn domain_restore_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainRestoreFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.restore(&a.from, a.dxml.as_deref(), a.flags))
    })
}

/// The XML in a save image: reading the file waits on the disk, so it is a job.
pub fn domain_save_image_get_xml_desc(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSaveImageGetXmlDescArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.save_image_xml(&a.file, a.flags)).map(|xml| DomainSaveImageGetXmlDescRet { xml })
    })
}

pub fn domain_save_image_define_xml(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSaveImageDefineXmlArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.save_image_define(&a.file, &a.dxml, a.flags))
    })
}

pub fn domain_managed_save_get_xml_desc(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainManagedSaveGetXmlDescArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.managed_save_xml(&dom_ref(&a.dom), a.flags))
            .map(|xml| DomainManagedSaveGetXmlDescRet { xml })
    })
}

pub fn domain_managed_save_define_xml(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainManagedSaveDefineXmlArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.managed_save_define(&dom_ref(&a.dom), a.dxml.as_deref(), a.flags))
    })
}

pub fn domain_set_memory(c: &Arc<dyn Connection>, h: &Header, a: DomainSetMemoryArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_memory_flags(&dom_ref(&a.dom), a.memory, 0))
    })
}

pub fn domain_set_memory_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetMemoryFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_memory_flags(&dom_ref(&a.dom), a.memory, a.flags))
    })
}
