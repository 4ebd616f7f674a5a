//! CPU sets: libvirt's text form ("0-2,5") and thread affinity (`sched_setaffinity`).

use crate::api::{codes, domains, DriverError, DriverResult};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// "0-2,5" for [0, 1, 2, 5].
pub fn cpuset_text(cpus: &[u32]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// The CPUs of a cpuset text; `None` when it is not one.
pub fn parse_cpuset(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if b < a || b - a > 65_536 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// Lets thread `tid` run on `cpus` only.
pub fn set_thread_affinity(tid: i32, cpus: &[u32]) -> DriverResult<()> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        // A CPU beyond the set's size is left out.
        let _ = set.set(cpu as usize);
    }
    sched_setaffinity(Pid::from_raw(tid), &set).map_err(|e| {
        DriverError::new(
            codes::SYSTEM_ERROR,
            domains::QEMU,
            format!(
                "cannot set CPU affinity on process {tid}: {}",
                std::io::Error::from(e)
            ),
        )
    })
}

/// The CPUs thread `tid` may run on.
pub fn thread_affinity(tid: i32) -> Option<Vec<u32>> {
    let set = sched_getaffinity(Pid::from_raw(tid)).ok()?;
    Some(
        (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .map(|c| c as u32)
            .collect(),
    )
}

/// Threads of process `pid`.
pub fn threads_of(pid: i32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Refuses CPUs the host does not have online.
pub fn check_host_cpus(cpus: &[u32]) -> DriverResult<()> {
    let online = crate::qemu::vcpus::host_cpu_map().online;
    if cpus.is_empty() {
        return Err(DriverError::invalid_arg("Empty cpu list for pinning"));
    }
    if let Some(bad) = cpus.iter().find(|c| !online.contains(c)) {
        return Err(DriverError::invalid_arg(format!(
            "Invalid cpuset text: CPU {bad} is not online on the host"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpusets_round_trip() {
        assert_eq!(cpuset_text(&[5, 0, 1, 2]), "0-2,5");
        assert_eq!(parse_cpuset("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(parse_cpuset("3-1"), None);
        assert_eq!(parse_cpuset("x"), None);
    }
}
