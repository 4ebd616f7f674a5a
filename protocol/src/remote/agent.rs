//! Calls answered through the guest agent: guest clock, filesystem freeze and
//! information, guest vCPUs, user passwords, guest information and the agent's
//! response timeout.

use super::objects::NonnullDomain;
use crate::typed_param::TypedParam;
use crate::xdr_struct;

pub const DOMAIN_FSFREEZE_MOUNTPOINTS_MAX: usize = 256;
pub const DOMAIN_FSINFO_MAX: usize = 256;
pub const DOMAIN_FSINFO_DISKS_MAX: usize = 256;
pub const DOMAIN_GUEST_VCPU_PARAMS_MAX: usize = 64;
pub const DOMAIN_GUEST_INFO_PARAMS_MAX: usize = 2_048;

xdr_struct! {
    pub struct DomainGetTimeArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetTimeRet {
        pub seconds: i64,
        pub nseconds: u32,
    }
}

xdr_struct! {
    pub struct DomainSetTimeArgs {
        pub dom: NonnullDomain,
        pub seconds: i64,
        pub nseconds: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainFsfreezeArgs {
        pub dom: NonnullDomain,
        pub mountpoints: Vec<String> [DOMAIN_FSFREEZE_MOUNTPOINTS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainFsfreezeRet {
        pub filesystems: i32,
    }
}

xdr_struct! {
    pub struct DomainFsthawArgs {
        pub dom: NonnullDomain,
        pub mountpoints: Vec<String> [DOMAIN_FSFREEZE_MOUNTPOINTS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainFsthawRet {
        pub filesystems: i32,
    }
}

xdr_struct! {
    pub struct DomainFsinfo {
        pub mountpoint: String,
        pub name: String,
        pub fstype: String,
        pub dev_aliases: Vec<String> [DOMAIN_FSINFO_DISKS_MAX],
    }
}

xdr_struct! {
    pub struct DomainGetFsinfoArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetFsinfoRet {
        pub info: Vec<DomainFsinfo> [DOMAIN_FSINFO_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct DomainSetUserPasswordArgs {
        pub dom: NonnullDomain,
        pub user: Option<String>,
        pub password: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetGuestVcpusArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetGuestVcpusRet {
        pub params: Vec<TypedParam> [DOMAIN_GUEST_VCPU_PARAMS_MAX],
    }
}

xdr_struct! {
    pub struct DomainSetGuestVcpusArgs {
        pub dom: NonnullDomain,
        pub cpumap: String,
        pub state: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetGuestInfoArgs {
        pub dom: NonnullDomain,
        pub types: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainGetGuestInfoRet {
        pub params: Vec<TypedParam> [DOMAIN_GUEST_INFO_PARAMS_MAX],
    }
}

xdr_struct! {
    pub struct DomainAgentSetResponseTimeoutArgs {
        pub dom: NonnullDomain,
        pub timeout: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainAgentSetResponseTimeoutRet {
        pub result: i32,
    }
}

pub const DOMAIN_AUTHORIZED_SSH_KEYS_MAX: usize = 2_048;

xdr_struct! {
    pub struct DomainFstrimArgs {
        pub dom: NonnullDomain,
        pub mount_point: Option<String>,
        pub minimum: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainAuthorizedSshKeysGetArgs {
        pub dom: NonnullDomain,
        pub user: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainAuthorizedSshKeysGetRet {
        pub keys: Vec<String> [DOMAIN_AUTHORIZED_SSH_KEYS_MAX],
    }
}

xdr_struct! {
    pub struct DomainAuthorizedSshKeysSetArgs {
        pub dom: NonnullDomain,
        pub user: String,
        pub keys: Vec<String> [DOMAIN_AUTHORIZED_SSH_KEYS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainPmSuspendForDurationArgs {
        pub dom: NonnullDomain,
        pub target: u32,
        pub duration: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainPmWakeupArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}
