//! The part of the settings a running daemon can apply on SIGHUP without dropping a
//! client. Everything else (sockets, ports, authentication methods, file locations)
//! needs a restart and keeps its startup value.

use super::settings::{LogLevel, Settings};

/// Limits of one RPC server (`libvirtd` or `admin`), as virt-admin shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    pub min_workers: u32,
    pub max_workers: u32,
    /// Workers reserved for high-priority calls; always 0 for the admin server.
    pub prio_workers: u32,
    pub max_clients: u32,
    /// Clients still authenticating; always 0 (no limit) for the admin server.
    pub max_anonymous_clients: u32,
    pub max_client_requests: u32,
    pub keepalive_interval: i32,
    pub keepalive_count: u32,
}

/// The logging settings of the file (the `LIBVIRT_LOG_*` environment and `-v`
/// are layered over them by the logging setup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub level: Option<LogLevel>,
    pub filters: Option<String>,
    pub outputs: Option<String>,
}

/// Settings that take effect again when the configuration is reloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloadable {
    pub logging: LogSettings,
    pub libvirtd: ServerLimits,
    pub admin: ServerLimits,
    /// New TLS handshakes are checked against the reloaded list.
    pub tls_allowed_dn_list: Option<Vec<String>>,
}

impl Settings {
    /// The reloadable subset, grouped the way the servers apply it.
    pub fn reloadable(&self) -> Reloadable {
        Reloadable {
            logging: LogSettings {
                level: self.log_level,
                filters: self.log_filters.clone(),
                outputs: self.log_outputs.clone(),
            },
            libvirtd: ServerLimits {
                min_workers: self.min_workers,
                max_workers: self.max_workers,
                prio_workers: self.prio_workers,
                max_clients: self.max_clients,
                max_anonymous_clients: self.max_anonymous_clients,
                max_client_requests: self.max_client_requests,
                keepalive_interval: self.keepalive_interval,
                keepalive_count: self.keepalive_count,
            },
            admin: ServerLimits {
                min_workers: self.admin_min_workers,
                max_workers: self.admin_max_workers,
                prio_workers: 0,
                max_clients: self.admin_max_clients,
                max_anonymous_clients: 0,
                max_client_requests: self.admin_max_client_requests,
                keepalive_interval: self.admin_keepalive_interval,
                keepalive_count: self.admin_keepalive_count,
            },
            tls_allowed_dn_list: self.tls_allowed_dn_list.clone(),
        }
    }
}
