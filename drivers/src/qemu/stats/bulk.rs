//! `virConnectGetAllDomainStats` / `virDomainListGetStats` (`virsh domstats`): the
//! groups libvirt 9.0's qemu driver fills, with its parameter names.

use std::sync::Arc;

use serde_json::Value;

use super::super::Inner;
use super::{cpu, disks, interfaces, memory};
use crate::api::{
    codes, domains, memory_stat, stats_flags, stats_groups as g, DomainHandle, DomainStatsRecord,
    DriverError, DriverResult, NamedParam, ParamValue, StatsRequest,
};
use crate::domain_list::ListFacts;
use crate::domain_xml::DomainDef;
use crate::qemu::qmp::Monitor;

/// What one domain's record is made from, copied out of the table.
struct Snapshot {
    handle: DomainHandle,
    state: i32,
    reason: i32,
    def: DomainDef,
    live: Option<(Arc<Monitor>, i32)>,
    /// `(event, value)` of the perf counters open on the guest, read with the table
    /// held so that none closes under the read.
    perf: Vec<(&'static str, u64)>,
}

pub(super) fn all_domain_stats(
    inner: &Inner,
    request: &StatsRequest,
) -> DriverResult<Vec<DomainStatsRecord>> {
    let known = stats_flags::FILTERS
        | stats_flags::NOWAIT
        | stats_flags::BACKING
        | stats_flags::ENFORCE_STATS;
    crate::qemu::lifecycle::check_flags(request.flags, known, "qemuConnectGetAllDomainStats")?;
    let unknown = request.groups & !g::ALL;
    if unknown != 0 && request.flags & stats_flags::ENFORCE_STATS != 0 {
        return Err(DriverError::new(
            codes::ARGUMENT_UNSUPPORTED,
            domains::QEMU,
            format!("Stats types bits 0x{unknown:x} are not supported by this daemon"),
        ));
    }
    let groups = match request.groups & g::ALL {
        0 => g::ALL,
        asked => asked,
    };
    let snapshots = snapshots(inner, request, groups)?;
    Ok(snapshots
        .into_iter()
        .map(|snap| DomainStatsRecord {
            params: record(&snap, groups),
            domain: snap.handle,
        })
        .collect())
}

fn snapshots(inner: &Inner, request: &StatsRequest, groups: u32) -> DriverResult<Vec<Snapshot>> {
    let st = inner.lock();
    let handles = match &request.domains {
        Some(list) => list
            .iter()
            .map(|d| st.get(d).map(|o| o.handle()))
            .collect::<DriverResult<Vec<_>>>()?,
        None => st.list_all(request.flags & stats_flags::FILTERS, |_| {
            ListFacts::default()
        }),
    };
    handles
        .into_iter()
        .map(|handle| {
            let obj = st.get(&crate::api::DomainRef::from(&handle))?;
            let perf = match (&obj.run, groups & g::PERF != 0) {
                (Some(run), true) => run.perf.read_all().unwrap_or_else(|e| {
                    tracing::warn!("perf counters of '{}' not read: {e}", obj.def.name);
                    Vec::new()
                }),
                _ => Vec::new(),
            };
            Ok(Snapshot {
                perf,
                state: i32::from(obj.state),
                reason: obj.reason,
                def: obj.def.clone(),
                live: obj
                    .run
                    .as_ref()
                    .map(|r| (Arc::clone(&r.monitor), r.process.pid)),
                handle,
            })
        })
        .collect()
}

/// Collects parameters under a prefix.
struct Params(Vec<NamedParam>);

impl Params {
    fn push(&mut self, name: impl AsRef<str>, value: ParamValue) {
        self.0.push(NamedParam::new(name.as_ref(), value));
    }
    fn ull(&mut self, name: impl AsRef<str>, value: u64) {
        self.push(name, ParamValue::ULLong(value));
    }
    fn uint(&mut self, name: impl AsRef<str>, value: u32) {
        self.push(name, ParamValue::UInt(value));
    }
}

fn record(snap: &Snapshot, groups: u32) -> Vec<NamedParam> {
    let mut p = Params(Vec::new());
    if groups & g::STATE != 0 {
        p.push("state.state", ParamValue::Int(snap.state));
        p.push("state.reason", ParamValue::Int(snap.reason));
    }
    if groups & g::CPU_TOTAL != 0 {
        cpu_group(&mut p, snap);
    }
    if groups & g::BALLOON != 0 {
        balloon_group(&mut p, snap);
    }
    if groups & g::VCPU != 0 {
        vcpu_group(&mut p, snap);
    }
    if groups & g::INTERFACE != 0 {
        interface_group(&mut p, snap);
    }
    if groups & g::BLOCK != 0 {
        block_group(&mut p, snap);
    }
    if groups & g::PERF != 0 {
        for (name, value) in &snap.perf {
            p.ull(format!("perf.{name}"), *value);
        }
    }
    // memory: no resctrl monitors; vm: QEMU reports no VM statistics under TCG.
    if groups & g::IOTHREAD != 0 {
        iothread_group(&mut p, snap);
    }
    if groups & g::DIRTYRATE != 0 {
        dirtyrate_group(&mut p, snap);
    }
    p.0
}

fn cpu_group(p: &mut Params, snap: &Snapshot) {
    let Some((_, pid)) = &snap.live else {
        return;
    };
    let t = cpu::cpu_times(*pid);
    p.ull("cpu.time", t.total);
    p.ull("cpu.user", t.user);
    p.ull("cpu.system", t.system);
    p.uint("cpu.cache.monitor.count", 0);
    p.ull("cpu.haltpoll.success.time", 0);
    p.ull("cpu.haltpoll.fail.time", 0);
}

fn balloon_group(p: &mut Params, snap: &Snapshot) {
    let Some((monitor, pid)) = &snap.live else {
        p.ull("balloon.current", snap.def.current_memory_kib);
        p.ull("balloon.maximum", snap.def.max_memory_kib);
        return;
    };
    let stats = memory::memory_stats(&snap.def, monitor, *pid);
    let current = stats
        .iter()
        .find(|(t, _)| *t == memory_stat::ACTUAL_BALLOON)
        .map(|(_, v)| *v)
        .unwrap_or(snap.def.current_memory_kib);
    p.ull("balloon.current", current);
    p.ull("balloon.maximum", snap.def.max_memory_kib);
    for (tag, value) in stats {
        let name = match tag {
            memory_stat::SWAP_IN => "swap_in",
            memory_stat::SWAP_OUT => "swap_out",
            memory_stat::MAJOR_FAULT => "major_fault",
            memory_stat::MINOR_FAULT => "minor_fault",
            memory_stat::UNUSED => "unused",
            memory_stat::AVAILABLE => "available",
            memory_stat::RSS => "rss",
            memory_stat::LAST_UPDATE => "last-update",
            memory_stat::USABLE => "usable",
            memory_stat::DISK_CACHES => "disk_caches",
            memory_stat::HUGETLB_PGALLOC => "hugetlb_pgalloc",
            memory_stat::HUGETLB_PGFAIL => "hugetlb_pgfail",
            _ => continue,
        };
        p.ull(format!("balloon.{name}"), value);
    }
}

fn vcpu_group(p: &mut Params, snap: &Snapshot) {
    p.uint("vcpu.current", snap.def.vcpu.current);
    p.uint("vcpu.maximum", snap.def.vcpu.max);
    let Some((monitor, _)) = &snap.live else {
        return;
    };
    let threads = crate::qemu::vcpus::vcpu_threads(monitor);
    for n in 0..snap.def.vcpu.current {
        let tid = threads.iter().find(|(i, _)| *i == n).map(|(_, t)| *t);
        let (time, delay) = tid.map(thread_times).unwrap_or((0, 0));
        p.push(format!("vcpu.{n}.state"), ParamValue::Int(1));
        p.ull(format!("vcpu.{n}.time"), time);
        p.ull(format!("vcpu.{n}.wait"), 0);
        p.ull(format!("vcpu.{n}.delay"), delay);
    }
}

/// CPU time (from the thread's stat, in clock ticks as libvirt reads it) and time
/// spent waiting for a host CPU (schedstat), in nanoseconds.
fn thread_times(tid: i32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{tid}/stat")).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let tick = 1_000_000_000 / rustix::param::clock_ticks_per_second().max(1);
    let time = (fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)) * tick;
    let delay = std::fs::read_to_string(format!("/proc/{tid}/schedstat"))
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    (time, delay)
}

