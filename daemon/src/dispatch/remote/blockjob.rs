//! Block device calls on running guests (`virsh blockresize`, `blockjob --info`).
//! Each runs on a worker thread through [`super::conn_job`], called from `route`.

use drivers::api::{BlockCopyParams, Connection};
use protocol::error::{codes, domains, RemoteError};
use protocol::remote::*;
use protocol::{TypedParam, TypedParamValue};

use super::{dom_ref, drv};

type Reply<T> = Result<T, RemoteError>;

pub fn resize(c: &dyn Connection, a: DomainBlockResizeArgs) -> Reply<()> {
    drv(c.block_resize(&dom_ref(&a.dom), &a.disk, a.size, a.flags))
}

pub fn job_info(
    c: &dyn Connection,
    a: DomainGetBlockJobInfoArgs,
) -> Reply<DomainGetBlockJobInfoRet> {
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
}

pub fn commit(c: &dyn Connection, a: DomainBlockCommitArgs) -> Reply<()> {
    let (base, top) = (a.base.as_deref(), a.top.as_deref());
    drv(c.block_commit(&dom_ref(&a.dom), &a.disk, base, top, a.bandwidth, a.flags))
}

pub fn pull(c: &dyn Connection, a: DomainBlockJobBandwidthArgs) -> Reply<()> {
    drv(c.block_pull(&dom_ref(&a.dom), &a.path, a.bandwidth, a.flags))
}

pub fn set_speed(c: &dyn Connection, a: DomainBlockJobBandwidthArgs) -> Reply<()> {
    drv(c.block_job_set_speed(&dom_ref(&a.dom), &a.path, a.bandwidth, a.flags))
}

pub fn abort(c: &dyn Connection, a: DomainBlockJobAbortArgs) -> Reply<()> {
    drv(c.block_job_abort(&dom_ref(&a.dom), &a.path, a.flags))
}

pub fn rebase(c: &dyn Connection, a: DomainBlockRebaseArgs) -> Reply<()> {
    let base = a.base.as_deref();
    drv(c.block_rebase(&dom_ref(&a.dom), &a.path, base, a.bandwidth, a.flags))
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

pub fn copy(c: &dyn Connection, a: DomainBlockCopyArgs) -> Reply<()> {
    let mut params = BlockCopyParams::default();
    copy_params(a.params, &mut params)?;
    drv(c.block_copy(&dom_ref(&a.dom), &a.path, &a.destxml, &params, a.flags))
}

pub fn set_threshold(c: &dyn Connection, a: DomainSetBlockThresholdArgs) -> Reply<()> {
    drv(c.set_block_threshold(&dom_ref(&a.dom), &a.dev, a.threshold, a.flags))
}
