//! Host CPU and memory statistics (`virsh nodecpustats`, `nodememstats`), read from
//! /proc and /sys the way libvirt's Linux code reads them.

use crate::api::{codes, DriverError, DriverResult};

/// `virNodeGetCPUStats`: kernel, user, idle and iowait time in nanoseconds, of all
/// CPUs (`None`) or of one.
pub fn node_cpu_stats(cpu: Option<u32>, domain: i32) -> DriverResult<Vec<(String, u64)>> {
    let text = std::fs::read_to_string("/proc/stat").map_err(|e| {
        DriverError::new(
            codes::SYSTEM_ERROR,
            domain,
            format!("cannot read /proc/stat: {e}"),
        )
    })?;
    parse_proc_stat(&text, cpu, clock_tick_ns()).ok_or_else(|| {
        DriverError::new(
            codes::INVALID_ARG,
            domain,
            "Invalid cpuNum in virHostCPUGetStatsLinux",
        )
    })
}

fn clock_tick_ns() -> u64 {
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten();
    1_000_000_000
        / hz.and_then(|h| u64::try_from(h).ok())
            .filter(|h| *h > 0)
            .unwrap_or(100)
}

fn parse_proc_stat(text: &str, cpu: Option<u32>, tick_ns: u64) -> Option<Vec<(String, u64)>> {
    let wanted = match cpu {
        None => "cpu".to_string(),
        Some(n) => format!("cpu{n}"),
    };
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(wanted.as_str()))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let field = |i: usize| v.get(i).copied().unwrap_or(0);
    let (user, nice, system, idle, iowait, irq, softirq) = (
        field(0),
        field(1),
        field(2),
        field(3),
        field(4),
        field(5),
        field(6),
    );
    Some(vec![
        ("kernel".into(), (system + irq + softirq) * tick_ns),
        ("user".into(), (user + nice) * tick_ns),
        ("idle".into(), idle * tick_ns),
        ("iowait".into(), iowait * tick_ns),
    ])
}

/// `virNodeGetMemoryStats`: total, free, buffers and cached in KiB for the host
/// (`None`), or total and free of one NUMA cell.
pub fn node_memory_stats(cell: Option<u32>, domain: i32) -> DriverResult<Vec<(String, u64)>> {
    let path = match cell {
        None => "/proc/meminfo".to_string(),
        Some(n) => format!("/sys/devices/system/node/node{n}/meminfo"),
    };
    let text = std::fs::read_to_string(&path).map_err(|_| {
        DriverError::new(
            codes::INVALID_ARG,
            domain,
            format!(
                "cell number {} exceeds the number of cells",
                cell.map(|c| c.to_string()).unwrap_or_default()
            ),
        )
    })?;
    let value = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| {
                // Cell files prefix each line with "Node N ".
                let l = l
                    .trim_start_matches("Node ")
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .trim();
                let rest = l.strip_prefix(key)?.strip_prefix(':')?;
                rest.split_whitespace().next()?.parse().ok()
            })
            .unwrap_or(0)
    };
    let mut fields = vec![
        ("total".to_string(), value("MemTotal")),
        ("free".to_string(), value("MemFree")),
    ];
    if cell.is_none() {
        fields.push(("buffers".to_string(), value("Buffers")));
        fields.push(("cached".to_string(), value("Cached")));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_in_libvirt_fields() {
        let text = "cpu  10 1 5 100 3 1 1 0 0 0\ncpu0 4 0 2 50 1 0 0 0 0 0\n";
        let all = parse_proc_stat(text, None, 10).expect("all cpus");
        assert_eq!(
            all,
            vec![
                ("kernel".to_string(), 70),
                ("user".to_string(), 110),
                ("idle".to_string(), 1000),
                ("iowait".to_string(), 30)
            ]
        );
        assert_eq!(parse_proc_stat(text, Some(0), 1).expect("cpu0")[1].1, 4);
        assert!(parse_proc_stat(text, Some(7), 1).is_none());
    }
}
