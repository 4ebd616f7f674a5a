//! Block device I/O throttling (`virsh blkdeviotune`), NIC bandwidth
//! (`domiftune`), renaming and NMI injection.

use super::domain_tuning::Opaque;
use super::limits::NODE_MAX_CELLS;
use super::objects::NonnullDomain;
use crate::typed_param::TypedParam;
use crate::xdr_struct;

/// `REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX`.
pub const DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX: usize = 32;

xdr_struct! {
    pub struct DomainSetBlockIoTuneArgs {
        pub dom: NonnullDomain,
        pub disk: String,
        pub params: Vec<TypedParam> [DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetBlockIoTuneArgs {
        pub dom: NonnullDomain,
        pub disk: Option<String>,
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetBlockIoTuneRet {
        pub params: Vec<TypedParam> [DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX],
        pub nparams: i32,
    }
}

xdr_struct! {
    /// `virsh send-process-signal`: a process of the guest (by its PID as the
    /// guest sees it) and a `virDomainProcessSignal` number.
    pub struct DomainSendProcessSignalArgs {
        pub dom: NonnullDomain,
        pub pid_value: i64,
        pub signum: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainInjectNmiArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

/// `REMOTE_DOMAIN_INTERFACE_PARAMETERS_MAX`.
pub const DOMAIN_INTERFACE_PARAMETERS_MAX: usize = 16;

xdr_struct! {
    pub struct DomainSetInterfaceParametersArgs {
        pub dom: NonnullDomain,
        pub device: String,
        pub params: Vec<TypedParam> [DOMAIN_INTERFACE_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetInterfaceParametersArgs {
        pub dom: NonnullDomain,
        pub device: String,
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetInterfaceParametersRet {
        pub params: Vec<TypedParam> [DOMAIN_INTERFACE_PARAMETERS_MAX],
        pub nparams: i32,
    }
}

xdr_struct! {
    pub struct DomainRenameArgs {
        pub dom: NonnullDomain,
        pub new_name: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainRenameRet {
        pub retcode: i32,
    }
}

xdr_struct! {
    pub struct DomainSetLifecycleActionArgs {
        pub dom: NonnullDomain,
        pub type_: u32,
        pub action: u32,
        pub flags: u32,
    }
}

/// `REMOTE_DOMAIN_IOTHREAD_PARAMS_MAX`.
pub const DOMAIN_IOTHREAD_PARAMS_MAX: usize = 64;

xdr_struct! {
    pub struct DomainSetIothreadParamsArgs {
        pub dom: NonnullDomain,
        pub iothread_id: u32,
        pub params: Vec<TypedParam> [DOMAIN_IOTHREAD_PARAMS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainStartDirtyRateCalcArgs {
        pub dom: NonnullDomain,
        pub seconds: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainCoreDumpArgs {
        pub dom: NonnullDomain,
        pub to: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainCoreDumpWithFormatArgs {
        pub dom: NonnullDomain,
        pub to: String,
        pub dumpformat: u32,
        pub flags: u32,
    }
}

/// `REMOTE_DOMAIN_SAVE_PARAMS_MAX`.
pub const DOMAIN_SAVE_PARAMS_MAX: usize = 64;

xdr_struct! {
    pub struct DomainSaveParamsArgs {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_SAVE_PARAMS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainRestoreParamsArgs {
        pub params: Vec<TypedParam> [DOMAIN_SAVE_PARAMS_MAX],
        pub flags: u32,
    }
}

/// `REMOTE_DOMAIN_BLOCK_PEEK_BUFFER_MAX` and `REMOTE_DOMAIN_MEMORY_PEEK_BUFFER_MAX`.
pub const DOMAIN_PEEK_BUFFER_MAX: usize = 4_194_304;

xdr_struct! {
    pub struct DomainBlockPeekArgs {
        pub dom: NonnullDomain,
        pub path: String,
        pub offset: u64,
        pub size: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainBlockPeekRet {
        pub buffer: Opaque [DOMAIN_PEEK_BUFFER_MAX],
    }
}

xdr_struct! {
    pub struct DomainMemoryPeekArgs {
        pub dom: NonnullDomain,
        pub offset: u64,
        pub size: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMemoryPeekRet {
        pub buffer: Opaque [DOMAIN_PEEK_BUFFER_MAX],
    }
}

/// `REMOTE_NODE_MEMORY_PARAMETERS_MAX`.
pub const NODE_MEMORY_PARAMETERS_MAX: usize = 64;

xdr_struct! {
    pub struct NodeGetMemoryParametersArgs {
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeGetMemoryParametersRet {
        pub params: Vec<TypedParam> [NODE_MEMORY_PARAMETERS_MAX],
        pub nparams: i32,
    }
}

xdr_struct! {
    pub struct NodeSetMemoryParametersArgs {
        pub params: Vec<TypedParam> [NODE_MEMORY_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeGetFreePagesArgs {
        pub pages: Vec<u32> [NODE_MAX_CELLS],
        pub start_cell: i32,
        pub cell_count: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeGetFreePagesRet {
        pub counts: Vec<u64> [NODE_MAX_CELLS],
    }
}

xdr_struct! {
    pub struct NodeAllocPagesArgs {
        pub page_sizes: Vec<u32> [NODE_MAX_CELLS],
        pub page_counts: Vec<u64> [NODE_MAX_CELLS],
        pub start_cell: i32,
        pub cell_count: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeAllocPagesRet {
        pub ret: i32,
    }
}

xdr_struct! {
    pub struct ConnectDomainXmlToNativeArgs {
        pub native_format: String,
        pub domain_xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectDomainXmlToNativeRet {
        pub native_config: String,
    }
}
