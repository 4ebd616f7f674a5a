//! Managed save: the guest's state goes to an image the next start restores. Both
//! calls wait on QEMU, so they run on worker threads.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::programs::remote_proc as p;
use protocol::remote::{DomainManagedSaveArgs, DomainManagedSaveRemoveArgs};

use super::{dom_ref, drv, job, Action};

pub fn serves(proc_: i32) -> bool {
    matches!(
        proc_,
        p::DOMAIN_MANAGED_SAVE | p::DOMAIN_MANAGED_SAVE_REMOVE
    )
}

pub fn handle(conn: &Arc<dyn Connection>, h: &Header, body: &[u8]) -> Action {
    let c = conn.clone();
    if h.proc_ == p::DOMAIN_MANAGED_SAVE {
        job(h, body, move |a: DomainManagedSaveArgs| {
            drv(c.managed_save(&dom_ref(&a.dom), a.flags))
        })
    } else {
        job(h, body, move |a: DomainManagedSaveRemoveArgs| {
            drv(c.managed_save_remove(&dom_ref(&a.dom), a.flags))
        })
    }
}
