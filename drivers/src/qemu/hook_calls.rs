//! The qemu hook script (`/etc/libvirt/hooks/qemu` and `qemu.d/`) at libvirt's points of
//! a guest's life: prepare, start, started, stopped, release, reconnect. Whether a
//! failure aborts the operation is the hooks crate's table, not decided here.

use hooks::{aborts_on_failure, HookDriver, HookError, Hooks};

use crate::api::DriverError;
use crate::domain_xml::{DomainDef, FormatOptions};

/// `VIR_ERR_HOOK_SCRIPT_FAILED`.
const HOOK_SCRIPT_FAILED: i32 = 70;
/// `VIR_FROM_HOOK`.
const FROM_HOOK: i32 = 34;
const PREFIX: &str = "Hook script execution failed: ";

/// The client's error for a failed hook: the script's stderr is part of the text.
pub fn hook_error(err: &HookError) -> DriverError {
    let message = err.to_string();
    let detail = message.strip_prefix(PREFIX).unwrap_or(&message).to_string();
    DriverError {
        code: HOOK_SCRIPT_FAILED,
        domain: FROM_HOOK,
        message,
        str1: Some(format!("{PREFIX}%s")),
        str2: Some(detail),
        int1: -1,
        int2: -1,
    }
}

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
