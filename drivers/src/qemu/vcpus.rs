//! vCPU details of a running guest (`virsh vcpuinfo`), the host CPU map and the
//! connection's vCPU limit (`virsh maxvcpus`).
//!
//! vCPU threads come from QMP `query-cpus-fast`; their CPU time, last CPU and affinity
//! from `/proc/<pid>/task/<tid>/stat` and `sched_getaffinity`.

use std::sync::Arc;

use super::error::QemuError;
use super::Inner;
use crate::api::{domains, DomainRef, DriverError, DriverResult, HostCpuMap, VcpuDetail};

/// `VIR_VCPU_RUNNING`.
const VCPU_RUNNING: i32 = 1;
/// `VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG`.
pub(super) const AFFECT_LIVE: u32 = 1;
pub(super) const AFFECT_CONFIG: u32 = 2;
/// libvirt's answer for TCG guests (and when no type is named).
const TCG_MAX_VCPUS: i32 = 16;

impl Inner {
    /// `virDomainGetVcpus`: one entry per vCPU (at most `max`) of a running guest.
    pub(super) fn vcpu_details(
        &self,
        dom: &DomainRef,
        max: usize,
    ) -> DriverResult<Vec<VcpuDetail>> {
        let (monitor, vcpus) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let Some(run) = obj.run.as_ref() else {
                return Err(QemuError::InvalidState(
                    "cannot retrieve vcpu information for inactive domain".into(),
                )
                .into());
            };
            (Arc::clone(&run.monitor), obj.def.vcpus())
        };
        let threads = vcpu_threads(&monitor);
        let all_cpus = host_cpu_map().online;
        Ok((0..vcpus)
            .take(max)
            .map(|number| {
                let tid = threads
                    .iter()
                    .find(|(index, _)| *index == number)
                    .map(|(_, tid)| *tid);
                let stat = tid.and_then(thread_stat);
                VcpuDetail {
                    number,
                    state: VCPU_RUNNING,
                    cpu_time_ns: stat.map(|s| s.cpu_time_ns).unwrap_or(0),
                    cpu: stat.map(|s| s.last_cpu).unwrap_or(-1),
                    affinity: tid
                        .and_then(thread_affinity)
                        .unwrap_or_else(|| all_cpus.clone()),
                }
            })
            .collect())
    }

    /// `virDomainGetVcpuPinInfo`: without pinning support every vCPU may use every
    /// online host CPU (for a running guest, what the threads really allow).
    pub(super) fn vcpu_pin_info(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<Vec<u32>>> {
        check_affect_flags(flags, "qemuDomainGetVcpuPinInfo")?;
        let (active, vcpus, def) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let def = if flags & AFFECT_CONFIG != 0 {
                obj.persistent_def().clone()
            } else {
                obj.def.clone()
            };
            (
                obj.is_active() && flags & AFFECT_CONFIG == 0,
                def.vcpus(),
                def,
            )
        };
        if active {
            return Ok(self
                .vcpu_details(dom, vcpus as usize)?
                .into_iter()
                .map(|v| v.affinity)
                .collect());
        }
        // `<cputune><vcpupin>` of the definition, else every online CPU.
        let all = host_cpu_map().online;
        Ok((0..vcpus)
            .map(|v| {
                super::live_tuning::pinning::pinned(&def, "vcpupin", Some(v))
                    .unwrap_or_else(|| all.clone())
            })
            .collect())
    }
}

pub(super) fn check_affect_flags(flags: u32, function: &str) -> DriverResult<()> {
    let allowed = AFFECT_LIVE | AFFECT_CONFIG;
    if flags & !allowed != 0 {
        return Err(DriverError::unsupported_flags(
            domains::QEMU,
            flags & !allowed,
            function,
        ));
    }
    if flags == allowed {
        return Err(DriverError::new(
            crate::api::codes::INVALID_ARG,
            domains::QEMU,
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive"
                .to_string(),
        ));
    }
    Ok(())
}

/// How many vCPUs a guest of hypervisor type `hv_type` may have, as libvirt's qemu
/// driver answers: 16 for "qemu" (TCG) or no type, KVM's own limit for "kvm".
pub(super) fn connect_max_vcpus(hv_type: Option<&str>) -> DriverResult<i32> {
    match hv_type {
        None => Ok(TCG_MAX_VCPUS),
        Some(t) if t.eq_ignore_ascii_case("qemu") => Ok(TCG_MAX_VCPUS),
        Some(t) if t.eq_ignore_ascii_case("kvm") => {
            crate::host::kvm_max_vcpus(std::path::Path::new("/dev/kvm")).map_err(|e| {
                DriverError::new(
                    crate::api::codes::SYSTEM_ERROR,
                    domains::QEMU,
                    format!("Unable to open /dev/kvm: {e}"),
                )
            })
        }
        Some(t) => Err(DriverError::new(
            crate::api::codes::INVALID_ARG,
            domains::QEMU,
            format!("unknown type '{t}'"),
        )),
    }
}

