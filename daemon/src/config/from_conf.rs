//! Turning a parsed libvirtd.conf into [`Settings`].
//!
//! Keys are type-checked in the order libvirt reads them, and the checks libvirt only
//! makes later during startup (host UUID, log level, socket modes) run after all of
//! them in libvirt's startup order, so that when a file has several mistakes the one
//! reported first is the one libvirt would report.

use std::path::PathBuf;

use drivers::virconf::ConfFile;

use super::checks::{parse_mode, parse_uuid};
use super::error::ConfigError;
use super::settings::{
    default_rw_perms, AuditLevel, AuthMethod, HostUuidSource, LogLevel, Settings,
};

/// SASL minimum security strength below which libvirt refuses to run.
const MIN_SUPPORTED_SSF: u32 = 112;
/// Largest idle timeout `--timeout` accepts (seconds, so that it fits milliseconds).
const MAX_TIMEOUT: u32 = i32::MAX as u32 / 1000;
/// Socket permission keys in the order libvirt reads them from the file.
const PERMS_KEYS: [&str; 3] = [
    "unix_sock_admin_perms",
    "unix_sock_ro_perms",
    "unix_sock_rw_perms",
];

/// A key/problem pair turned into an error at the key's line.
fn invalid(conf: &ConfFile, key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        file: conf.filename().to_string(),
        line: conf.get(key).map_or(0, |entry| entry.line),
        key: key.to_string(),
        message,
    }
}

fn set_string(conf: &ConfFile, key: &str, target: &mut String) -> Result<(), ConfigError> {
    if let Some(text) = conf.get_string(key)? {
        *target = text.to_string();
    }
    Ok(())
}

fn set_optional_string(
    conf: &ConfFile,
    key: &str,
    target: &mut Option<String>,
) -> Result<(), ConfigError> {
    if let Some(text) = conf.get_string(key)? {
        *target = Some(text.to_string());
    }
    Ok(())
}

fn set_path(conf: &ConfFile, key: &str, target: &mut Option<PathBuf>) -> Result<(), ConfigError> {
    if let Some(text) = conf.get_string(key)? {
        *target = Some(PathBuf::from(text));
    }
    Ok(())
}

fn set_bool(conf: &ConfFile, key: &str, target: &mut bool) -> Result<(), ConfigError> {
    if let Some(value) = conf.get_bool(key)? {
        *target = value;
    }
    Ok(())
}

fn set_uint(conf: &ConfFile, key: &str, target: &mut u32) -> Result<(), ConfigError> {
    if let Some(value) = conf.get_uint(key)? {
        *target = value;
    }
    Ok(())
}

fn set_int(conf: &ConfFile, key: &str, target: &mut i32) -> Result<(), ConfigError> {
    if let Some(value) = conf.get_int(key)? {
        *target = value;
    }
    Ok(())
}

fn set_auth(conf: &ConfFile, key: &str, target: &mut AuthMethod) -> Result<(), ConfigError> {
    if let Some(text) = conf.get_string(key)? {
        *target = AuthMethod::parse(text)
            .ok_or_else(|| invalid(conf, key, format!("{key}: unsupported auth {text}")))?;
    }
    Ok(())
}

fn set_mode(conf: &ConfFile, key: &str, target: &mut u32) -> Result<(), ConfigError> {
    if let Some(text) = conf.get_string(key)? {
        *target = parse_mode(text)
            .ok_or_else(|| invalid(conf, key, format!("Failed to parse mode '{text}'")))?;
    }
    Ok(())
}

