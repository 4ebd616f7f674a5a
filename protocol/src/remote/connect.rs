//! Connection-level procedures: authentication, open, features, host
//! identity, capabilities and domain listings.

use super::limits::{
    AUTH_TYPE_LIST_MAX, CONNECT_CPU_MODELS_MAX, CPU_BASELINE_MAX, DOMAIN_LIST_MAX,
};
use super::objects::NonnullDomain;
use crate::xdr_struct;

/// Values of the AUTH_LIST reply.
pub mod auth_type {
    pub const NONE: i32 = 0;
    pub const SASL: i32 = 1;
    pub const POLKIT: i32 = 2;
}

xdr_struct! {
    /// AUTH_LIST reply: the authentication schemes the socket requires.
    pub struct AuthListRet {
        pub types: Vec<i32> [AUTH_TYPE_LIST_MAX],
    }
}

xdr_struct! {
    pub struct AuthPolkitRet {
        pub complete: i32,
    }
}

xdr_struct! {
    /// CONNECT_OPEN: `name` may be absent or empty (server picks a driver).
    pub struct ConnectOpenArgs {
        pub name: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectSupportsFeatureArgs {
        pub feature: i32,
    }
}

xdr_struct! {
    pub struct ConnectSupportsFeatureRet {
        pub supported: i32,
    }
}

xdr_struct! {
    pub struct ConnectGetTypeRet {
        pub type_: String,
    }
}

xdr_struct! {
    pub struct ConnectGetVersionRet {
        pub hv_ver: u64,
    }
}

xdr_struct! {
    pub struct ConnectGetLibVersionRet {
        pub lib_ver: u64,
    }
}

xdr_struct! {
    pub struct ConnectGetHostnameRet {
        pub hostname: String,
    }
}

xdr_struct! {
    pub struct ConnectGetUriRet {
        pub uri: String,
    }
}

xdr_struct! {
    pub struct ConnectGetSysinfoArgs {
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectGetSysinfoRet {
        pub sysinfo: String,
    }
}

xdr_struct! {
    pub struct ConnectGetCapabilitiesRet {
        pub capabilities: String,
    }
}

xdr_struct! {
    pub struct ConnectGetMaxVcpusArgs {
        pub type_: Option<String>,
    }
}

xdr_struct! {
    pub struct ConnectGetMaxVcpusRet {
        pub max_vcpus: i32,
    }
}

xdr_struct! {
    pub struct ConnectIsSecureRet {
        pub secure: i32,
    }
}

xdr_struct! {
    pub struct ConnectGetDomainCapabilitiesArgs {
        pub emulatorbin: Option<String>,
        pub arch: Option<String>,
        pub machine: Option<String>,
        pub virttype: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectGetDomainCapabilitiesRet {
        pub capabilities: String,
    }
}

xdr_struct! {
    pub struct ConnectListDomainsArgs {
        pub maxids: i32,
    }
}

xdr_struct! {
    pub struct ConnectListDomainsRet {
        pub ids: Vec<i32> [DOMAIN_LIST_MAX],
    }
}

xdr_struct! {
    pub struct ConnectNumOfDomainsRet {
        pub num: i32,
    }
}

xdr_struct! {
    pub struct ConnectListDefinedDomainsArgs {
        pub maxnames: i32,
    }
}

xdr_struct! {
    pub struct ConnectListDefinedDomainsRet {
        pub names: Vec<String> [DOMAIN_LIST_MAX],
    }
}

xdr_struct! {
    pub struct ConnectNumOfDefinedDomainsRet {
        pub num: i32,
    }
}

xdr_struct! {
    /// CONNECT_LIST_ALL_DOMAINS; `flags` are VIR_CONNECT_LIST_DOMAINS_* bits.
    pub struct ConnectListAllDomainsArgs {
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectListAllDomainsRet {
        pub domains: Vec<NonnullDomain> [DOMAIN_LIST_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct ConnectGetCpuModelNamesArgs {
        pub arch: String,
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectGetCpuModelNamesRet {
        pub models: Vec<String> [CONNECT_CPU_MODELS_MAX],
        pub ret: i32,
    }
}

xdr_struct! {
    pub struct ConnectCompareCpuArgs {
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectCompareCpuRet {
        pub result: i32,
    }
}

xdr_struct! {
    pub struct ConnectBaselineCpuArgs {
        pub xml_cpus: Vec<String> [CPU_BASELINE_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectBaselineCpuRet {
        pub cpu: String,
    }
}

xdr_struct! {
    pub struct ConnectCompareHypervisorCpuArgs {
        pub emulator: Option<String>,
        pub arch: Option<String>,
        pub machine: Option<String>,
        pub virttype: Option<String>,
        pub xml_cpu: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectBaselineHypervisorCpuArgs {
        pub emulator: Option<String>,
        pub arch: Option<String>,
        pub machine: Option<String>,
        pub virttype: Option<String>,
        pub xml_cpus: Vec<String> [CPU_BASELINE_MAX],
        pub flags: u32,
    }
}
