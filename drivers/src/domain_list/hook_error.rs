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

#[cfg(test)]
mod tests {
    use super::*;
    use hooks::{HookDriver, Hooks};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_refusing_script_gives_libvirts_hook_error_with_its_stderr() {
        let dir = std::env::temp_dir().join(format!("hook-error-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let script = dir.join("lxc");
        std::fs::write(&script, "#!/bin/sh\necho 'not today' >&2\nexit 1\n").expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("mode");
        let hooks = Hooks::discover(&dir, Some(std::time::Duration::from_secs(30)));
        let err = hooks
            .run(
                HookDriver::Lxc,
                "c1",
                "prepare",
                "begin",
                "-",
                Some("<domain/>"),
                false,
            )
            .expect_err("the script refuses");
        let err = hook_error(&err);
        assert_eq!((err.code, err.domain), (HOOK_SCRIPT_FAILED, FROM_HOOK));
        assert!(err.message.starts_with(PREFIX), "{}", err.message);
        assert!(err.message.contains("not today"), "{}", err.message);
        assert_eq!(
            err.str1.as_deref(),
            Some("Hook script execution failed: %s")
        );
        assert_eq!(
            err.str2.as_deref(),
            err.message.strip_prefix(PREFIX),
            "the detail is the message without the format"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
