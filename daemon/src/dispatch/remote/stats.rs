//! Domain and host statistics (`virsh domblkstat`, `domifstat`, `dommemstat`,
//! `domblkinfo`, `domblkerror`, `cpu-stats`, `domstats`, `nodecpustats`,
//! `nodememstats`). Calls that ask QEMU run on workers.

use std::sync::Arc;

use drivers::api::{BlockStats, Connection, NamedParam, StatsRequest};
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::limits::{NODE_CPU_STATS_MAX, NODE_MEMORY_STATS_MAX};
use protocol::remote::*;
use protocol::TypedParam;

use super::tuning::wire_param;
use super::{dom_ref, drv, job, wire_dom, Action};

pub fn domain_block_stats(c: &Arc<dyn Connection>, h: &Header, a: DomainBlockStatsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let s = drv(c.block_stats(&dom_ref(&a.dom), &a.path))?;
        Ok(DomainBlockStatsRet {
            rd_req: s.rd_req,
            rd_bytes: s.rd_bytes,
            wr_req: s.wr_req,
            wr_bytes: s.wr_bytes,
            errs: s.errs,
        })
    })
}

/// The counters as `virDomainBlockStatsFlags` names them, in libvirt's order.
fn block_params(s: &BlockStats) -> Vec<NamedParam> {
    use drivers::api::ParamValue::LLong;
    [
        ("wr_bytes", s.wr_bytes),
        ("wr_operations", s.wr_req),
        ("rd_bytes", s.rd_bytes),
        ("rd_operations", s.rd_req),
        ("flush_operations", s.flush_req),
        ("wr_total_times", s.wr_total_times),
        ("rd_total_times", s.rd_total_times),
        ("flush_total_times", s.flush_total_times),
    ]
    .into_iter()
    .map(|(name, value)| NamedParam::new(name, LLong(value)))
    .collect()
}

pub fn domain_block_stats_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainBlockStatsFlagsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        if a.nparams > DOMAIN_BLOCK_STATS_PARAMETERS_MAX as i32 {
            return Err(rpc_limit("nparams too large"));
        }
        let stats = drv(c.block_stats_flags(&dom_ref(&a.dom), &a.path))?;
        let params = block_params(&stats);
        // nparams 0 asks how many there are.
        if a.nparams <= 0 {
            return Ok(DomainBlockStatsFlagsRet {
                params: Vec::new(),
                nparams: params.len() as i32,
            });
        }
        let params: Vec<TypedParam> = params
            .into_iter()
            .take(a.nparams as usize)
            .map(wire_param)
            .collect();
        Ok(DomainBlockStatsFlagsRet {
            nparams: params.len() as i32,
            params,
        })
    })
}

pub fn domain_interface_stats(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainInterfaceStatsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let s = drv(c.interface_stats(&dom_ref(&a.dom), &a.path))?;
        Ok(DomainInterfaceStatsRet {
            rx_bytes: s.rx_bytes,
            rx_packets: s.rx_packets,
            rx_errs: s.rx_errs,
            rx_drop: s.rx_drop,
            tx_bytes: s.tx_bytes,
            tx_packets: s.tx_packets,
            tx_errs: s.tx_errs,
            tx_drop: s.tx_drop,
        })
    })
}

pub fn domain_memory_stats(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainMemoryStatsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        if a.max_stats as usize > DOMAIN_MEMORY_STATS_MAX {
            return Err(rpc_limit("maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX"));
        }
        let stats = drv(c.memory_stats(&dom_ref(&a.dom), a.flags))?;
        Ok(DomainMemoryStatsRet {
            stats: stats
                .into_iter()
                .take(a.max_stats as usize)
                .map(|(tag, val)| DomainMemoryStat { tag, val })
                .collect(),
        })
    })
}

pub fn domain_set_memory_stats_period(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetMemoryStatsPeriodArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_memory_stats_period(&dom_ref(&a.dom), a.period, a.flags))
    })
}

pub fn domain_get_block_info(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetBlockInfoArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let info = drv(c.block_info(&dom_ref(&a.dom), &a.path, a.flags))?;
        Ok(DomainGetBlockInfoRet {
            allocation: info.allocation,
            capacity: info.capacity,
            physical: info.physical,
        })
    })
}

