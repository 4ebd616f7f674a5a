//! Block device calls on running guests (`virsh blockresize`, `blockjob --info`).

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::remote::*;

use super::{dom_ref, drv, job, Action};

pub fn domain_block_resize(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainBlockResizeArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.block_resize(&dom_ref(&a.dom), &a.disk, a.size, a.flags))
    })
}

pub fn domain_get_block_job_info(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetBlockJobInfoArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.block_job_info(&dom_ref(&a.dom), &a.path, a.flags)).map(|info| match info {
            Some(i) => DomainGetBlockJobInfoRet {
                found: 1,
                type_: i.kind,
                bandwidth: i.bandwidth,
                cur: i.cur,
                end: i.end,
            },
            None => DomainGetBlockJobInfoRet {
                found: 0,
                type_: 0,
                bandwidth: 0,
                cur: 0,
                end: 0,
            },
        })
    })
}

pub fn domain_block_commit(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainBlockCommitArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.block_commit(
            &dom_ref(&a.dom),
            &a.disk,
            a.base.as_deref(),
            a.top.as_deref(),
            a.bandwidth,
            a.flags,
        ))
    })
}

pub fn domain_block_pull(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainBlockJobBandwidthArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.block_pull(&dom_ref(&a.dom), &a.path, a.bandwidth, a.flags))
    })
}

pub fn domain_block_job_set_speed(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainBlockJobBandwidthArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.block_job_set_speed(&dom_ref(&a.dom), &a.path, a.bandwidth, a.flags))
    })
}

pub fn domain_block_job_abort(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainBlockJobAbortArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.block_job_abort(&dom_ref(&a.dom), &a.path, a.flags))
    })
}
