//! The `daemon` hook script, the one hook that belongs to no driver: called
//! as `daemon - start - start` before the sockets are set up,
//! `daemon - reload begin SIGHUP` on SIGHUP and `daemon - shutdown - shutdown`
//! after the main loop ends. The driver hooks (qemu, lxc, network) are
//! called by the drivers through [`crate::context::Daemon::hooks`].

use std::time::Duration;

use hooks::{HookDriver, HookError, Hooks};

use crate::config::Settings;
use crate::paths::Paths;

/// `hook_timeout` as the hooks crate takes it (unset or 0: no limit).
pub fn hook_timeout(settings: &Settings) -> Option<Duration> {
    settings
        .hook_timeout
        .filter(|secs| *secs > 0)
        .map(|secs| Duration::from_secs(secs.into()))
}

/// Looks for the scripts under the hooks directory of `paths`.
pub fn discover(paths: &Paths, settings: &Settings) -> Hooks {
    Hooks::discover(&paths.hooks_dir, hook_timeout(settings))
}

/// Runs the start script. A failure stops start-up (exit status 8); libvirt
/// 9.0 only logs it.
pub fn run_start(hooks: &Hooks) -> Result<(), HookError> {
    hooks
        .run(HookDriver::Daemon, "-", "start", "-", "start", None, false)
        .map(drop)
}

/// Runs the reload script on a blocking thread, so a slow script holds up
/// neither the main loop nor the clients; a failure is only logged (by the
/// hooks crate). Must be called inside the runtime.
pub fn spawn_reload(hooks: &Hooks) {
    let hooks = hooks.clone();
    tokio::task::spawn_blocking(move || {
        let _ = hooks.run(
            HookDriver::Daemon,
            "-",
            "reload",
            "begin",
            "SIGHUP",
            None,
            false,
        );
    });
}

/// Runs the shutdown script; a failure is only logged (by the hooks crate).
pub fn run_shutdown(hooks: &Hooks) {
    let _ = hooks.run(
        HookDriver::Daemon,
        "-",
        "shutdown",
        "-",
        "shutdown",
        None,
        false,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_timeout_zero_and_unset_mean_no_limit() {
        let mut settings = Settings::defaults(true);
        assert_eq!(hook_timeout(&settings), None);
        settings.hook_timeout = Some(0);
        assert_eq!(hook_timeout(&settings), None);
        settings.hook_timeout = Some(12);
        assert_eq!(hook_timeout(&settings), Some(Duration::from_secs(12)));
    }
}