pub fn domain_get_disk_errors(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetDiskErrorsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        if a.maxerrors as usize > DOMAIN_DISK_ERRORS_MAX {
            return Err(rpc_limit("maxerrors too large"));
        }
        let errors = drv(c.disk_errors(&dom_ref(&a.dom), a.flags))?;
        // maxerrors 0 asks how many entries a full answer could have: one per disk,
        // which the driver reports as the length of a no-error list.
        if a.maxerrors == 0 {
            return Ok(DomainGetDiskErrorsRet {
                nerrors: errors.len() as i32,
                errors: Vec::new(),
            });
        }
        let errors: Vec<DomainDiskError> = errors
            .into_iter()
            .filter(|(_, error)| *error != 0)
            .take(a.maxerrors as usize)
            .map(|(disk, error)| DomainDiskError { disk, error })
            .collect();
        Ok(DomainGetDiskErrorsRet {
            nerrors: errors.len() as i32,
            errors,
        })
    })
}

pub fn domain_get_cpu_stats(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetCpuStatsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        if (a.nparams as usize).saturating_mul(a.ncpus as usize) > DOMAIN_GET_CPU_STATS_MAX {
            return Err(rpc_limit(
                "nparams * ncpus > REMOTE_DOMAIN_GET_CPU_STATS_MAX",
            ));
        }
        let dom = dom_ref(&a.dom);
        // No parameters and no CPUs: how many CPUs a per-CPU answer covers.
        if a.nparams == 0 && a.ncpus == 0 && a.start_cpu >= 0 {
            let rows = drv(c.cpu_stats(&dom, Some((a.start_cpu as u32, 0)), a.flags))?;
            return Ok(DomainGetCpuStatsRet {
                params: Vec::new(),
                nparams: rows.len() as i32,
            });
        }
        let cpus = u32::try_from(a.start_cpu)
            .ok()
            .map(|start| (start, a.ncpus));
        let rows = drv(c.cpu_stats(&dom, cpus, a.flags))?;
        let per_row = rows.first().map(Vec::len).unwrap_or(0);
        if a.nparams == 0 {
            return Ok(DomainGetCpuStatsRet {
                params: Vec::new(),
                nparams: per_row as i32,
            });
        }
        let wanted = (a.nparams as usize).min(per_row);
        let params = rows
            .into_iter()
            .flat_map(|row| row.into_iter().take(wanted))
            .map(wire_param)
            .collect();
        Ok(DomainGetCpuStatsRet {
            params,
            nparams: wanted as i32,
        })
    })
}

pub fn connect_get_all_domain_stats(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectGetAllDomainStatsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let request = StatsRequest {
            domains: if a.doms.is_empty() {
                None
            } else {
                Some(a.doms.iter().map(dom_ref).collect())
            },
            groups: a.stats,
            flags: a.flags,
        };
        let records = drv(c.all_domain_stats(&request))?;
        Ok(ConnectGetAllDomainStatsRet {
            ret_stats: records
                .into_iter()
                .map(|r| DomainStatsRecord {
                    dom: wire_dom(r.domain),
                    params: r
                        .params
                        .into_iter()
                        .take(CONNECT_GET_ALL_DOMAIN_STATS_MAX)
                        .map(wire_param)
                        .collect(),
                })
                .collect(),
        })
    })
}

pub fn node_get_cpu_stats(c: &Arc<dyn Connection>, h: &Header, a: NodeGetCpuStatsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        if a.nparams > NODE_CPU_STATS_MAX as i32 {
            return Err(rpc_limit("nparams too large"));
        }
        let cpu = u32::try_from(a.cpu_num).ok();
        let fields = drv(c.node_cpu_stats(cpu, a.flags))?;
        let (params, nparams) = node_stats_reply(fields, a.nparams);
        Ok(NodeGetCpuStatsRet { params, nparams })
    })
}

pub fn node_get_memory_stats(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: NodeGetMemoryStatsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        if a.nparams > NODE_MEMORY_STATS_MAX as i32 {
            return Err(rpc_limit("nparams too large"));
        }
        let cell = u32::try_from(a.cell_num).ok();
        let fields = drv(c.node_memory_stats(cell, a.flags))?;
        let (params, nparams) = node_stats_reply(fields, a.nparams);
        Ok(NodeGetMemoryStatsRet { params, nparams })
    })
}

/// nparams 0 asks how many fields there are; otherwise the first nparams of them.
fn node_stats_reply(fields: Vec<(String, u64)>, nparams: i32) -> (Vec<NodeStatsEntry>, i32) {
    if nparams <= 0 {
        return (Vec::new(), fields.len() as i32);
    }
    let params: Vec<NodeStatsEntry> = fields
        .into_iter()
        .take(nparams as usize)
        .map(|(field, value)| NodeStatsEntry { field, value })
        .collect();
    let n = params.len() as i32;
    (params, n)
}

fn rpc_limit(what: &str) -> RemoteError {
    RemoteError::new(codes::RPC, domains::RPC, what.to_string())
}
