//! Statistics of the test driver, with the made-up values libvirt 9.0's test driver
//! gives: counters derived from the clock, fixed balloon, block size and CPU figures.

use super::connection::TestConnection;
use crate::api::{
    codes, domains, memory_stat as tag, stats_flags, stats_groups, BlockInfo, BlockStats,
    DomainRef, DomainStatistics, DomainStatsRecord, DriverError, DriverResult, InterfaceStats,
    NamedParam, ParamValue, StatsRequest,
};
use crate::domain_xml::{DomainDef, Element};

/// Seconds and microseconds since the epoch, the base of the fake counters.
fn clock() -> (i64, i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_secs() as i64, i64::from(now.subsec_micros()))
}

fn not_running() -> DriverError {
    DriverError::operation_invalid("domain is not running")
}

fn find_disk<'a>(def: &'a DomainDef, path: &str) -> Option<&'a Element> {
    let disks = || def.devices.iter().filter(|d| d.name == "disk");
    disks()
        .find(|d| d.child("target").and_then(|t| t.attr("dev")) == Some(path))
        .or_else(|| {
            disks().find(|d| {
                d.child("source")
                    .and_then(|s| s.attr("file").or_else(|| s.attr("dev")))
                    == Some(path)
            })
        })
}

impl TestConnection {
    /// The definition of a running domain.
    fn running_def(&self, dom: &DomainRef) -> DriverResult<DomainDef> {
        let st = self.lock();
        let obj = st.get(dom)?;
        if !obj.is_active() {
            return Err(not_running());
        }
        Ok(obj.def.clone())
    }
}

impl DomainStatistics for TestConnection {
    fn block_stats(&self, dom: &DomainRef, path: &str) -> DriverResult<BlockStats> {
        let def = self.running_def(dom)?;
        if find_disk(&def, path).is_none() {
            return Err(DriverError::invalid_arg(format!("invalid path: {path}")));
        }
        let (secs, micros) = clock();
        let base = secs * 1_000_000 + micros;
        Ok(BlockStats {
            rd_req: base / 10,
            rd_bytes: base / 20,
            wr_req: base / 30,
            wr_bytes: base / 40,
            errs: secs / 2,
            ..BlockStats::default()
        })
    }

    fn interface_stats(&self, dom: &DomainRef, path: &str) -> DriverResult<InterfaceStats> {
        let def = self.running_def(dom)?;
        let known = def
            .devices
            .iter()
            .filter(|d| d.name == "interface")
            .any(|n| {
                n.child("target").and_then(|t| t.attr("dev")) == Some(path)
                    || n.child("mac")
                        .and_then(|m| m.attr("address"))
                        .is_some_and(|m| m.eq_ignore_ascii_case(path))
            });
        if !known {
            return Err(DriverError::invalid_arg(format!(
                "'{path}' is not a known interface"
            )));
        }
        let (secs, micros) = clock();
        let base = secs * 1_000_000 + micros;
        Ok(InterfaceStats {
            rx_bytes: base / 10,
            rx_packets: base / 100,
            rx_errs: secs,
            rx_drop: secs / 2,
            tx_bytes: base / 20,
            tx_packets: base / 110,
            tx_errs: secs / 3,
            tx_drop: secs / 4,
        })
    }

