//! Statistics of domains: block and interface counters, balloon statistics, block
//! sizes and errors, CPU accounting and the bulk `virConnectGetAllDomainStats`.

use super::limits::DOMAIN_LIST_MAX;
use super::objects::NonnullDomain;
use crate::typed_param::TypedParam;
use crate::xdr_struct;

pub const DOMAIN_BLOCK_STATS_PARAMETERS_MAX: usize = 16;
pub const DOMAIN_MEMORY_STATS_MAX: usize = 1_024;
pub const DOMAIN_DISK_ERRORS_MAX: usize = 256;
pub const DOMAIN_GET_CPU_STATS_MAX: usize = 2_048;
/// Typed parameters per domain in one bulk statistics record (libvirt 9.0).
pub const CONNECT_GET_ALL_DOMAIN_STATS_MAX: usize = 4_096;

xdr_struct! {
    pub struct DomainBlockStatsArgs {
        pub dom: NonnullDomain,
        pub path: String,
    }
}

xdr_struct! {
    pub struct DomainBlockStatsRet {
        pub rd_req: i64,
        pub rd_bytes: i64,
        pub wr_req: i64,
        pub wr_bytes: i64,
        pub errs: i64,
    }
}

xdr_struct! {
    pub struct DomainBlockStatsFlagsArgs {
        pub dom: NonnullDomain,
        pub path: String,
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainBlockStatsFlagsRet {
        pub params: Vec<TypedParam> [DOMAIN_BLOCK_STATS_PARAMETERS_MAX],
        pub nparams: i32,
    }
}

xdr_struct! {
    pub struct DomainInterfaceStatsArgs {
        pub dom: NonnullDomain,
        pub path: String,
    }
}

xdr_struct! {
    pub struct DomainInterfaceStatsRet {
        pub rx_bytes: i64,
        pub rx_packets: i64,
        pub rx_errs: i64,
        pub rx_drop: i64,
        pub tx_bytes: i64,
        pub tx_packets: i64,
        pub tx_errs: i64,
        pub tx_drop: i64,
    }
}

xdr_struct! {
    pub struct DomainMemoryStatsArgs {
        pub dom: NonnullDomain,
        pub max_stats: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_domain_memory_stat`: a `VIR_DOMAIN_MEMORY_STAT_*` tag and its value.
    pub struct DomainMemoryStat {
        pub tag: i32,
        pub val: u64,
    }
}

xdr_struct! {
    pub struct DomainMemoryStatsRet {
        pub stats: Vec<DomainMemoryStat> [DOMAIN_MEMORY_STATS_MAX],
    }
}

xdr_struct! {
    pub struct DomainSetMemoryStatsPeriodArgs {
        pub dom: NonnullDomain,
        pub period: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetBlockInfoArgs {
        pub dom: NonnullDomain,
        pub path: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetBlockInfoRet {
        pub allocation: u64,
        pub capacity: u64,
        pub physical: u64,
    }
}

xdr_struct! {
    pub struct DomainGetDiskErrorsArgs {
        pub dom: NonnullDomain,
        pub maxerrors: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_domain_disk_error`: a disk target and its `VIR_DOMAIN_DISK_ERROR_*`.
    pub struct DomainDiskError {
        pub disk: String,
        pub error: i32,
    }
}

xdr_struct! {
    pub struct DomainGetDiskErrorsRet {
        pub errors: Vec<DomainDiskError> [DOMAIN_DISK_ERRORS_MAX],
        pub nerrors: i32,
    }
}

xdr_struct! {
    pub struct DomainGetCpuStatsArgs {
        pub dom: NonnullDomain,
        pub nparams: u32,
        pub start_cpu: i32,
        pub ncpus: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetCpuStatsRet {
        pub params: Vec<TypedParam> [DOMAIN_GET_CPU_STATS_MAX],
        pub nparams: i32,
    }
}

xdr_struct! {
    /// `remote_domain_stats_record`: one domain and its statistics.
    pub struct DomainStatsRecord {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [CONNECT_GET_ALL_DOMAIN_STATS_MAX],
    }
}

xdr_struct! {
    pub struct ConnectGetAllDomainStatsArgs {
        pub doms: Vec<NonnullDomain> [DOMAIN_LIST_MAX],
        pub stats: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectGetAllDomainStatsRet {
        pub ret_stats: Vec<DomainStatsRecord> [DOMAIN_LIST_MAX],
    }
}
