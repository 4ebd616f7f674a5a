//! Saving guests and their memory size: managed save, save to and restore from a
//! file, and the balloon. All wait on QEMU, so they run on worker threads.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::programs::remote_proc as p;
use protocol::remote::{
    DomainManagedSaveArgs, DomainManagedSaveRemoveArgs, DomainRestoreArgs, DomainRestoreFlagsArgs,
    DomainSaveArgs, DomainSaveFlagsArgs, DomainSetMemoryArgs, DomainSetMemoryFlagsArgs,
};

use super::{dom_ref, drv, job, Action};

const SERVED: &[i32] = &[
    p::DOMAIN_MANAGED_SAVE,
    p::DOMAIN_MANAGED_SAVE_REMOVE,
    p::DOMAIN_SAVE,
    p::DOMAIN_SAVE_FLAGS,
    p::DOMAIN_RESTORE,
    p::DOMAIN_RESTORE_FLAGS,
    p::DOMAIN_SET_MEMORY,
    p::DOMAIN_SET_MEMORY_FLAGS,
];

pub fn serves(proc_: i32) -> bool {
    SERVED.contains(&proc_)
}

pub fn handle(conn: &Arc<dyn Connection>, h: &Header, body: &[u8]) -> Action {
    let c = conn.clone();
    match h.proc_ {
        p::DOMAIN_MANAGED_SAVE => job(h, body, move |a: DomainManagedSaveArgs| {
            drv(c.managed_save(&dom_ref(&a.dom), a.flags))
        }),
        p::DOMAIN_MANAGED_SAVE_REMOVE => job(h, body, move |a: DomainManagedSaveRemoveArgs| {
            drv(c.managed_save_remove(&dom_ref(&a.dom), a.flags))
        }),
        p::DOMAIN_SAVE => job(h, body, move |a: DomainSaveArgs| {
            drv(c.save(&dom_ref(&a.dom), &a.to, None, 0))
        }),
        p::DOMAIN_SAVE_FLAGS => job(h, body, move |a: DomainSaveFlagsArgs| {
            drv(c.save(&dom_ref(&a.dom), &a.to, a.dxml.as_deref(), a.flags))
        }),
        p::DOMAIN_RESTORE => job(h, body, move |a: DomainRestoreArgs| {
            drv(c.restore(&a.from, None, 0))
        }),
        p::DOMAIN_RESTORE_FLAGS => job(h, body, move |a: DomainRestoreFlagsArgs| {
            drv(c.restore(&a.from, a.dxml.as_deref(), a.flags))
        }),
        p::DOMAIN_SET_MEMORY => job(h, body, move |a: DomainSetMemoryArgs| {
            drv(c.set_memory_flags(&dom_ref(&a.dom), a.memory, 0))
        }),
        _ => job(h, body, move |a: DomainSetMemoryFlagsArgs| {
            drv(c.set_memory_flags(&dom_ref(&a.dom), a.memory, a.flags))
        }),
    }
}
