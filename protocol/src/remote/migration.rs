//! Live migration, version 3 with typed parameters (`virDomainMigrate*3Params`),
//! and the migration tunables (speed, downtime) and job abort.

use super::domain_tuning::Opaque;
use super::limits::*;
use super::objects::NonnullDomain;
use crate::typed_param::TypedParam;
use crate::xdr_struct;

xdr_struct! {
    pub struct DomainMigrateBegin3ParamsArgs {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_MIGRATE_PARAM_LIST_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMigrateBegin3ParamsRet {
        pub cookie_out: Opaque [MIGRATE_COOKIE_MAX],
        pub xml: String,
    }
}

xdr_struct! {
    pub struct DomainMigratePrepare3ParamsArgs {
        pub params: Vec<TypedParam> [DOMAIN_MIGRATE_PARAM_LIST_MAX],
        pub cookie_in: Opaque [MIGRATE_COOKIE_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMigratePrepare3ParamsRet {
        pub cookie_out: Opaque [MIGRATE_COOKIE_MAX],
        pub uri_out: Option<String>,
    }
}

xdr_struct! {
    pub struct DomainMigratePerform3ParamsArgs {
        pub dom: NonnullDomain,
        pub dconnuri: Option<String>,
        pub params: Vec<TypedParam> [DOMAIN_MIGRATE_PARAM_LIST_MAX],
        pub cookie_in: Opaque [MIGRATE_COOKIE_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMigratePerform3ParamsRet {
        pub cookie_out: Opaque [MIGRATE_COOKIE_MAX],
    }
}

xdr_struct! {
    pub struct DomainMigrateFinish3ParamsArgs {
        pub params: Vec<TypedParam> [DOMAIN_MIGRATE_PARAM_LIST_MAX],
        pub cookie_in: Opaque [MIGRATE_COOKIE_MAX],
        pub flags: u32,
        pub cancelled: i32,
    }
}

xdr_struct! {
    pub struct DomainMigrateFinish3ParamsRet {
        pub dom: NonnullDomain,
        pub cookie_out: Opaque [MIGRATE_COOKIE_MAX],
    }
}

xdr_struct! {
    pub struct DomainMigrateConfirm3ParamsArgs {
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_MIGRATE_PARAM_LIST_MAX],
        pub cookie_in: Opaque [MIGRATE_COOKIE_MAX],
        pub flags: u32,
        pub cancelled: i32,
    }
}

xdr_struct! {
    pub struct DomainMigrateSetMaxSpeedArgs {
        pub dom: NonnullDomain,
        pub bandwidth: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMigrateGetMaxSpeedArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMigrateGetMaxSpeedRet {
        pub bandwidth: u64,
    }
}

xdr_struct! {
    pub struct DomainMigrateSetMaxDowntimeArgs {
        pub dom: NonnullDomain,
        pub downtime: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMigrateGetMaxDowntimeArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMigrateGetMaxDowntimeRet {
        pub downtime: u64,
    }
}

xdr_struct! {
    pub struct DomainAbortJobArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainAbortJobFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}
