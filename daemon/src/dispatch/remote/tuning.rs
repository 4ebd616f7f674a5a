//! vCPUs, scheduler, job progress and the host CPU map (`virsh vcpuinfo`,
//! `schedinfo`, `domjobinfo`, `nodecpumap`). Calls that ask QEMU run on workers.

use std::sync::Arc;

use drivers::api::{job_type, Connection, JobProgress, NamedParam, ParamValue};
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::*;
use protocol::{TypedParam, TypedParamValue};

use super::{dom_ref, drv, inline, job, Action};

/// Largest map libvirt accepts per vCPU and in total (REMOTE_CPUMAPS_MAX).
const CPUMAPS_MAX: usize = 8_388_608;
const VCPUINFO_MAX: usize = 16_384;
const CPUMAP_MAX: usize = 2_048;
const SCHEDULER_PARAMETERS_MAX: usize = 16;
/// `VIR_DOMAIN_JOB_STATS_COMPLETED` and `VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED`.
const JOB_STATS_COMPLETED: u32 = 1;
const JOB_STATS_KEEP_COMPLETED: u32 = 2;

pub fn node_get_cpu_map(c: &Arc<dyn Connection>, h: &Header, a: NodeGetCpuMapArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let map = drv(c.node_cpu_map())?;
        let bytes = (map.cpus as usize).div_ceil(8).min(CPUMAP_MAX);
        Ok(NodeGetCpuMapRet {
            cpumap: Opaque(if a.need_map != 0 {
                bitmap(&map.online, bytes)
            } else {
                Vec::new()
            }),
            online: if a.need_online != 0 {
                map.online.len() as u32
            } else {
                0
            },
            ret: i32::try_from(map.cpus).unwrap_or(i32::MAX),
        })
    })
}

pub fn domain_get_vcpus(c: &Arc<dyn Connection>, h: &Header, a: DomainGetVcpusArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let (maxinfo, maplen) = vcpus_limits(a.maxinfo, a.maplen)?;
        let vcpus = drv(c.get_vcpus(&dom_ref(&a.dom), maxinfo))?;
        let mut cpumaps = Vec::with_capacity(vcpus.len() * maplen);
        for vcpu in &vcpus {
            cpumaps.extend(bitmap(&vcpu.affinity, maplen));
        }
        Ok(DomainGetVcpusRet {
            info: vcpus
                .into_iter()
                .map(|v| VcpuInfo {
                    number: v.number,
                    state: v.state,
                    cpu_time: v.cpu_time_ns,
                    cpu: v.cpu,
                })
                .collect(),
            cpumaps: Opaque(cpumaps),
        })
    })
}

pub fn domain_get_vcpu_pin_info(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetVcpuPinInfoArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let (ncpumaps, maplen) = vcpus_limits(a.ncpumaps, a.maplen)?;
        let maps = drv(c.get_vcpu_pin_info(&dom_ref(&a.dom), a.flags))?;
        let num = maps.len().min(ncpumaps);
        let mut cpumaps = Vec::with_capacity(num * maplen);
        for map in maps.iter().take(num) {
            cpumaps.extend(bitmap(map, maplen));
        }
        Ok(DomainGetVcpuPinInfoRet {
            cpumaps: Opaque(cpumaps),
            num: num as i32,
        })
    })
}

pub fn domain_get_scheduler_type(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetSchedulerTypeArgs,
) -> Action {
    inline(h, || {
        drv(c.scheduler_type(&dom_ref(&a.dom)))
            .map(|(type_, nparams)| DomainGetSchedulerTypeRet { type_, nparams })
    })
}

pub fn domain_get_scheduler_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetSchedulerParametersArgs,
) -> Action {
    inline(h, || {
        let params = drv(c.scheduler_params(&dom_ref(&a.dom), None))?;
        Ok(DomainGetSchedulerParametersRet {
            params: limited_params(params, a.nparams)?,
        })
    })
}

pub fn domain_get_scheduler_parameters_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetSchedulerParametersFlagsArgs,
) -> Action {
    inline(h, || {
        let params = drv(c.scheduler_params(&dom_ref(&a.dom), Some(a.flags)))?;
        Ok(DomainGetSchedulerParametersRet {
            params: limited_params(params, a.nparams)?,
        })
    })
}

pub fn domain_set_scheduler_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetSchedulerParametersArgs,
) -> Action {
    inline(h, || {
        let params = driver_params(a.params)?;
        drv(c.set_scheduler_params(&dom_ref(&a.dom), &params, None))
    })
}

pub fn domain_set_scheduler_parameters_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetSchedulerParametersFlagsArgs,
) -> Action {
    inline(h, || {
        let params = driver_params(a.params)?;
        drv(c.set_scheduler_params(&dom_ref(&a.dom), &params, Some(a.flags)))
    })
}

/// Wire parameters as the driver takes them; doubles and booleans have no scheduler use.
pub(super) fn driver_params(params: Vec<TypedParam>) -> Result<Vec<NamedParam>, RemoteError> {
    params
        .into_iter()
        .map(|p| {
            let value = match p.value {
                TypedParamValue::Int(v) => ParamValue::Int(v),
                TypedParamValue::UInt(v) => ParamValue::UInt(v),
                TypedParamValue::LLong(v) => ParamValue::LLong(v),
                TypedParamValue::ULLong(v) => ParamValue::ULLong(v),
                TypedParamValue::String(v) => ParamValue::String(v),
                TypedParamValue::Boolean(v) => ParamValue::Boolean(v != 0),
                TypedParamValue::Double(_) => {
                    return Err(RemoteError::new(
                        codes::INVALID_ARG,
                        domains::QEMU,
                        format!("invalid type for parameter '{}'", p.field),
                    ))
                }
            };
            Ok(NamedParam::new(&p.field, value))
        })
        .collect()
}

