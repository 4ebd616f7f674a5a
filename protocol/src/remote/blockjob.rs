//! Block device procedures used by `virsh blockresize` and `blockjob`.

use super::objects::NonnullDomain;
use crate::typed_param::TypedParam;
use crate::xdr_struct;

xdr_struct! {
    pub struct DomainBlockResizeArgs {
        pub dom: NonnullDomain,
        pub disk: String,
        pub size: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetBlockJobInfoArgs {
        pub dom: NonnullDomain,
        pub path: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetBlockJobInfoRet {
        pub found: i32,
        pub type_: i32,
        pub bandwidth: u64,
        pub cur: u64,
        pub end: u64,
    }
}

xdr_struct! {
    pub struct DomainBlockCommitArgs {
        pub dom: NonnullDomain,
        pub disk: String,
        pub base: Option<String>,
        pub top: Option<String>,
        pub bandwidth: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Arguments of BLOCK_PULL and BLOCK_JOB_SET_SPEED.
    pub struct DomainBlockJobBandwidthArgs {
        pub dom: NonnullDomain,
        pub path: String,
        pub bandwidth: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainBlockJobAbortArgs {
        pub dom: NonnullDomain,
        pub path: String,
        pub flags: u32,
    }
}

/// `REMOTE_DOMAIN_BLOCK_COPY_PARAMETERS_MAX`.
pub const DOMAIN_BLOCK_COPY_PARAMETERS_MAX: usize = 16;

xdr_struct! {
    pub struct DomainBlockRebaseArgs {
        pub dom: NonnullDomain,
        pub path: String,
        pub base: Option<String>,
        pub bandwidth: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainBlockCopyArgs {
        pub dom: NonnullDomain,
        pub path: String,
        pub destxml: String,
        pub params: Vec<TypedParam> [DOMAIN_BLOCK_COPY_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSetBlockThresholdArgs {
        pub dom: NonnullDomain,
        pub dev: String,
        pub threshold: u64,
        pub flags: u32,
    }
}
