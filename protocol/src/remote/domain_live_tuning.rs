//! Changing a domain's resources while it runs: vCPU pinning of vCPUs and the
//! emulator, IOThreads.

use super::domain_tuning::Opaque;
use super::limits::{CPUMAPS_MAX, CPUMAP_MAX, DOMAIN_MEMORY_PARAMETERS_MAX};
use super::objects::NonnullDomain;
use crate::typed_param::TypedParam;
use crate::xdr_struct;

pub const IOTHREAD_INFO_MAX: usize = 16_384;
pub const DOMAIN_NUMA_PARAMETERS_MAX: usize = 16;
pub const DOMAIN_BLKIO_PARAMETERS_MAX: usize = 16;

xdr_struct! {
    pub struct DomainPinVcpuArgs {
        pub dom: NonnullDomain,
        pub vcpu: u32,
        pub cpumap: Opaque [CPUMAP_MAX],
    }
}

xdr_struct! {
    pub struct DomainPinVcpuFlagsArgs {
        pub dom: NonnullDomain,
        pub vcpu: u32,
        pub cpumap: Opaque [CPUMAP_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainPinEmulatorArgs {
        pub dom: NonnullDomain,
        pub cpumap: Opaque [CPUMAP_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetEmulatorPinInfoArgs {
        pub dom: NonnullDomain,
        pub maplen: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetEmulatorPinInfoRet {
        pub cpumaps: Opaque [CPUMAPS_MAX],
        pub ret: i32,
    }
}

xdr_struct! {
    pub struct DomainGetIothreadInfoArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_domain_iothread_info`: an IOThread and the host CPUs it may use.
    pub struct DomainIothreadInfo {
        pub iothread_id: u32,
        pub cpumap: Opaque [CPUMAP_MAX],
    }
}

xdr_struct! {
    pub struct DomainGetIothreadInfoRet {
        pub info: Vec<DomainIothreadInfo> [IOTHREAD_INFO_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct DomainAddIothreadArgs {
        pub dom: NonnullDomain,
        pub iothread_id: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainDelIothreadArgs {
        pub dom: NonnullDomain,
        pub iothread_id: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainPinIothreadArgs {
        pub dom: NonnullDomain,
        pub iothreads_id: u32,
        pub cpumap: Opaque [CPUMAP_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    /// `virDomainSetVcpu`: `cpumap` is a vCPU list in text ("1-2,4").
    pub struct DomainSetVcpuArgs {
        pub dom: NonnullDomain,
        pub cpumap: String,
        pub state: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSetMemoryParametersArgs {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_MEMORY_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetMemoryParametersArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetMemoryParametersRet {
        pub params: Vec<TypedParam> [DOMAIN_MEMORY_PARAMETERS_MAX],
        pub nparams: i32,
    }
}

xdr_struct! {
    pub struct DomainSetNumaParametersArgs {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_NUMA_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetNumaParametersArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetNumaParametersRet {
        pub params: Vec<TypedParam> [DOMAIN_NUMA_PARAMETERS_MAX],
        pub nparams: i32,
    }
}

xdr_struct! {
    pub struct DomainSetBlkioParametersArgs {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_BLKIO_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetBlkioParametersArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetBlkioParametersRet {
        pub params: Vec<TypedParam> [DOMAIN_BLKIO_PARAMETERS_MAX],
        pub nparams: i32,
    }
}

/// `REMOTE_DOMAIN_PERF_EVENTS_MAX`.
pub const DOMAIN_PERF_EVENTS_MAX: usize = 64;

xdr_struct! {
    pub struct DomainSetPerfEventsArgs {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_PERF_EVENTS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetPerfEventsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetPerfEventsRet {
        pub params: Vec<TypedParam> [DOMAIN_PERF_EVENTS_MAX],
    }
}
