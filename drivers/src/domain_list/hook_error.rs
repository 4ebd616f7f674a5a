//! The error a client sees when a hook script refuses an operation.

use hooks::HookError;

use crate::api::DriverError;

/// `VIR_ERR_HOOK_SCRIPT_FAILED`.
const HOOK_SCRIPT_FAILED: i32 = 70;
/// `VIR_FROM_HOOK`.
const FROM_HOOK: i32 = 34;
/// libvirt's format of the error; the hook error's text already carries it.
const PREFIX: &str = "Hook script execution failed: ";

/// libvirt's code and domain, with the script's failure (its stderr included)
/// as the detail, so virsh prints what the script said.
pub fn hook_error(err: &HookError) -> DriverError {
    let message = err.to_string();
    let detail = message.strip_prefix(PREFIX).unwrap_or(&message).to_string();
    DriverError {
        code: HOOK_SCRIPT_FAILED,
        domain: FROM_HOOK,
        message: format!("{PREFIX}{detail}"),
        str1: Some(format!("{PREFIX}%s")),
        str2: Some(detail),
        int1: -1,
        int2: -1,
    }
}