fn interface_group(p: &mut Params, snap: &Snapshot) {
    if snap.live.is_none() {
        return;
    }
    let nics: Vec<_> = interfaces::interfaces(&snap.def).collect();
    p.uint("net.count", nics.len() as u32);
    for (n, nic) in nics.iter().enumerate() {
        let Some(ifname) = interfaces::host_ifname(nic) else {
            continue;
        };
        let Some(s) = interfaces::tap_stats(ifname) else {
            continue;
        };
        p.push(
            format!("net.{n}.name"),
            ParamValue::String(ifname.to_string()),
        );
        for (key, value) in [
            ("rx.bytes", s.rx_bytes),
            ("rx.pkts", s.rx_packets),
            ("rx.errs", s.rx_errs),
            ("rx.drop", s.rx_drop),
            ("tx.bytes", s.tx_bytes),
            ("tx.pkts", s.tx_packets),
            ("tx.errs", s.tx_errs),
            ("tx.drop", s.tx_drop),
        ] {
            p.ull(format!("net.{n}.{key}"), u64::try_from(value).unwrap_or(0));
        }
    }
}

fn block_group(p: &mut Params, snap: &Snapshot) {
    let all: Vec<_> = disks::disks(&snap.def).collect();
    p.uint("block.count", all.len() as u32);
    let (stats, sizes) = match &snap.live {
        Some((monitor, _)) => (
            disks::query_blockstats(monitor),
            disks::query_block_sizes(monitor),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let mut backing_index = 0;
    for (n, disk) in all.iter().enumerate() {
        p.push(
            format!("block.{n}.name"),
            ParamValue::String(disks::target(disk).to_string()),
        );
        let source = disks::source_path(disk);
        if let Some(path) = source {
            p.push(
                format!("block.{n}.path"),
                ParamValue::String(path.to_string()),
            );
        }
        let Some(_) = &snap.live else {
            if let Some(path) = source {
                if let Ok(info) = disks::image_info(path, disks::disk_format(disk)) {
                    p.ull(format!("block.{n}.allocation"), info.allocation);
                    p.ull(format!("block.{n}.capacity"), info.capacity);
                    p.ull(format!("block.{n}.physical"), info.physical);
                }
            }
            continue;
        };
        if source.is_none() {
            continue;
        }
        backing_index += 1;
        p.uint(format!("block.{n}.backingIndex"), backing_index);
        let id = disks::drive_id(disk).unwrap_or_default();
        let raw = stats.iter().find(|(d, _)| *d == id).map(|(_, s)| s.clone());
        if let Some(raw) = &raw {
            let c = disks::counters(raw);
            for (key, value) in [
                ("rd.reqs", c.rd_req),
                ("rd.bytes", c.rd_bytes),
                ("rd.times", c.rd_total_times),
                ("wr.reqs", c.wr_req),
                ("wr.bytes", c.wr_bytes),
                ("wr.times", c.wr_total_times),
                ("fl.reqs", c.flush_req),
                ("fl.times", c.flush_total_times),
            ] {
                p.ull(
                    format!("block.{n}.{key}"),
                    u64::try_from(value).unwrap_or(0),
                );
            }
        }
        let highest = raw
            .as_ref()
            .and_then(|r| r.get("wr_highest_offset"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        p.ull(format!("block.{n}.allocation"), highest);
        if let Some((_, virtual_size, actual)) = sizes.iter().find(|(d, _, _)| *d == id) {
            p.ull(format!("block.{n}.capacity"), *virtual_size);
            p.ull(format!("block.{n}.physical"), *actual);
        }
    }
}

/// IOThreads of a running guest and their polling settings (nothing without any).
fn iothread_group(p: &mut Params, snap: &Snapshot) {
    let Some((monitor, _)) = &snap.live else {
        return;
    };
    let Ok(reply) = monitor.execute("query-iothreads", None) else {
        return;
    };
    let threads = reply.as_array().cloned().unwrap_or_default();
    if threads.is_empty() {
        return;
    }
    p.uint("iothread.count", threads.len() as u32);
    for thread in &threads {
        let Some(id) = thread
            .get("id")
            .and_then(Value::as_str)
            .and_then(|i| i.strip_prefix("iothread"))
        else {
            continue;
        };
        let n = |key: &str| thread.get(key).and_then(Value::as_u64).unwrap_or(0);
        p.ull(format!("iothread.{id}.poll-max-ns"), n("poll-max-ns"));
        p.uint(format!("iothread.{id}.poll-grow"), n("poll-grow") as u32);
        p.uint(
            format!("iothread.{id}.poll-shrink"),
            n("poll-shrink") as u32,
        );
    }
}

fn dirtyrate_group(p: &mut Params, snap: &Snapshot) {
    let Some((monitor, _)) = &snap.live else {
        return;
    };
    let Ok(rate) = monitor.execute("query-dirty-rate", None) else {
        return;
    };
    let status = match rate.get("status").and_then(Value::as_str) {
        Some("measuring") => 1,
        Some("measured") => 2,
        _ => 0,
    };
    p.push("dirtyrate.calc_status", ParamValue::Int(status));
    p.push(
        "dirtyrate.calc_start_time",
        ParamValue::LLong(rate.get("start-time").and_then(Value::as_i64).unwrap_or(0)),
    );
    p.push(
        "dirtyrate.calc_period",
        ParamValue::Int(rate.get("calc-time").and_then(Value::as_i64).unwrap_or(0) as i32),
    );
    if status == 2 {
        if let Some(rate) = rate.get("dirty-rate").and_then(Value::as_i64) {
            p.push("dirtyrate.megabytes_per_second", ParamValue::LLong(rate));
        }
    }
    p.push(
        "dirtyrate.calc_mode",
        ParamValue::String(
            rate.get("mode")
                .and_then(Value::as_str)
                .unwrap_or("page-sampling")
                .to_string(),
        ),
    );
}
