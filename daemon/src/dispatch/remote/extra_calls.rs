//! Per-disk I/O throttling (`virsh blkdeviotune`), NIC bandwidth (`domiftune`)
//! renaming (`domrename`) and NMI injection (`virsh inject-nmi`). They ask QEMU
//! or tc, or move files, so they run on workers.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::*;

use super::tuning::{driver_params, wire_param};
use super::{dom_ref, drv, job, Action};

pub fn set_block_io_tune(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetBlockIoTuneArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        drv(c.set_block_iotune(&dom_ref(&a.dom), &a.disk, &params, a.flags))
    })
}

/// nparams 0 asks how many parameters there are; else the first nparams.
pub fn get_block_io_tune(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetBlockIoTuneArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        if a.nparams > DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX as i32 {
            return Err(RemoteError::new(
                codes::RPC,
                domains::RPC,
                "nparams too large".to_string(),
            ));
        }
        let disk = if a.nparams > 0 {
            a.disk.as_deref()
        } else {
            None
        };
        let params = drv(c.block_iotune(&dom_ref(&a.dom), disk, a.flags))?;
        if a.nparams <= 0 {
            return Ok(DomainGetBlockIoTuneRet {
                params: Vec::new(),
                nparams: params.len() as i32,
            });
        }
        let params: Vec<_> = params
            .into_iter()
            .take(a.nparams as usize)
            .map(wire_param)
            .collect();
        let nparams = params.len() as i32;
        Ok(DomainGetBlockIoTuneRet { params, nparams })
    })
}

pub fn inject_nmi(c: &Arc<dyn Connection>, h: &Header, a: DomainInjectNmiArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.inject_nmi(&dom_ref(&a.dom), a.flags)))
}

pub fn set_interface_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetInterfaceParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        drv(c.set_interface_params(&dom_ref(&a.dom), &a.device, &params, a.flags))
    })
}

/// nparams 0 asks how many parameters there are; else the first nparams.
pub fn get_interface_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetInterfaceParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        if a.nparams > DOMAIN_INTERFACE_PARAMETERS_MAX as i32 {
            return Err(RemoteError::new(
                codes::RPC,
                domains::RPC,
                "nparams too large".to_string(),
            ));
        }
        let params = drv(c.interface_params(&dom_ref(&a.dom), &a.device, a.flags))?;
        if a.nparams <= 0 {
            return Ok(DomainGetInterfaceParametersRet {
                params: Vec::new(),
                nparams: params.len() as i32,
            });
        }
        let params: Vec<_> = params
            .into_iter()
            .take(a.nparams as usize)
            .map(wire_param)
            .collect();
        let nparams = params.len() as i32;
        Ok(DomainGetInterfaceParametersRet { params, nparams })
    })
}

pub fn rename(c: &Arc<dyn Connection>, h: &Header, a: DomainRenameArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let Some(new_name) = a.new_name else {
            return Err(RemoteError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                "invalid argument: new_name in virDomainRename must not be NULL".to_string(),
            ));
        };
        drv(c.rename(&dom_ref(&a.dom), &new_name, a.flags))?;
        Ok(DomainRenameRet { retcode: 0 })
    })
}

pub fn set_lifecycle_action(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetLifecycleActionArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_lifecycle_action(&dom_ref(&a.dom), a.type_, a.action, a.flags))
    })
}

pub fn set_iothread_params(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetIothreadParamsArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        drv(c.set_iothread_params(&dom_ref(&a.dom), a.iothread_id, &params, a.flags))
    })
}

pub fn start_dirty_rate_calc(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainStartDirtyRateCalcArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.start_dirty_rate_calc(&dom_ref(&a.dom), a.seconds, a.flags))
    })
}