impl Settings {
    /// Applies every libvirtd.conf key present in `conf` over the defaults for
    /// `privileged`. Unknown keys are ignored; the first occurrence of a key wins.
    pub fn from_conf(conf: &ConfFile, privileged: bool) -> Result<Settings, ConfigError> {
        let mut s = Settings::defaults(privileged);

        set_bool(conf, "listen_tcp", &mut s.listen_tcp)?;
        set_bool(conf, "listen_tls", &mut s.listen_tls)?;
        set_string(conf, "tls_port", &mut s.tls_port)?;
        set_string(conf, "tcp_port", &mut s.tcp_port)?;
        set_optional_string(conf, "listen_addr", &mut s.listen_addr)?;

        set_auth(conf, "auth_unix_rw", &mut s.auth_unix_rw)?;
        // The rw socket's default mode follows the chosen authentication: open to
        // everyone under polkit, which guards it, and private otherwise. libvirt
        // keeps root's 0777 when root chooses "none", which hands every local user
        // the host; we fail closed. An explicit unix_sock_rw_perms below still wins.
        s.unix_sock_rw_perms = default_rw_perms(s.auth_unix_rw);
        set_auth(conf, "auth_unix_ro", &mut s.auth_unix_ro)?;
        set_auth(conf, "auth_tcp", &mut s.auth_tcp)?;
        set_auth(conf, "auth_tls", &mut s.auth_tls)?;

        if let Some(drivers) = conf.get_string_list("access_drivers")? {
            // An empty list means the same as no list: no access control.
            if !drivers.is_empty() {
                s.access_drivers = drivers;
            }
        }

        set_optional_string(conf, "unix_sock_group", &mut s.unix_sock_group)?;
        for key in PERMS_KEYS {
            conf.get_string(key)?;
        }
        set_path(conf, "unix_sock_dir", &mut s.unix_sock_dir)?;

        set_bool(
            conf,
            "tls_no_sanity_certificate",
            &mut s.tls_no_sanity_certificate,
        )?;
        set_bool(
            conf,
            "tls_no_verify_certificate",
            &mut s.tls_no_verify_certificate,
        )?;
        set_path(conf, "key_file", &mut s.key_file)?;
        set_path(conf, "cert_file", &mut s.cert_file)?;
        set_path(conf, "ca_file", &mut s.ca_file)?;
        set_path(conf, "crl_file", &mut s.crl_file)?;
        if let Some(list) = conf.get_string_list("tls_allowed_dn_list")? {
            s.tls_allowed_dn_list = Some(list);
        }
        set_string(conf, "tls_priority", &mut s.tls_priority)?;
        if let Some(ssf) = conf.get_uint("tcp_min_ssf")? {
            if ssf < MIN_SUPPORTED_SSF {
                let message =
                    format!("minimum SSF levels lower than {MIN_SUPPORTED_SSF} are not supported");
                return Err(invalid(conf, "tcp_min_ssf", message));
            }
            s.tcp_min_ssf = ssf;
        }
        if let Some(list) = conf.get_string_list("sasl_allowed_username_list")? {
            s.sasl_allowed_username_list = Some(list);
        }

        read_limits(conf, &mut s)?;
        if let Some(level) = conf.get_uint("audit_level")? {
            s.audit_level = AuditLevel::from_number(level);
        }
        set_bool(conf, "audit_logging", &mut s.audit_logging)?;
        conf.get_string("host_uuid")?;
        conf.get_string("host_uuid_source")?;
        conf.get_uint("log_level")?;
        set_optional_string(conf, "log_filters", &mut s.log_filters)?;
        set_optional_string(conf, "log_outputs", &mut s.log_outputs)?;

        set_int(conf, "keepalive_interval", &mut s.keepalive_interval)?;
        set_uint(conf, "keepalive_count", &mut s.keepalive_count)?;
        set_int(
            conf,
            "admin_keepalive_interval",
            &mut s.admin_keepalive_interval,
        )?;
        set_uint(conf, "admin_keepalive_count", &mut s.admin_keepalive_count)?;
        set_uint(conf, "ovs_timeout", &mut s.ovs_timeout)?;

        if let Some(timeout) = conf.get_uint("timeout")? {
            if timeout > MAX_TIMEOUT {
                return Err(invalid(conf, "timeout", "Invalid value for timeout".into()));
            }
            s.timeout = Some(timeout);
        }
        if let Some(timeout) = conf.get_uint("auth_timeout")? {
            if timeout > MAX_TIMEOUT {
                return Err(invalid(
                    conf,
                    "auth_timeout",
                    "Invalid value for auth_timeout".into(),
                ));
            }
            s.auth_timeout = timeout;
        }
        if let Some(timeout) = conf.get_uint("hook_timeout")? {
            s.hook_timeout = (timeout > 0).then_some(timeout);
        }

        apply_host_uuid(conf, &mut s)?;
        apply_log_level(conf, &mut s)?;
        // Same order as libvirt parses them when creating the sockets.
        set_mode(conf, "unix_sock_ro_perms", &mut s.unix_sock_ro_perms)?;
        set_mode(conf, "unix_sock_admin_perms", &mut s.unix_sock_admin_perms)?;
        set_mode(conf, "unix_sock_rw_perms", &mut s.unix_sock_rw_perms)?;
        Ok(s)
    }
}

