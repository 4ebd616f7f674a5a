//! CPU time of a guest (`virsh cpu-stats --total`, the `cpu-total` group of
//! `domstats`): from its cgroup when it has one, else from its process.

use crate::api::{codes, domains, DriverError, DriverResult, NamedParam, ParamValue};
use crate::qemu::cgroup::GuestCgroup;

/// Total, user and system CPU time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct CpuTimes {
    pub total: u64,
    pub user: u64,
    pub system: u64,
}

pub(super) fn cpu_times(pid: i32) -> CpuTimes {
    GuestCgroup::of_process(pid)
        .and_then(|group| cgroup_times(&group))
        .unwrap_or_else(|| process_times(pid))
}

fn cgroup_times(group: &GuestCgroup) -> Option<CpuTimes> {
    if group.v2 {
        let text = std::fs::read_to_string(group.path(Some("cpu.stat"))).ok()?;
        let value = |key: &str| -> Option<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        };
        Some(CpuTimes {
            total: value("usage_usec ")? * 1000,
            user: value("user_usec ")? * 1000,
            system: value("system_usec ")? * 1000,
        })
    } else {
        None
    }
}

fn process_times(pid: i32) -> CpuTimes {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return CpuTimes::default();
    };
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let tick = 1_000_000_000 / rustix::param::clock_ticks_per_second().max(1);
    let user = fields.get(11).copied().unwrap_or(0) * tick;
    let system = fields.get(12).copied().unwrap_or(0) * tick;
    CpuTimes {
        total: user + system,
        user,
        system,
    }
}

/// `virDomainGetCPUStats`: the total as one row. Per-CPU usage needs cgroup v1's
/// cpuacct, which cgroup v2 hosts lack: refused there as libvirt refuses it.
pub(super) fn cpu_stats(pid: i32, cpus: Option<(u32, u32)>) -> DriverResult<Vec<Vec<NamedParam>>> {
    if cpus.is_some() {
        return Err(DriverError::new(
            codes::OPERATION_UNSUPPORTED,
            domains::QEMU,
            "operation 'getCpuacctPercpuUsage' not supported for backend 'cgroup V2'",
        ));
    }
    let t = cpu_times(pid);
    Ok(vec![vec![
        NamedParam::new("cpu_time", ParamValue::ULLong(t.total)),
        NamedParam::new("user_time", ParamValue::ULLong(t.user)),
        NamedParam::new("system_time", ParamValue::ULLong(t.system)),
    ]])
}
