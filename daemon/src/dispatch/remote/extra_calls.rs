//! Per-disk I/O throttling (`virsh blkdeviotune`), NIC bandwidth (`domiftune`)
//! renaming (`domrename`) and NMI injection (`virsh inject-nmi`). They ask QEMU
//! or tc, or move files, so they run on workers.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::*;

use super::live_tuning::{check_nparams, limited};
use super::tuning::driver_params;
use crate::dispatch::reply::from_driver;

/// An error of the qemu driver with libvirt's text for `code` around `detail`.
fn qemu_error(code: i32, detail: String) -> RemoteError {
    from_driver(drivers::api::DriverError::new(code, domains::QEMU, detail))
}
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
        check_nparams(a.nparams, DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX)?;
        let disk = if a.nparams > 0 {
            a.disk.as_deref()
        } else {
            None
        };
        let params = drv(c.block_iotune(&dom_ref(&a.dom), disk, a.flags))?;
        let (params, nparams) = limited(params, a.nparams, DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX)?;
        Ok(DomainGetBlockIoTuneRet { params, nparams })
    })
}

pub fn inject_nmi(c: &Arc<dyn Connection>, h: &Header, a: DomainInjectNmiArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.inject_nmi(&dom_ref(&a.dom), a.flags)))
}

/// `virsh send-process-signal`; a zero PID is refused before the driver, as
/// libvirt's public API does.
pub fn send_process_signal(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSendProcessSignalArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        if a.pid_value == 0 {
            // virReportInvalidNonZeroArg: the text without the code's prefix.
            let mut err = RemoteError::new(
                codes::INVALID_ARG,
                domains::DOMAIN,
                "pid_value in virDomainSendProcessSignal must not be zero",
            );
            err.str1 = Some("virDomainSendProcessSignal".into());
            err.str2 = Some("pid_value".into());
            return Err(err);
        }
        drv(c.send_process_signal(&dom_ref(&a.dom), a.pid_value, a.signum, a.flags))
    })
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
        check_nparams(a.nparams, DOMAIN_INTERFACE_PARAMETERS_MAX)?;
        let params = drv(c.interface_params(&dom_ref(&a.dom), &a.device, a.flags))?;
        let (params, nparams) = limited(params, a.nparams, DOMAIN_INTERFACE_PARAMETERS_MAX)?;
        Ok(DomainGetInterfaceParametersRet { params, nparams })
    })
}

pub fn rename(c: &Arc<dyn Connection>, h: &Header, a: DomainRenameArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let Some(new_name) = a.new_name else {
            return Err(qemu_error(
                codes::INVALID_ARG,
                "new_name in virDomainRename must not be NULL".to_string(),
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

pub fn core_dump(c: &Arc<dyn Connection>, h: &Header, a: DomainCoreDumpArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.core_dump(&dom_ref(&a.dom), &a.to, 0, a.flags))
    })
}

pub fn core_dump_with_format(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainCoreDumpWithFormatArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.core_dump(&dom_ref(&a.dom), &a.to, a.dumpformat, a.flags))
    })
}

/// `VIR_DOMAIN_SAVE_PARAM_FILE` and `VIR_DOMAIN_SAVE_PARAM_DXML` of a parameter
/// list, checked as libvirt's `virTypedParamsValidate` checks them.
fn save_params(
    params: Vec<protocol::TypedParam>,
) -> Result<(Option<String>, Option<String>), RemoteError> {
    let mut file = None;
    let mut dxml = None;
    for p in params {
        let slot = match p.field.as_str() {
            "file" => &mut file,
            "dxml" => &mut dxml,
            other => {
                return Err(qemu_error(
                    codes::ARGUMENT_UNSUPPORTED,
                    format!("parameter '{other}' not supported"),
                ))
            }
        };
        match p.value {
            protocol::TypedParamValue::String(v) => *slot = Some(v),
            _ => {
                return Err(qemu_error(
                    codes::INVALID_ARG,
                    format!(
                        "invalid type for parameter '{}', expected 'string'",
                        p.field
                    ),
                ))
            }
        }
    }
    Ok((file, dxml))
}

