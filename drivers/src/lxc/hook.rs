//! The `lxc` hook script at libvirt's points of a container's life: prepare, start,
//! started, stopped, release and reconnect. Scripts run in the calling thread, which may
//! block; a failing script aborts only the operations libvirt aborts.

use hooks::{aborts_on_failure, HookDriver};

use super::Inner;
use crate::api::DriverError;
use crate::domain_list::hook_error;

/// Runs the scripts for `op`; an error is returned only when the failure aborts `op`.
pub fn run_hook(
    inner: &Inner,
    name: &str,
    op: &str,
    subop: &str,
    xml: &str,
) -> Result<(), DriverError> {
    let Some(hooks) = inner.hooks.as_ref() else {
        return Ok(());
    };
    match hooks.run(HookDriver::Lxc, name, op, subop, "-", Some(xml), false) {
        Ok(_) => Ok(()),
        Err(e) if aborts_on_failure(HookDriver::Lxc, op) => Err(hook_error(&e)),
        Err(_) => Ok(()),
    }
}
