//! Statistics a driver gives about its domains and the host (`virsh domblkstat`,
//! `domifstat`, `dommemstat`, `domblkinfo`, `domblkerror`, `cpu-stats`, `domstats`,
//! `nodecpustats`, `nodememstats`). Kept apart from [`super::Connection`] so that each
//! driver implements these in files of their own.

use super::{DomainHandle, DomainRef, DriverError, DriverResult, NamedParam};

/// `virDomainBlockStats(Flags)`: counters of one disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockStats {
    /// Error count of the legacy call; -1 when the driver does not count errors.
    pub errs: i64,
    pub rd_req: i64,
    pub rd_bytes: i64,
    pub wr_req: i64,
    pub wr_bytes: i64,
    pub flush_req: i64,
    pub rd_total_times: i64,
    pub wr_total_times: i64,
    pub flush_total_times: i64,
}

/// `virDomainInterfaceStats`, as the guest sees its NIC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    pub rx_bytes: i64,
    pub rx_packets: i64,
    pub rx_errs: i64,
    pub rx_drop: i64,
    pub tx_bytes: i64,
    pub tx_packets: i64,
    pub tx_errs: i64,
    pub tx_drop: i64,
}

/// `virDomainGetBlockInfo`, in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockInfo {
    pub allocation: u64,
    pub capacity: u64,
    pub physical: u64,
}

/// `VIR_DOMAIN_MEMORY_STAT_*` tags.
pub mod memory_stat {
    pub const SWAP_IN: i32 = 0;
    pub const SWAP_OUT: i32 = 1;
    pub const MAJOR_FAULT: i32 = 2;
    pub const MINOR_FAULT: i32 = 3;
    pub const UNUSED: i32 = 4;
    pub const AVAILABLE: i32 = 5;
    pub const ACTUAL_BALLOON: i32 = 6;
    pub const RSS: i32 = 7;
    pub const USABLE: i32 = 8;
    pub const LAST_UPDATE: i32 = 9;
    pub const DISK_CACHES: i32 = 10;
    pub const HUGETLB_PGALLOC: i32 = 11;
    pub const HUGETLB_PGFAIL: i32 = 12;
}

/// `VIR_DOMAIN_STATS_*` groups of `virConnectGetAllDomainStats`.
pub mod stats_groups {
    pub const STATE: u32 = 1 << 0;
    pub const CPU_TOTAL: u32 = 1 << 1;
    pub const BALLOON: u32 = 1 << 2;
    pub const VCPU: u32 = 1 << 3;
    pub const INTERFACE: u32 = 1 << 4;
    pub const BLOCK: u32 = 1 << 5;
    pub const PERF: u32 = 1 << 6;
    pub const IOTHREAD: u32 = 1 << 7;
    pub const MEMORY: u32 = 1 << 8;
    pub const DIRTYRATE: u32 = 1 << 9;
    pub const VM: u32 = 1 << 10;
    /// Every group libvirt 9.0 knows.
    pub const ALL: u32 = (1 << 11) - 1;
}

/// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_*` flags beyond the list filters.
pub mod stats_flags {
    /// The list filters (active, inactive, persistent, transient, running, paused,
    /// shut off, other), as `virConnectListAllDomains` has them.
    pub const FILTERS: u32 = 0xff;
    pub const NOWAIT: u32 = 1 << 29;
    pub const BACKING: u32 = 1 << 30;
    pub const ENFORCE_STATS: u32 = 1 << 31;
}

/// What `virConnectGetAllDomainStats` / `virDomainListGetStats` are asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsRequest {
    /// The domains named by `virDomainListGetStats`; `None` for every domain.
    pub domains: Option<Vec<DomainRef>>,
    /// [`stats_groups`] bits; 0 asks for every group the driver has.
    pub groups: u32,
    pub flags: u32,
}

/// One domain's record of the bulk statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainStatsRecord {
    pub domain: DomainHandle,
    pub params: Vec<NamedParam>,
}

/// The statistics calls; every default answers as a driver lacking them does.
pub trait DomainStatistics {
    fn block_stats(&self, _dom: &DomainRef, _path: &str) -> DriverResult<BlockStats> {
        Err(DriverError::no_support("virDomainBlockStats"))
    }
    /// `virDomainBlockStatsFlags`: the same counters, for drivers that name them
    /// all (clients fall back to the legacy call otherwise).
    fn block_stats_flags(&self, _dom: &DomainRef, _path: &str) -> DriverResult<BlockStats> {
        Err(DriverError::no_support("virDomainBlockStatsFlags"))
    }
    fn interface_stats(&self, _dom: &DomainRef, _path: &str) -> DriverResult<InterfaceStats> {
        Err(DriverError::no_support("virDomainInterfaceStats"))
    }
    /// (tag, value) pairs in the driver's order.
    fn memory_stats(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<(i32, u64)>> {
        Err(DriverError::no_support("virDomainMemoryStats"))
    }
    fn set_memory_stats_period(
        &self,
        _dom: &DomainRef,
        _period: i32,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetMemoryStatsPeriod"))
    }
    fn block_info(&self, _dom: &DomainRef, _path: &str, _flags: u32) -> DriverResult<BlockInfo> {
        Err(DriverError::no_support("virDomainGetBlockInfo"))
    }
    /// (disk target, `VIR_DOMAIN_DISK_ERROR_*`) for each disk in error.
    fn disk_errors(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<(String, i32)>> {
        Err(DriverError::no_support("virDomainGetDiskErrors"))
    }
    /// `virDomainGetCPUStats`: `None` asks for the domain's total, otherwise the
    /// per-CPU parameters of host CPUs `start..start+count`.
    fn cpu_stats(
        &self,
        _dom: &DomainRef,
        _cpus: Option<(u32, u32)>,
        _flags: u32,
    ) -> DriverResult<Vec<Vec<NamedParam>>> {
        Err(DriverError::no_support("virDomainGetCPUStats"))
    }
    fn all_domain_stats(&self, _request: &StatsRequest) -> DriverResult<Vec<DomainStatsRecord>> {
        Err(DriverError::no_support("virConnectGetAllDomainStats"))
    }
    /// `virNodeGetCPUStats`: (field, nanoseconds) for one CPU or, with `None`, all.
    fn node_cpu_stats(&self, _cpu: Option<u32>, _flags: u32) -> DriverResult<Vec<(String, u64)>> {
        Err(DriverError::no_support("virNodeGetCPUStats"))
    }
    /// `virNodeGetMemoryStats`: (field, KiB) for one NUMA cell or, with `None`, all.
    fn node_memory_stats(
        &self,
        _cell: Option<u32>,
        _flags: u32,
    ) -> DriverResult<Vec<(String, u64)>> {
        Err(DriverError::no_support("virNodeGetMemoryStats"))
    }
}