pub fn domain_get_job_info(c: &Arc<dyn Connection>, h: &Header, a: DomainGetJobInfoArgs) -> Action {
    inline(h, || {
        drv(c.job_progress(&dom_ref(&a.dom), true)).map(job_info)
    })
}

pub fn domain_get_job_stats(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetJobStatsArgs,
) -> Action {
    inline(h, || {
        if a.flags & !(JOB_STATS_COMPLETED | JOB_STATS_KEEP_COMPLETED) != 0 {
            return Err(RemoteError::new(
                codes::INVALID_ARG,
                domains::NONE,
                format!(
                    "unsupported flags (0x{:x}) in function virDomainGetJobStats",
                    a.flags
                ),
            ));
        }
        // Statistics of finished jobs are not kept: a completed job reads as none.
        let progress = if a.flags & JOB_STATS_COMPLETED != 0 {
            drv(c.is_active(&dom_ref(&a.dom))).map(|_| None)?
        } else {
            drv(c.job_progress(&dom_ref(&a.dom), false))?
        };
        Ok(match progress {
            Some(job) => DomainGetJobStatsRet {
                type_: job_type::UNBOUNDED,
                params: job.to_params().into_iter().map(wire_param).collect(),
            },
            None => DomainGetJobStatsRet {
                type_: job_type::NONE,
                params: Vec::new(),
            },
        })
    })
}

/// The remote driver's checks on the sizes a client asks for.
fn vcpus_limits(count: i32, maplen: i32) -> Result<(usize, usize), RemoteError> {
    let count = usize::try_from(count).unwrap_or(0);
    let maplen = usize::try_from(maplen).unwrap_or(0);
    if count > VCPUINFO_MAX {
        return Err(rpc_limit("maxinfo > REMOTE_VCPUINFO_MAX"));
    }
    if count.saturating_mul(maplen) > CPUMAPS_MAX {
        return Err(rpc_limit("maxinfo * maplen > REMOTE_CPUMAPS_MAX"));
    }
    Ok((count, maplen))
}

fn limited_params(params: Vec<NamedParam>, nparams: i32) -> Result<Vec<TypedParam>, RemoteError> {
    if nparams > SCHEDULER_PARAMETERS_MAX as i32 {
        return Err(rpc_limit("nparams too large"));
    }
    let wanted = usize::try_from(nparams).unwrap_or(0);
    Ok(params.into_iter().take(wanted).map(wire_param).collect())
}

fn rpc_limit(what: &str) -> RemoteError {
    RemoteError::new(codes::RPC, domains::RPC, what.to_string())
}

fn job_info(progress: Option<JobProgress>) -> DomainGetJobInfoRet {
    let job = progress.clone().unwrap_or_default();
    DomainGetJobInfoRet {
        type_: if progress.is_some() {
            job_type::UNBOUNDED
        } else {
            job_type::NONE
        },
        time_elapsed: job.elapsed_ms,
        time_remaining: 0,
        data_total: job.data_total,
        data_processed: job.data_processed,
        data_remaining: job.data_remaining,
        mem_total: job.mem_total,
        mem_processed: job.mem_processed,
        mem_remaining: job.mem_remaining,
        file_total: 0,
        file_processed: 0,
        file_remaining: 0,
    }
}

pub(super) fn wire_param(param: NamedParam) -> TypedParam {
    let value = match param.value {
        ParamValue::Int(v) => TypedParamValue::Int(v),
        ParamValue::UInt(v) => TypedParamValue::UInt(v),
        ParamValue::LLong(v) => TypedParamValue::LLong(v),
        ParamValue::ULLong(v) => TypedParamValue::ULLong(v),
        ParamValue::Boolean(v) => TypedParamValue::Boolean(i32::from(v)),
        ParamValue::String(v) => TypedParamValue::String(v),
    };
    TypedParam::new(param.field, value)
}

/// `len` bytes with bit `cpu % 8` of byte `cpu / 8` set for each listed CPU.
fn bitmap(cpus: &[u32], len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    for &cpu in cpus {
        if let Some(byte) = bytes.get_mut(cpu as usize / 8) {
            *byte |= 1 << (cpu % 8);
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmaps_set_one_bit_per_cpu_and_drop_overflow() {
        assert_eq!(bitmap(&[0, 1, 9], 2), vec![0b11, 0b10]);
        assert_eq!(bitmap(&[16], 2), vec![0, 0]);
    }

    #[test]
    fn oversized_requests_are_rejected() {
        assert!(vcpus_limits(VCPUINFO_MAX as i32 + 1, 1).is_err());
        assert!(vcpus_limits(16_384, 1_000).is_err());
        assert_eq!(vcpus_limits(2, 1).ok(), Some((2, 1)));
        assert_eq!(vcpus_limits(-1, 1).ok(), Some((0, 1)));
    }

    #[test]
    fn no_job_is_type_none() {
        assert_eq!(job_info(None).type_, job_type::NONE);
        let running = job_info(Some(JobProgress {
            elapsed_ms: 5,
            ..JobProgress::default()
        }));
        assert_eq!(
            (running.type_, running.time_elapsed),
            (job_type::UNBOUNDED, 5)
        );
    }
}