/// Worker and client limits of both servers.
fn read_limits(conf: &ConfFile, s: &mut Settings) -> Result<(), ConfigError> {
    set_uint(conf, "min_workers", &mut s.min_workers)?;
    set_uint(conf, "max_workers", &mut s.max_workers)?;
    if s.max_workers == 0 {
        let message = "'max_workers' must be greater than 0".to_string();
        return Err(invalid(conf, "max_workers", message));
    }
    set_uint(conf, "max_clients", &mut s.max_clients)?;
    set_uint(conf, "max_queued_clients", &mut s.max_queued_clients)?;
    set_uint(conf, "max_anonymous_clients", &mut s.max_anonymous_clients)?;
    set_uint(conf, "prio_workers", &mut s.prio_workers)?;
    set_uint(conf, "max_client_requests", &mut s.max_client_requests)?;

    set_uint(conf, "admin_min_workers", &mut s.admin_min_workers)?;
    set_uint(conf, "admin_max_workers", &mut s.admin_max_workers)?;
    set_uint(conf, "admin_max_clients", &mut s.admin_max_clients)?;
    set_uint(
        conf,
        "admin_max_queued_clients",
        &mut s.admin_max_queued_clients,
    )?;
    set_uint(
        conf,
        "admin_max_client_requests",
        &mut s.admin_max_client_requests,
    )
}

fn apply_host_uuid(conf: &ConfFile, s: &mut Settings) -> Result<(), ConfigError> {
    if let Some(text) = conf.get_string("host_uuid")? {
        if parse_uuid(text).is_none() {
            return Err(invalid(
                conf,
                "host_uuid",
                format!("invalid host UUID: {text}"),
            ));
        }
        s.host_uuid = Some(text.to_string());
    }
    if let Some(text) = conf.get_string("host_uuid_source")? {
        match HostUuidSource::parse(text) {
            Some(source) => s.host_uuid_source = source,
            // libvirt only looks at the source when no host_uuid is given.
            None if s.host_uuid.is_some() => {}
            None => {
                let message = format!("invalid UUID source: {text}");
                return Err(invalid(conf, "host_uuid_source", message));
            }
        }
    }
    Ok(())
}

/// 0 leaves the level unset. libvirt ignores levels above 4 with an error message at
/// startup and carries on; we refuse them so the mistake cannot go unnoticed.
fn apply_log_level(conf: &ConfFile, s: &mut Settings) -> Result<(), ConfigError> {
    let Some(level) = conf.get_uint("log_level")? else {
        return Ok(());
    };
    s.log_level = match level {
        0 => None,
        _ => Some(LogLevel::from_number(level).ok_or_else(|| {
            let message = format!("Failed to set logging priority, argument '{level}' is invalid");
            invalid(conf, "log_level", message)
        })?),
    };
    Ok(())
}