    fn memory_stats(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<(i32, u64)>> {
        super::lifecycle::check_unsupported_flags(flags, 0, "testDomainMemoryStats")?;
        self.running_def(dom)?;
        Ok(vec![
            (tag::ACTUAL_BALLOON, 2_097_152),
            (tag::SWAP_IN, 0),
            (tag::SWAP_OUT, 0),
            (tag::MAJOR_FAULT, 0),
            (tag::MINOR_FAULT, 0),
            (tag::UNUSED, 1_048_576),
            (tag::AVAILABLE, 2_097_152),
            (tag::USABLE, 1_048_576),
            (tag::LAST_UPDATE, 627_319_920),
            (tag::DISK_CACHES, 262_144),
            (tag::HUGETLB_PGALLOC, 0),
            (tag::HUGETLB_PGFAIL, 0),
            (tag::RSS, 1_048_576),
        ])
    }

    fn block_info(&self, dom: &DomainRef, path: &str, flags: u32) -> DriverResult<BlockInfo> {
        super::lifecycle::check_unsupported_flags(flags, 0, "testDomainGetBlockInfo")?;
        let def = self.lock().get(dom)?.def.clone();
        if find_disk(&def, path).is_none() {
            return Err(DriverError::invalid_arg(format!(
                "invalid path {path} not assigned to domain"
            )));
        }
        Ok(BlockInfo {
            capacity: 1_099_506_450_432,
            allocation: 1_099_511_627_776,
            physical: 1_099_511_627_776,
        })
    }

    /// Every disk reports an unspecified error, as in libvirt's test driver.
    fn disk_errors(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<(String, i32)>> {
        super::lifecycle::check_unsupported_flags(flags, 0, "testDomainGetDiskErrors")?;
        let def = self.running_def(dom)?;
        Ok(def
            .devices
            .iter()
            .filter(|d| d.name == "disk")
            .filter_map(|d| d.child("target").and_then(|t| t.attr("dev")))
            .map(|dev| (dev.to_string(), 1))
            .collect())
    }

    fn cpu_stats(
        &self,
        dom: &DomainRef,
        cpus: Option<(u32, u32)>,
        flags: u32,
    ) -> DriverResult<Vec<Vec<NamedParam>>> {
        super::lifecycle::check_unsupported_flags(flags, 1 << 2, "testDomainGetCPUStats")?;
        self.running_def(dom)?;
        let ull = |name: &str, v: u64| NamedParam::new(name, ParamValue::ULLong(v));
        Ok(match cpus {
            None => vec![vec![
                ull("cpu_time", 48_772_617_035),
                ull("user_time", 5_540_000_000),
                ull("system_time", 6_460_000_000),
            ]],
            Some((_, 0)) => vec![Vec::new(); 2],
            Some((start, count)) => (start..start.saturating_add(count).min(2))
                .map(|cpu| {
                    vec![
                        ull("cpu_time", 24_386_308_517 + u64::from(cpu)),
                        ull("vcpu_time", 23_151_740_627 + u64::from(cpu)),
                    ]
                })
                .collect(),
        })
    }

    /// Only the state group, as in libvirt's test driver.
    fn all_domain_stats(&self, request: &StatsRequest) -> DriverResult<Vec<DomainStatsRecord>> {
        let unsupported = request.groups & !stats_groups::STATE;
        if unsupported != 0 && request.flags & stats_flags::ENFORCE_STATS != 0 {
            return Err(DriverError::new(
                codes::ARGUMENT_UNSUPPORTED,
                domains::TEST,
                format!("Stats types bits 0x{unsupported:x} are not supported by this daemon"),
            ));
        }
        let want_state = request.groups == 0 || request.groups & stats_groups::STATE != 0;
        let st = self.lock();
        let handles = match &request.domains {
            Some(list) => list
                .iter()
                .map(|d| st.get(d).map(|o| o.handle()))
                .collect::<DriverResult<Vec<_>>>()?,
            None => st.list_all(request.flags & stats_flags::FILTERS)?,
        };
        handles
            .into_iter()
            .map(|handle| {
                let obj = st.get(&DomainRef::from(&handle))?;
                let params = if want_state {
                    vec![
                        NamedParam::new("state.state", ParamValue::Int(i32::from(obj.state))),
                        NamedParam::new("state.reason", ParamValue::Int(obj.reason)),
                    ]
                } else {
                    Vec::new()
                };
                Ok(DomainStatsRecord {
                    domain: handle,
                    params,
                })
            })
            .collect()
    }

    fn node_cpu_stats(&self, _cpu: Option<u32>, flags: u32) -> DriverResult<Vec<(String, u64)>> {
        super::lifecycle::check_unsupported_flags(flags, 0, "testNodeGetCPUStats")?;
        Ok(vec![
            ("kernel".to_string(), 34_678_723_400_000),
            ("user".to_string(), 9_797_400_000),
            ("idle".to_string(), 87_264_900_000),
            ("iowait".to_string(), 763_600_000),
        ])
    }
}
