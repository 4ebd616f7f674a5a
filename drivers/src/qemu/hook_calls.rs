//! The qemu hook script (`/etc/libvirt/hooks/qemu` and `qemu.d/`) at libvirt's points of
//! a guest's life: prepare, start, started, stopped, release, reconnect. Whether a
//! failure aborts the operation is the hooks crate's table, not decided here.

use hooks::{aborts_on_failure, HookDriver, HookError, Hooks};

pub use crate::domain_list::hook_error;
use crate::domain_xml::{DomainDef, FormatOptions};

/// Runs the qemu hook for `op`; `Err` only when the failure must abort the operation
/// (other failures are logged by the hooks crate and otherwise ignored).
pub fn run_qemu_hook(
    hooks: Option<&Hooks>,
    def: &DomainDef,
    op: &str,
    subop: &str,
) -> Result<(), HookError> {
    let Some(hooks) = hooks else {
        return Ok(());
    };
    if !hooks.present(HookDriver::Qemu) {
        return Ok(());
    }
    let xml = def.to_xml(FormatOptions {
        id: None,
        secure: true,
    });
    match hooks.run(
        HookDriver::Qemu,
        &def.name,
        op,
        subop,
        "-",
        Some(&xml),
        false,
    ) {
        Ok(_) => Ok(()),
        Err(err) if aborts_on_failure(HookDriver::Qemu, op) => Err(err),
        Err(_) => Ok(()),
    }
}