/// (vCPU index, thread id) pairs from QMP; empty when the monitor does not answer.
pub(super) fn vcpu_threads(monitor: &super::qmp::Monitor) -> Vec<(u32, i32)> {
    let Ok(reply) = monitor.execute("query-cpus-fast", None) else {
        return Vec::new();
    };
    reply
        .as_array()
        .map(|cpus| {
            cpus.iter()
                .filter_map(|cpu| {
                    let index = cpu.get("cpu-index")?.as_u64()?;
                    let tid = cpu.get("thread-id")?.as_i64()?;
                    Some((u32::try_from(index).ok()?, i32::try_from(tid).ok()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ThreadStat {
    cpu_time_ns: u64,
    last_cpu: i32,
}

fn thread_stat(tid: i32) -> Option<ThreadStat> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/stat")).ok()?;
    parse_thread_stat(&text, clock_ticks())
}

fn clock_ticks() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

/// utime + stime and the "processor" field of a `stat` line.
fn parse_thread_stat(text: &str, hz: u64) -> Option<ThreadStat> {
    let (_, after_comm) = text.rsplit_once(')')?;
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // After the command name the state is field 3 of stat(5): index 0 here.
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<i64>().ok());
    let ticks = u64::try_from(field(14)? + field(15)?).ok()?;
    Some(ThreadStat {
        cpu_time_ns: ticks.saturating_mul(1_000_000_000 / hz.max(1)),
        last_cpu: i32::try_from(field(39)?).ok()?,
    })
}

fn thread_affinity(tid: i32) -> Option<Vec<u32>> {
    use nix::sched::{sched_getaffinity, CpuSet};
    let set = sched_getaffinity(nix::unistd::Pid::from_raw(tid)).ok()?;
    Some(
        (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .map(|c| c as u32)
            .collect(),
    )
}

/// The host's CPUs from sysfs: the count is the highest present CPU + 1.
pub(super) fn host_cpu_map() -> HostCpuMap {
    let read = |name: &str| std::fs::read_to_string(format!("/sys/devices/system/cpu/{name}")).ok();
    let online = read("online")
        .map(|t| parse_cpu_list(&t))
        .unwrap_or_default();
    let present = read("present")
        .map(|t| parse_cpu_list(&t))
        .unwrap_or_default();
    let online = if online.is_empty() {
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        (0..n as u32).collect()
    } else {
        online
    };
    let cpus = present
        .iter()
        .chain(online.iter())
        .max()
        .map(|m| m + 1)
        .unwrap_or(1);
    HostCpuMap { cpus, online }
}

/// A kernel CPU list ("0-3,8,10-11").
fn parse_cpu_list(text: &str) -> Vec<u32> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let range = match part.split_once('-') {
            Some((a, b)) => a
                .trim()
                .parse::<u32>()
                .ok()
                .zip(b.trim().parse::<u32>().ok()),
            None => part.trim().parse::<u32>().ok().map(|a| (a, a)),
        };
        if let Some((first, last)) = range {
            cpus.extend(first..=last.min(first.saturating_add(65_535)));
        }
    }
    cpus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,8,10-11\n"), vec![0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(parse_cpu_list("0\n"), vec![0]);
        assert!(parse_cpu_list("").is_empty());
    }

    #[test]
    fn thread_stat_fields() {
        // pid (comm with ) paren) state ppid ... utime=14 stime=15 ... processor=39
        let mut fields: Vec<String> = (3..=52).map(|n| n.to_string()).collect();
        fields[14 - 3] = "150".into();
        fields[15 - 3] = "50".into();
        fields[39 - 3] = "1".into();
        let line = format!("42 (CPU 0/TCG) x) {}", fields.join(" "));
        let stat = parse_thread_stat(&line, 100);
        assert_eq!(
            stat,
            Some(ThreadStat {
                cpu_time_ns: 2_000_000_000,
                last_cpu: 1
            })
        );
    }

    #[test]
    fn host_map_counts_online_cpus() {
        let map = host_cpu_map();
        assert!(map.cpus as usize >= map.online.len());
        assert!(!map.online.is_empty());
    }

    #[test]
    fn max_vcpus_follows_the_type() {
        assert_eq!(connect_max_vcpus(None).expect("none"), 16);
        assert_eq!(connect_max_vcpus(Some("QEMU")).expect("qemu"), 16);
        let err = connect_max_vcpus(Some("foo")).unwrap_err();
        assert_eq!(err.code, crate::api::codes::INVALID_ARG);
    }

    #[test]
    fn both_affect_flags_are_refused() {
        let err = check_affect_flags(3, "f").unwrap_err();
        assert_eq!(err.code, crate::api::codes::INVALID_ARG);
        assert!(check_affect_flags(4, "f").is_err());
        assert!(check_affect_flags(2, "f").is_ok());
    }
}
