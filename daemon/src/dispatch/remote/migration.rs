//! Live migration (`virDomainMigrate*3Params`), its tunables and job abort.
//! The phases that wait on QEMU (prepare starts a guest, perform sends one,
//! finish and confirm stop or resume one) run on worker threads.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::remote::*;

use super::tuning::driver_params;
use super::{dom_ref, drv, inline, job, wire_dom, Action};

pub fn begin(c: &Arc<dyn Connection>, h: &Header, a: DomainMigrateBegin3ParamsArgs) -> Action {
    inline(h, || {
        let params = driver_params(a.params)?;
        let step = drv(c.migrate_begin(&dom_ref(&a.dom), &params, a.flags))?;
        Ok(DomainMigrateBegin3ParamsRet {
            cookie_out: Opaque(step.cookie),
            xml: step.text.unwrap_or_default(),
        })
    })
}

pub fn prepare(c: &Arc<dyn Connection>, h: &Header, a: DomainMigratePrepare3ParamsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        let step = drv(c.migrate_prepare(&params, &a.cookie_in.0, a.flags))?;
        Ok(DomainMigratePrepare3ParamsRet {
            cookie_out: Opaque(step.cookie),
            uri_out: step.text,
        })
    })
}

pub fn perform(c: &Arc<dyn Connection>, h: &Header, a: DomainMigratePerform3ParamsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        if a.flags & drivers::api::migrate_flags::PEER2PEER != 0 {
            return super::migration_p2p::perform(&c, a);
        }
        let params = driver_params(a.params)?;
        let step = drv(c.migrate_perform(
            &dom_ref(&a.dom),
            a.dconnuri.as_deref(),
            &params,
            &a.cookie_in.0,
            a.flags,
        ))?;
        Ok(DomainMigratePerform3ParamsRet {
            cookie_out: Opaque(step.cookie),
        })
    })
}

pub fn finish(c: &Arc<dyn Connection>, h: &Header, a: DomainMigrateFinish3ParamsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        let (dom, cookie) =
            drv(c.migrate_finish(&params, &a.cookie_in.0, a.flags, a.cancelled != 0))?;
        Ok(DomainMigrateFinish3ParamsRet {
            dom: wire_dom(dom),
            cookie_out: Opaque(cookie),
        })
    })
}

pub fn confirm(c: &Arc<dyn Connection>, h: &Header, a: DomainMigrateConfirm3ParamsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        drv(c.migrate_confirm(
            &dom_ref(&a.dom),
            &params,
            &a.cookie_in.0,
            a.flags,
            a.cancelled != 0,
        ))
    })
}

pub fn set_max_speed(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainMigrateSetMaxSpeedArgs,
) -> Action {
    inline(h, || {
        drv(c.migrate_set_max_speed(&dom_ref(&a.dom), a.bandwidth, a.flags))
    })
}

pub fn get_max_speed(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainMigrateGetMaxSpeedArgs,
) -> Action {
    inline(h, || {
        drv(c.migrate_get_max_speed(&dom_ref(&a.dom), a.flags))
            .map(|bandwidth| DomainMigrateGetMaxSpeedRet { bandwidth })
    })
}

pub fn set_max_downtime(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainMigrateSetMaxDowntimeArgs,
) -> Action {
    inline(h, || {
        drv(c.migrate_set_max_downtime(&dom_ref(&a.dom), a.downtime, a.flags))
    })
}

pub fn get_max_downtime(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainMigrateGetMaxDowntimeArgs,
) -> Action {
    inline(h, || {
        drv(c.migrate_get_max_downtime(&dom_ref(&a.dom), a.flags))
            .map(|downtime| DomainMigrateGetMaxDowntimeRet { downtime })
    })
}

pub fn get_compression_cache(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainMigrateGetCompressionCacheArgs,
) -> Action {
    inline(h, || {
        drv(c.migrate_get_compression_cache(&dom_ref(&a.dom), a.flags))
            .map(|cache_size| DomainMigrateGetCompressionCacheRet { cache_size })
    })
}

pub fn set_compression_cache(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainMigrateSetCompressionCacheArgs,
) -> Action {
    inline(h, || {
        drv(c.migrate_set_compression_cache(&dom_ref(&a.dom), a.cache_size, a.flags))
    })
}

pub fn abort_job(c: &Arc<dyn Connection>, h: &Header, a: DomainAbortJobArgs) -> Action {
    inline(h, || drv(c.abort_job(&dom_ref(&a.dom), None)))
}

pub fn start_postcopy(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainMigrateStartPostCopyArgs,
) -> Action {
    inline(h, || {
        drv(c.migrate_start_postcopy(&dom_ref(&a.dom), a.flags))
    })
}

pub fn abort_job_flags(c: &Arc<dyn Connection>, h: &Header, a: DomainAbortJobFlagsArgs) -> Action {
    inline(h, || drv(c.abort_job(&dom_ref(&a.dom), Some(a.flags))))
}
