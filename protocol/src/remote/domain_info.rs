//! Domain getters: state, XML, settings, security labels, messages.

use super::limits::{DOMAIN_MESSAGES_MAX, SECURITY_LABEL_LIST_MAX, SECURITY_LABEL_MAX};
use super::objects::NonnullDomain;
use super::CharArray;
use crate::xdr::{Decoder, Xdr, XdrError};
use crate::xdr_struct;

xdr_struct! {
    pub struct DomainGetInfoArgs {
        pub dom: NonnullDomain,
    }
}

/// DOMAIN_GET_INFO reply. `state` (C `unsigned char`) and `nr_virt_cpu`
/// (C `unsigned short`) each take a full 4-byte word on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainGetInfoRet {
    pub state: u8,
    /// KiB.
    pub max_mem: u64,
    /// KiB.
    pub memory: u64,
    pub nr_virt_cpu: u16,
    /// Nanoseconds.
    pub cpu_time: u64,
}

impl Xdr for DomainGetInfoRet {
    fn encode(&self, out: &mut Vec<u8>) {
        u32::from(self.state).encode(out);
        self.max_mem.encode(out);
        self.memory.encode(out);
        u32::from(self.nr_virt_cpu).encode(out);
        self.cpu_time.encode(out);
    }

    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(DomainGetInfoRet {
            state: d.uchar()?,
            max_mem: d.u64()?,
            memory: d.u64()?,
            nr_virt_cpu: d.ushort()?,
            cpu_time: d.u64()?,
        })
    }
}

xdr_struct! {
    pub struct DomainGetStateArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetStateRet {
        pub state: i32,
        pub reason: i32,
    }
}

xdr_struct! {
    pub struct DomainGetXmlDescArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetXmlDescRet {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct DomainGetAutostartArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainGetAutostartRet {
        pub autostart: i32,
    }
}

xdr_struct! {
    pub struct DomainIsActiveArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainIsActiveRet {
        pub active: i32,
    }
}

xdr_struct! {
    pub struct DomainIsPersistentArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainIsPersistentRet {
        pub persistent: i32,
    }
}

xdr_struct! {
    pub struct DomainIsUpdatedArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainIsUpdatedRet {
        pub updated: i32,
    }
}

xdr_struct! {
    pub struct DomainGetOsTypeArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainGetOsTypeRet {
        pub type_: String,
    }
}

xdr_struct! {
    pub struct DomainGetMaxMemoryArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainGetMaxMemoryRet {
        /// KiB.
        pub memory: u64,
    }
}

xdr_struct! {
    pub struct DomainGetMaxVcpusArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainGetMaxVcpusRet {
        pub num: i32,
    }
}

xdr_struct! {
    pub struct DomainGetVcpusFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetVcpusFlagsRet {
        pub num: i32,
    }
}

xdr_struct! {
    pub struct DomainSnapshotNumArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSnapshotNumRet {
        pub num: i32,
    }
}

xdr_struct! {
    pub struct DomainGetMessagesArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetMessagesRet {
        pub msgs: Vec<String> [DOMAIN_MESSAGES_MAX],
    }
}

xdr_struct! {
    pub struct DomainGetMetadataArgs {
        pub dom: NonnullDomain,
        pub type_: i32,
        pub uri: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetMetadataRet {
        pub metadata: String,
    }
}

xdr_struct! {
    pub struct DomainGetHostnameArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetHostnameRet {
        pub hostname: String,
    }
}

xdr_struct! {
    pub struct DomainGetSecurityLabelArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    /// A security label; `label` includes the trailing NUL.
    pub struct DomainGetSecurityLabelRet {
        pub label: CharArray [SECURITY_LABEL_MAX],
        pub enforcing: i32,
    }
}

xdr_struct! {
    pub struct DomainGetSecurityLabelListArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainGetSecurityLabelListRet {
        pub labels: Vec<DomainGetSecurityLabelRet> [SECURITY_LABEL_LIST_MAX],
        pub ret: i32,
    }
}

xdr_struct! {
    pub struct DomainGetControlInfoArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    /// `state`, `details` and `stateTime` (milliseconds) of virDomainControlInfo.
    pub struct DomainGetControlInfoRet {
        pub state: u32,
        pub details: u32,
        pub state_time: u64,
    }
}
