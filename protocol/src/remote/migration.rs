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
    pub struct DomainMigratePrepareTunnel3ParamsArgs {
        pub params: Vec<TypedParam> [DOMAIN_MIGRATE_PARAM_LIST_MAX],
        pub cookie_in: Opaque [MIGRATE_COOKIE_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMigratePrepareTunnel3ParamsRet {
        pub cookie_out: Opaque [MIGRATE_COOKIE_MAX],
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
    pub struct DomainMigrateGetCompressionCacheArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainMigrateGetCompressionCacheRet {
        pub cache_size: u64,
    }
}

xdr_struct! {
    pub struct DomainMigrateSetCompressionCacheArgs {
        pub dom: NonnullDomain,
        pub cache_size: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainAbortJobArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainMigrateStartPostCopyArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainAbortJobFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::{from_bytes_exact, to_bytes};

    #[test]
    fn finish_args_layout_and_cookie_limit() {
        let args = DomainMigrateFinish3ParamsArgs {
            params: Vec::new(),
            cookie_in: Opaque(b"abcde".to_vec()),
            flags: 9,
            cancelled: 1,
        };
        let bytes = to_bytes(&args);
        assert_eq!(
            bytes,
            [
                &[0, 0, 0, 0][..],
                &[0, 0, 0, 5],
                b"abcde\0\0\0",
                &[0, 0, 0, 9],
                &[0, 0, 0, 1],
            ]
            .concat()
        );
        assert_eq!(
            from_bytes_exact::<DomainMigrateFinish3ParamsArgs>(&bytes).unwrap(),
            args
        );
        // A cookie longer than libvirt's 4 MiB is refused before allocation.
        let mut huge = vec![0, 0, 0, 0];
        huge.extend_from_slice(&((MIGRATE_COOKIE_MAX as u32) + 1).to_be_bytes());
        assert!(from_bytes_exact::<DomainMigrateFinish3ParamsArgs>(&huge).is_err());
    }

    #[test]
    fn prepare_reply_with_and_without_uri() {
        for uri_out in [None, Some("tcp:h:49152".to_string())] {
            let ret = DomainMigratePrepare3ParamsRet {
                cookie_out: Opaque(vec![1, 2, 3]),
                uri_out,
            };
            let back: DomainMigratePrepare3ParamsRet = from_bytes_exact(&to_bytes(&ret)).unwrap();
            assert_eq!(back, ret);
        }
    }
}
