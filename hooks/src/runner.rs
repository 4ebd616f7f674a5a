//! [`Hooks`]: the daemon-wide handle that knows which scripts exist and runs
//! them in libvirt's order, chaining filter output from one to the next.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tracing::{debug, error};

use crate::driver::HookDriver;
use crate::error::HookError;
use crate::invocation::Invocation;
use crate::locate;
use crate::process;

/// What drivers need from the hooks. A trait so that a driver's tests can
/// record calls instead of running scripts; [`Hooks`] is the real one.
pub trait HookRunner: Send + Sync {
    /// See [`Hooks::present`].
    fn present(&self, driver: HookDriver) -> bool;

    /// See [`Hooks::run`].
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        driver: HookDriver,
        object: &str,
        op: &str,
        subop: &str,
        extra: &str,
        input: Option<&str>,
        filter: bool,
    ) -> Result<Option<String>, HookError>;
}

/// Finds and runs hook scripts; cheap to share (Arc inside), safe from many threads.
#[derive(Clone)]
pub struct Hooks {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// Which drivers had a runnable script at the last scan.
    found: Mutex<[bool; HookDriver::ALL.len()]>,
    timeout: Mutex<Option<Duration>>,
}

/// A poisoned lock only means another thread panicked mid-update of a plain
/// value; the value is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hooks {
    /// `hooks_dir` is `<sysconfdir>/libvirt/hooks` (under `LIBVIRTD_ROOT` in
    /// tests); `timeout` None = wait forever (libvirt), Some(d) = kill the
    /// script's process group after d and fail.
    pub fn discover(hooks_dir: &Path, timeout: Option<Duration>) -> Hooks {
        let hooks = Hooks {
            inner: Arc::new(Inner {
                dir: hooks_dir.to_path_buf(),
                found: Mutex::new([false; HookDriver::ALL.len()]),
                timeout: Mutex::new(timeout),
            }),
        };
        hooks.rescan();
        hooks
    }

    /// Re-scan the directory (SIGHUP), so scripts added or removed since the
    /// start are taken into account without a restart.
    pub fn rescan(&self) {
        let scan = locate::scan(&self.inner.dir);
        *lock(&self.inner.found) = scan.found;
    }

    pub fn set_timeout(&self, timeout: Option<Duration>) {
        *lock(&self.inner.timeout) = timeout;
    }

    pub fn timeout(&self) -> Option<Duration> {
        *lock(&self.inner.timeout)
    }

    /// The directory scripts are looked for in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Whether any script exists for the driver (main script or `<driver>.d/`
    /// entries), as of the last scan. Lets callers skip preparing input
    /// (formatting XML) nobody will read.
    pub fn present(&self, driver: HookDriver) -> bool {
        lock(&self.inner.found)[driver.index()]
    }

    /// The scripts a call for `driver` would run now, in order.
    pub fn scripts(&self, driver: HookDriver) -> Vec<PathBuf> {
        locate::scripts(&self.inner.dir, driver)
    }

    /// Runs the main script then every executable in `<driver>.d/` in
    /// alphabetical order with argv `object op subop extra` ("-" for
    /// empty), `input` on stdin (the XML), clean env, own process group, no
    /// leaked fds. Blocks until the scripts are done: call it from a thread
    /// that may block.
    ///
    /// Returns Ok(None) when no script ran or output is not consumed; for
    /// filter operations (`filter == true`: qemu/libxl migrate and restore)
    /// returns Ok(Some(new_xml)) when a script printed something (each
    /// script's output feeds the next; empty or blank output = unchanged).
    ///
    /// When a script fails the remaining ones still run (each gets the
    /// original input from then on) and the last failure is returned. Every
    /// failure is logged here at error level, so callers of operations that
    /// only log ([`crate::aborts_on_failure`] is false) can ignore the result.
    ///
    /// Like libvirt, the daemon's `shutdown` and `reload` calls re-scan the
    /// directory first, so a daemon script added while running is found.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        driver: HookDriver,
        object: &str,
        op: &str,
        subop: &str,
        extra: &str,
        input: Option<&str>,
        filter: bool,
    ) -> Result<Option<String>, HookError> {
        if driver == HookDriver::Daemon && matches!(op, "shutdown" | "reload") {
            self.rescan();
        }
        if !self.present(driver) {
            return Ok(None);
        }
        let timeout = self.timeout();
        let mut filtered: Option<String> = None;
        let mut last_failure: Option<HookError> = None;
        for script in self.scripts(driver) {
            let feed = match (&last_failure, &filtered) {
                (None, Some(xml)) => Some(xml.as_str()),
                _ => input,
            };
            let inv = Invocation::new(script, [object, op, subop, extra], |name| {
                std::env::var_os(name)
            });
            debug!(
                "Calling hook {} id={} op={} subop={} extra={}",
                inv.program.display(),
                inv.args[0],
                inv.args[1],
                inv.args[2],
                inv.args[3]
            );
            match process::run(&inv, feed.map(str::as_bytes), timeout) {
                Ok(output) => {
                    if !output.stderr.is_empty() {
                        debug!(
                            "Hook script {} wrote to stderr: {}",
                            inv.program.display(),
                            String::from_utf8_lossy(&output.stderr)
                        );
                    }
                    let text = String::from_utf8_lossy(&output.stdout);
                    if filter && !text.trim().is_empty() {
                        filtered = Some(text.into_owned());
                    }
                }
                Err(e) => {
                    error!("{e}");
                    last_failure = Some(e);
                }
            }
        }
        match last_failure {
            Some(e) => Err(e),
            None => Ok(filtered),
        }
    }
}

impl HookRunner for Hooks {
    fn present(&self, driver: HookDriver) -> bool {
        Hooks::present(self, driver)
    }

    fn run(
        &self,
        driver: HookDriver,
        object: &str,
        op: &str,
        subop: &str,
        extra: &str,
        input: Option<&str>,
        filter: bool,
    ) -> Result<Option<String>, HookError> {
        Hooks::run(self, driver, object, op, subop, extra, input, filter)
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let found: Vec<&str> = HookDriver::ALL
            .iter()
            .filter(|d| self.present(**d))
            .map(|d| d.name())
            .collect();
        f.debug_struct("Hooks")
            .field("dir", &self.inner.dir)
            .field("present", &found)
            .field("timeout", &self.timeout())
            .finish()
    }
}
