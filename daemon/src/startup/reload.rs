//! Re-reading the configuration on SIGHUP.

use std::path::PathBuf;

use super::settings::{admin_limits, auth_timeout, log_config, main_limits};
use crate::cli::Options;
use crate::config;
use crate::daemon_hooks;
use crate::logging::LogHandle;
use crate::paths::Paths;
use crate::run::Reloader;
use crate::server::Limits;

/// SIGHUP: re-read the same file; apply logging, limits, `auth_timeout`, and
/// the TLS file locations and policy (the files themselves are re-read by
/// the daemon's TLS reload right after).
pub(super) struct ConfigReloader {
    pub(super) explicit: Option<PathBuf>,
    pub(super) default_path: PathBuf,
    pub(super) privileged: bool,
    pub(super) opts: Options,
    pub(super) paths: Paths,
    pub(super) log: LogHandle,
    pub(super) tls: Vec<std::sync::Arc<crate::tls::TlsServer>>,
    pub(super) hooks: hooks::Hooks,
}

impl Reloader for ConfigReloader {
    fn reload(&mut self) -> Result<(Limits, Limits), String> {
        let settings = config::load(
            self.explicit.as_deref(),
            &self.default_path,
            self.privileged,
        )
        .map_err(|e| e.to_string())?;
        let log_config = log_config(&settings, &self.opts, &self.paths);
        self.log.reload(log_config).map_err(|e| e.to_string())?;
        crate::server::client::set_auth_timeout(auth_timeout(&settings));
        self.hooks
            .set_timeout(daemon_hooks::hook_timeout(&settings));
        for tls in &self.tls {
            tls.update_source(&settings, &self.paths)?;
        }
        let r = settings.reloadable();
        Ok((main_limits(&r.libvirtd), admin_limits(&r.admin)))
    }
}
