//! What start-up derives from the options and the configuration file: the defaults
//! `--help` shows, the log configuration, server limits, and the authentication
//! methods and access drivers this daemon refuses.

use std::time::Duration;

use crate::cli::{Options, UsageDefaults};
use crate::config::{AuthMethod, ServerLimits, Settings};
use crate::logging::{self, LogConfig, LogInputs};
use crate::paths::Paths;
use crate::server::Limits;

pub(super) fn usage_defaults(paths: &Paths) -> UsageDefaults {
    let mut defaults = if paths.privileged {
        UsageDefaults::privileged()
    } else {
        UsageDefaults::unprivileged()
    };
    if paths.daemon.is_modular() {
        let name = paths.daemon.as_str();
        let (config_dir, run_dir, pid_dir) = if paths.privileged {
            ("/etc/libvirt", "/run/libvirt", "/run")
        } else {
            (
                "$XDG_CONFIG_HOME/libvirt",
                "$XDG_RUNTIME_DIR/libvirt",
                "$XDG_RUNTIME_DIR/libvirt",
            )
        };
        defaults.config_file = format!("{config_dir}/{name}.conf");
        defaults.sockets = std::iter::once(format!("{run_dir}/{name}-sock"))
            .chain(
                paths
                    .privileged
                    .then(|| format!("{run_dir}/{name}-sock-ro")),
            )
            .collect();
        defaults.pid_file = format!("{pid_dir}/{name}.pid");
        defaults.ip_sockets = false;
    }
    if paths.root.is_some() {
        let sockets = paths.unix_sockets(None);
        defaults.config_file = paths.config_file.display().to_string();
        defaults.sockets = std::iter::once(sockets.rw)
            .chain(sockets.ro)
            .map(|p| p.display().to_string())
            .collect();
        defaults.ca_certificate = paths.pki.ca_cert.display().to_string();
        defaults.server_certificate = paths.pki.server_cert.display().to_string();
        defaults.server_key = paths.pki.server_key.display().to_string();
        defaults.pid_file = paths.pid_file.display().to_string();
    }
    defaults
}

pub(super) fn log_config(settings: &Settings, opts: &Options, paths: &Paths) -> LogConfig {
    let env_debug = std::env::var("LIBVIRT_DEBUG").ok();
    let env_filters = std::env::var("LIBVIRT_LOG_FILTERS").ok();
    let env_outputs = std::env::var("LIBVIRT_LOG_OUTPUTS").ok();
    let inputs = LogInputs {
        level: settings.log_level.map(|l| l as u32).unwrap_or(0),
        filters: settings.log_filters.as_deref().unwrap_or(""),
        outputs: settings.log_outputs.as_deref().unwrap_or(""),
        env_debug: env_debug.as_deref(),
        env_filters: env_filters.as_deref(),
        env_outputs: env_outputs.as_deref(),
        verbose: opts.verbose,
        daemon: opts.daemon,
        journald_available: logging::journald_available(),
        log_dir: &paths.log_dir,
    };
    let (config, problems) = logging::resolve(&inputs);
    for p in problems {
        eprintln!("libvirtd: {p}");
    }
    config
}

pub(super) fn main_limits(l: &ServerLimits) -> Limits {
    Limits {
        max_clients: l.max_clients as usize,
        max_anonymous_clients: l.max_anonymous_clients as usize,
        max_client_requests: l.max_client_requests as usize,
        min_workers: l.min_workers as usize,
        max_workers: l.max_workers as usize,
        prio_workers: l.prio_workers as usize,
        keepalive_interval: l.keepalive_interval.into(),
        keepalive_count: l.keepalive_count,
    }
}

/// The admin server's limits: its anonymous-client limit is 0, which means
/// no limit (as in libvirt, and as `srv-clients-info admin` shows it).
pub(super) fn admin_limits(l: &ServerLimits) -> Limits {
    main_limits(l)
}

/// `auth_timeout` as the session code takes it (0 disables it).
pub(super) fn auth_timeout(settings: &Settings) -> Option<Duration> {
    (settings.auth_timeout > 0).then(|| Duration::from_secs(settings.auth_timeout.into()))
}

/// Authentication methods this daemon cannot provide stop start-up instead
/// of being treated as "none". (TCP and TLS are checked with their sockets.)
pub(super) fn refuse_unavailable_auth(settings: &Settings) -> Result<(), String> {
    for (key, method) in [
        ("auth_unix_rw", settings.auth_unix_rw),
        ("auth_unix_ro", settings.auth_unix_ro),
    ] {
        if method == AuthMethod::Sasl {
            return Err(format!(
                "SASL authentication ({key} = \"sasl\") is not supported by this daemon; set {key} = \"polkit\" (root is always admitted) or \"none\" and restrict the socket with unix_sock_group and the unix_sock_*_perms options"
            ));
        }
    }
    Ok(())
}

/// The only access driver implemented: every connected client may call every
/// API its socket allows (read-only or full).
const NO_ACCESS_CONTROL: &str = "none";

/// Access drivers this daemon does not implement (libvirt's "polkit" checks
/// every call against a polkit action) stop start-up: running without the
/// per-call checks the administrator asked for would grant more than intended.
pub(super) fn refuse_unimplemented_access_drivers(settings: &Settings) -> Result<(), String> {
    match settings
        .access_drivers
        .iter()
        .find(|name| name.as_str() != NO_ACCESS_CONTROL)
    {
        None => Ok(()),
        Some(name) => Err(format!(
            "access driver '{name}' (access_drivers) is not supported by this daemon, which has no per-call access control; remove access_drivers (or set it to [ \"none\" ]) and limit who may connect with auth_unix_rw = \"polkit\", unix_sock_group and unix_sock_rw_perms, and on the network with TLS client certificates and tls_allowed_dn_list"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_absence_of_access_control_is_accepted() {
        let mut settings = Settings::defaults(true);
        assert_eq!(refuse_unimplemented_access_drivers(&settings), Ok(()));
        for drivers in [vec!["polkit"], vec!["none", "polkit"], vec!["nonesuch"]] {
            settings.access_drivers = drivers.iter().map(|d| d.to_string()).collect();
            let err = refuse_unimplemented_access_drivers(&settings).expect_err("refused");
            let refused = drivers.iter().find(|d| **d != "none").expect("one");
            assert!(
                err.starts_with(&format!("access driver '{refused}'")),
                "{err}"
            );
        }
    }
}
