//! Virtual CPUs, scheduler and job progress of a domain, and the host CPU map that
//! `virsh vcpuinfo` asks for first.

use super::limits::{
    CPUMAPS_MAX, CPUMAP_MAX, DOMAIN_JOB_STATS_MAX, DOMAIN_SCHEDULER_PARAMETERS_MAX, VCPUINFO_MAX,
};
use super::objects::NonnullDomain;
use crate::typed_param::TypedParam;
use crate::xdr::{put_opaque_var, Decoder, XdrBounded, XdrError};
use crate::xdr_struct;

/// Variable-length `opaque x<N>` data: a length word, the bytes, zero padding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opaque(pub Vec<u8>);

impl XdrBounded for Opaque {
    fn encode_bounded(&self, out: &mut Vec<u8>) {
        put_opaque_var(out, &self.0);
    }

    fn decode_bounded(d: &mut Decoder<'_>, max: usize) -> Result<Self, XdrError> {
        d.opaque_var(max).map(Opaque)
    }
}

xdr_struct! {
    /// `remote_vcpu_info`: one virtual CPU as `virDomainGetVcpus` reports it.
    pub struct VcpuInfo {
        pub number: u32,
        /// `VIR_VCPU_OFFLINE` 0, `VIR_VCPU_RUNNING` 1, `VIR_VCPU_BLOCKED` 2.
        pub state: i32,
        /// Nanoseconds.
        pub cpu_time: u64,
        /// The host CPU it last ran on, -1 when unknown.
        pub cpu: i32,
    }
}

xdr_struct! {
    pub struct DomainGetVcpusArgs {
        pub dom: NonnullDomain,
        pub maxinfo: i32,
        /// Bytes per CPU map in the reply; 0 asks for no maps.
        pub maplen: i32,
    }
}

xdr_struct! {
    pub struct DomainGetVcpusRet {
        pub info: Vec<VcpuInfo> [VCPUINFO_MAX],
        /// `maplen` bytes per entry of `info`, one bit per host CPU.
        pub cpumaps: Opaque [CPUMAPS_MAX],
    }
}

xdr_struct! {
    pub struct DomainGetVcpuPinInfoArgs {
        pub dom: NonnullDomain,
        pub ncpumaps: i32,
        pub maplen: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetVcpuPinInfoRet {
        pub cpumaps: Opaque [CPUMAPS_MAX],
        pub num: i32,
    }
}

xdr_struct! {
    pub struct NodeGetCpuMapArgs {
        pub need_map: i32,
        pub need_online: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeGetCpuMapRet {
        /// Online CPUs, one bit each; empty unless asked for.
        pub cpumap: Opaque [CPUMAP_MAX],
        pub online: u32,
        /// Number of CPUs the host has (present or not online).
        pub ret: i32,
    }
}

xdr_struct! {
    pub struct DomainGetSchedulerTypeArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainGetSchedulerTypeRet {
        pub type_: String,
        pub nparams: i32,
    }
}

xdr_struct! {
    pub struct DomainGetSchedulerParametersArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
    }
}

xdr_struct! {
    pub struct DomainGetSchedulerParametersRet {
        pub params: Vec<TypedParam> [DOMAIN_SCHEDULER_PARAMETERS_MAX],
    }
}

xdr_struct! {
    pub struct DomainSetSchedulerParametersArgs {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_SCHEDULER_PARAMETERS_MAX],
    }
}

xdr_struct! {
    pub struct DomainSetSchedulerParametersFlagsArgs {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_SCHEDULER_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetSchedulerParametersFlagsArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetJobInfoArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    /// `virDomainJobInfo`; times in milliseconds, sizes in bytes.
    pub struct DomainGetJobInfoRet {
        pub type_: i32,
        pub time_elapsed: u64,
        pub time_remaining: u64,
        pub data_total: u64,
        pub data_processed: u64,
        pub data_remaining: u64,
        pub mem_total: u64,
        pub mem_processed: u64,
        pub mem_remaining: u64,
        pub file_total: u64,
        pub file_processed: u64,
        pub file_remaining: u64,
    }
}

xdr_struct! {
    pub struct DomainGetJobStatsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetJobStatsRet {
        pub type_: i32,
        pub params: Vec<TypedParam> [DOMAIN_JOB_STATS_MAX],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::{from_bytes_exact, to_bytes};

    fn dom() -> NonnullDomain {
        NonnullDomain {
            name: "g".into(),
            uuid: [7; 16],
            id: 3,
        }
    }

    #[test]
    fn vcpus_reply_layout_pads_the_maps() {
        let ret = DomainGetVcpusRet {
            info: vec![VcpuInfo {
                number: 0,
                state: 1,
                cpu_time: 5,
                cpu: 2,
            }],
            cpumaps: Opaque(vec![0x0f]),
        };
        let bytes = to_bytes(&ret);
        // count, number, state, cpu_time (8), cpu, map length, one byte + 3 padding
        assert_eq!(bytes.len(), 4 + 4 + 4 + 8 + 4 + 4 + 4);
        assert_eq!(&bytes[24..], &[0, 0, 0, 1, 0x0f, 0, 0, 0]);
        assert_eq!(from_bytes_exact::<DomainGetVcpusRet>(&bytes).unwrap(), ret);
    }

    #[test]
    fn vcpus_args_round_trip() {
        let args = DomainGetVcpusArgs {
            dom: dom(),
            maxinfo: 2,
            maplen: 1,
        };
        let bytes = to_bytes(&args);
        assert_eq!(
            from_bytes_exact::<DomainGetVcpusArgs>(&bytes).unwrap(),
            args
        );
    }

    #[test]
    fn oversized_cpu_map_is_rejected_before_allocation() {
        let bytes = (CPUMAP_MAX as u32 + 1).to_be_bytes();
        assert!(from_bytes_exact::<NodeGetCpuMapRet>(&bytes).is_err());
    }

    #[test]
    fn job_info_is_one_int_and_eleven_hypers() {
        let ret = DomainGetJobInfoRet {
            type_: 2,
            time_elapsed: 10,
            time_remaining: 0,
            data_total: 1,
            data_processed: 2,
            data_remaining: 3,
            mem_total: 1,
            mem_processed: 2,
            mem_remaining: 3,
            file_total: 0,
            file_processed: 0,
            file_remaining: 0,
        };
        let bytes = to_bytes(&ret);
        assert_eq!(bytes.len(), 4 + 11 * 8);
        assert_eq!(
            from_bytes_exact::<DomainGetJobInfoRet>(&bytes).unwrap(),
            ret
        );
    }
}
