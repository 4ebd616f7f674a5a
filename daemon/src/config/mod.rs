//! libvirtd.conf: reading the file into validated, typed [`Settings`].
//!
//! Three stages: the virConf reader ([`drivers::virconf`]) turns text into entries,
//! [`Settings::from_conf`] lays them over libvirt's built-in defaults with libvirt's
//! type rules and checks, and the daemon then layers the command line on top.
//!
//! Deliberate differences from libvirt 9.0, all about reporting mistakes earlier or
//! more precisely:
//!
//! * every error about a value names the file and the line (`u.conf:3: expected a
//!   bool for 'listen_tls' parameter`), where libvirt names only the file or nothing;
//! * socket modes, `host_uuid` syntax, `host_uuid_source` and `log_level` are checked
//!   when the file is loaded, not later during startup (messages stay libvirt's, and
//!   [`ConfigError::exit_status`] still gives libvirt's exit status);
//! * `log_level` above 4 and socket modes that are negative or above 07777 are
//!   refused (libvirt ignores the former and passes the latter on to chmod);
//! * `timeout` is an extra key: the idle timeout of `--timeout`;
//! * `hook_timeout` is an extra key: seconds before a hung hook script is killed.

mod checks;
mod error;
mod from_conf;
mod host_uuid;
mod reload;
mod settings;

#[cfg(test)]
mod tests;

use std::path::Path;

use drivers::virconf::ConfFile;

pub use error::ConfigError;
pub use reload::{LogSettings, Reloadable, ServerLimits};
pub use settings::{default_rw_perms, AuditLevel, AuthMethod, HostUuidSource, LogLevel, Settings};

/// Loads the settings the way libvirtd does at startup.
///
/// With `explicit` (`-f FILE`) the file must exist. Without it `default_path` is
/// read when present, and a missing default file simply means built-in defaults
/// (any other problem with it, such as missing read permission, is an error).
pub fn load(
    explicit: Option<&Path>,
    default_path: &Path,
    privileged: bool,
) -> Result<Settings, ConfigError> {
    let conf = match explicit {
        Some(path) => ConfFile::read(path)?,
        None => match ConfFile::read(default_path) {
            Ok(conf) => conf,
            Err(err) if err.is_not_found() => return Ok(Settings::defaults(privileged)),
            Err(err) => return Err(err.into()),
        },
    };
    Settings::from_conf(&conf, privileged)
}