/// Saves to `file`, or without one as a managed save (as libvirt does).
pub fn save_params_call(c: &Arc<dyn Connection>, h: &Header, a: DomainSaveParamsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let (file, dxml) = save_params(a.params)?;
        let dom = dom_ref(&a.dom);
        match (file, dxml) {
            (Some(file), dxml) => drv(c.save(&dom, &file, dxml.as_deref(), a.flags)),
            (None, None) => drv(c.managed_save(&dom, a.flags)),
            (None, Some(_)) => Err(qemu_error(
                codes::OPERATION_UNSUPPORTED,
                "changing the domain XML of a managed save is not supported".to_string(),
            )),
        }
    })
}

pub fn restore_params(c: &Arc<dyn Connection>, h: &Header, a: DomainRestoreParamsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let (file, dxml) = save_params(a.params)?;
        let Some(file) = file else {
            return Err(qemu_error(
                codes::INVALID_ARG,
                "missing the file to restore from".to_string(),
            ));
        };
        drv(c.restore(&file, dxml.as_deref(), a.flags))
    })
}

/// The daemon's bound on a peek, as libvirtd's dispatcher checks it.
fn check_peek_size(size: u32) -> Result<(), RemoteError> {
    if size as usize > DOMAIN_PEEK_BUFFER_MAX {
        return Err(RemoteError::new(
            codes::RPC,
            domains::RPC,
            "size > maximum buffer size".to_string(),
        ));
    }
    Ok(())
}

pub fn block_peek(c: &Arc<dyn Connection>, h: &Header, a: DomainBlockPeekArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        check_peek_size(a.size)?;
        let buffer = drv(c.block_peek(&dom_ref(&a.dom), &a.path, a.offset, a.size, a.flags))?;
        Ok(DomainBlockPeekRet {
            buffer: Opaque(buffer),
        })
    })
}

pub fn memory_peek(c: &Arc<dyn Connection>, h: &Header, a: DomainMemoryPeekArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        check_peek_size(a.size)?;
        let buffer = drv(c.memory_peek(&dom_ref(&a.dom), a.offset, a.size, a.flags))?;
        Ok(DomainMemoryPeekRet {
            buffer: Opaque(buffer),
        })
    })
}

/// nparams 0 asks how many parameters there are; else the first nparams.
pub fn node_get_memory_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: NodeGetMemoryParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        check_nparams(a.nparams, NODE_MEMORY_PARAMETERS_MAX)?;
        let params = drv(c.node_memory_params(a.flags))?;
        let (params, nparams) = limited(params, a.nparams, NODE_MEMORY_PARAMETERS_MAX)?;
        Ok(NodeGetMemoryParametersRet { params, nparams })
    })
}

pub fn node_set_memory_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: NodeSetMemoryParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        drv(c.set_node_memory_params(&params, a.flags))
    })
}

pub fn node_get_free_pages(c: &Arc<dyn Connection>, h: &Header, a: NodeGetFreePagesArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        if (a.pages.len() as u64) * u64::from(a.cell_count)
            > protocol::remote::limits::NODE_MAX_CELLS as u64
        {
            return Err(RemoteError::new(
                codes::RPC,
                domains::RPC,
                "the result won't fit into REMOTE_NODE_MAX_CELLS".to_string(),
            ));
        }
        let counts = drv(c.node_free_pages(&a.pages, a.start_cell, a.cell_count, a.flags))?;
        Ok(NodeGetFreePagesRet { counts })
    })
}

pub fn node_alloc_pages(c: &Arc<dyn Connection>, h: &Header, a: NodeAllocPagesArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let ret = drv(c.node_alloc_pages(
            &a.page_sizes,
            &a.page_counts,
            a.start_cell,
            a.cell_count,
            a.flags,
        ))?;
        Ok(NodeAllocPagesRet { ret })
    })
}

pub fn connect_domain_xml_to_native(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectDomainXmlToNativeArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let native_config = drv(c.domain_xml_to_native(&a.native_format, &a.domain_xml, a.flags))?;
        Ok(ConnectDomainXmlToNativeRet { native_config })
    })
}
