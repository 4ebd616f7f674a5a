//! Block device calls on running guests (`virsh blockresize`, `blockjob --info`).

use std::sync::Arc;

use drivers::api::{BlockCopyParams, Connection};
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::*;
use protocol::{TypedParam, TypedParamValue};

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

pub fn domain_block_rebase(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainBlockRebaseArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.block_rebase(
            &dom_ref(&a.dom),
            &a.path,
            a.base.as_deref(),
            a.bandwidth,
            a.flags,
        ))
    })
}

/// The `bandwidth`, `granularity` and `buf-size` parameters of `virDomainBlockCopy`,
/// checked as libvirt's typed parameter validation does.
fn copy_params(params: Vec<TypedParam>, target: &mut BlockCopyParams) -> Result<(), RemoteError> {
    for p in params {
        let wrong = |expected: &str| {
            RemoteError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                format!(
                    "invalid type '{}' for parameter '{}', expected '{expected}'",
                    type_name(&p.value),
                    p.field
                ),
            )
        };
        match (p.field.as_str(), &p.value) {
            ("bandwidth", TypedParamValue::ULLong(v)) => target.bandwidth = *v,
            ("buf-size", TypedParamValue::ULLong(v)) => target.buf_size = *v,
            ("granularity", TypedParamValue::UInt(v)) => target.granularity = *v,
            ("bandwidth" | "buf-size", _) => return Err(wrong("ullong")),
            ("granularity", _) => return Err(wrong("uint")),
            (other, _) => {
                return Err(RemoteError::new(
                    codes::ARGUMENT_UNSUPPORTED,
                    domains::QEMU,
                    format!("parameter '{other}' not supported"),
                ))
            }
        }
    }
    Ok(())
}

fn type_name(v: &TypedParamValue) -> &'static str {
    match v {
        TypedParamValue::Int(_) => "int",
        TypedParamValue::UInt(_) => "uint",
        TypedParamValue::LLong(_) => "llong",
        TypedParamValue::ULLong(_) => "ullong",
        TypedParamValue::Double(_) => "double",
        TypedParamValue::Boolean(_) => "boolean",
        TypedParamValue::String(_) => "string",
    }
}

pub fn domain_block_copy(c: &Arc<dyn Connection>, h: &Header, a: DomainBlockCopyArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let mut params = BlockCopyParams::default();
        copy_params(a.params, &mut params)?;
        drv(c.block_copy(&dom_ref(&a.dom), &a.path, &a.destxml, &params, a.flags))
    })
}

pub fn domain_set_block_threshold(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetBlockThresholdArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_block_threshold(&dom_ref(&a.dom), &a.dev, a.threshold, a.flags))
    })
}
