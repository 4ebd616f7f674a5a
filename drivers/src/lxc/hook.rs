//! The `lxc` hook script at libvirt's points of a container's life: prepare, start,
//! started, stopped, release and reconnect. Scripts run in the calling thread, which may
//! block; a failing script aborts only the operations libvirt aborts.

use hooks::{aborts_on_failure, HookDriver};

use super::Inner;
use crate::api::DriverError;

/// `VIR_ERR_HOOK_SCRIPT_FAILED` from `VIR_FROM_HOOK`.
const HOOK_SCRIPT_FAILED: i32 = 70;
const FROM_HOOK: i32 = 34;
const HOOK_FORMAT: &str = "Hook script execution failed: %s";
const HOOK_PREFIX: &str = "Hook script execution failed: ";

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
        Err(e) if aborts_on_failure(HookDriver::Lxc, op) => {
            // The hook error's text already starts with libvirt's prefix.
            let text = e.to_string();
            let detail = text.strip_prefix(HOOK_PREFIX).unwrap_or(&text);
            Err(hook_error(detail))
        }
        Err(_) => Ok(()),
    }
}

fn hook_error(detail: &str) -> DriverError {
    DriverError {
        code: HOOK_SCRIPT_FAILED,
        domain: FROM_HOOK,
        message: HOOK_FORMAT.replacen("%s", detail, 1),
        str1: Some(HOOK_FORMAT.to_string()),
        str2: Some(detail.to_string()),
        int1: -1,
        int2: -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_errors_use_libvirts_code_and_format() {
        let err = hook_error("exit status 1");
        assert_eq!((err.code, err.domain), (70, 34));
        assert_eq!(err.message, "Hook script execution failed: exit status 1");
    }
}
