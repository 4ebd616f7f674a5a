//! Domain lookup, definition and lifecycle procedures.

use super::objects::NonnullDomain;
use crate::xdr_struct;

xdr_struct! {
    pub struct DomainLookupByNameArgs {
        pub name: String,
    }
}

xdr_struct! {
    pub struct DomainLookupByNameRet {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainLookupByUuidArgs {
        pub uuid: [u8; 16],
    }
}

xdr_struct! {
    pub struct DomainLookupByUuidRet {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainLookupByIdArgs {
        pub id: i32,
    }
}

xdr_struct! {
    pub struct DomainLookupByIdRet {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainDefineXmlArgs {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct DomainDefineXmlRet {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainDefineXmlFlagsArgs {
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainDefineXmlFlagsRet {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainUndefineArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainUndefineFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    /// DOMAIN_CREATE has no reply body: clients look the domain up again.
    pub struct DomainCreateArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainCreateWithFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainCreateWithFlagsRet {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainCreateXmlArgs {
        pub xml_desc: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainCreateXmlRet {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainDestroyArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainDestroyFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSuspendArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainResumeArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainShutdownArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainShutdownFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainRebootArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainResetArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainManagedSaveArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainManagedSaveRemoveArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainHasManagedSaveImageArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainHasManagedSaveImageRet {
        pub result: i32,
    }
}

xdr_struct! {
    pub struct DomainSaveArgs {
        pub dom: NonnullDomain,
        pub to: String,
    }
}

xdr_struct! {
    pub struct DomainSaveFlagsArgs {
        pub dom: NonnullDomain,
        pub to: String,
        pub dxml: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainRestoreArgs {
        pub from: String,
    }
}

xdr_struct! {
    pub struct DomainRestoreFlagsArgs {
        pub from: String,
        pub dxml: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSetAutostartArgs {
        pub dom: NonnullDomain,
        pub autostart: i32,
    }
}

xdr_struct! {
    pub struct DomainSetMemoryArgs {
        pub dom: NonnullDomain,
        /// KiB.
        pub memory: u64,
    }
}

xdr_struct! {
    pub struct DomainSetMaxMemoryArgs {
        pub dom: NonnullDomain,
        /// KiB.
        pub memory: u64,
    }
}

xdr_struct! {
    pub struct DomainSetMemoryFlagsArgs {
        pub dom: NonnullDomain,
        /// KiB.
        pub memory: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSetVcpusArgs {
        pub dom: NonnullDomain,
        pub nvcpus: u32,
    }
}

xdr_struct! {
    pub struct DomainSetVcpusFlagsArgs {
        pub dom: NonnullDomain,
        pub nvcpus: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSetMetadataArgs {
        pub dom: NonnullDomain,
        pub type_: i32,
        pub metadata: Option<String>,
        pub key: Option<String>,
        pub uri: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainAttachDeviceFlagsArgs {
        pub dom: NonnullDomain,
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainDetachDeviceFlagsArgs {
        pub dom: NonnullDomain,
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    /// DOMAIN_FD_ASSOCIATE, sent as CALL_WITH_FDS: the fd count word precedes
    /// these arguments on the wire.
    pub struct DomainFdAssociateArgs {
        pub dom: NonnullDomain,
        pub name: String,
        pub flags: u32,
    }
}
