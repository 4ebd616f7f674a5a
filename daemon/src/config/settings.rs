//! The validated libvirtd.conf settings and their built-in defaults.
//!
//! Field names are the libvirtd.conf keys, so a key found in the file or in the
//! libvirtd.conf man page can be looked up here directly.

use std::path::PathBuf;

/// How clients of one listener must authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    None,
    Sasl,
    Polkit,
}

impl AuthMethod {
    /// The config file spelling (`"none"`, `"sasl"`, `"polkit"`); libvirt accepts no
    /// other value for any `auth_*` key.
    pub fn parse(text: &str) -> Option<AuthMethod> {
        match text {
            "none" => Some(AuthMethod::None),
            "sasl" => Some(AuthMethod::Sasl),
            "polkit" => Some(AuthMethod::Polkit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::Sasl => "sasl",
            AuthMethod::Polkit => "polkit",
        }
    }
}

/// `log_level`: the lowest priority that is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug = 1,
    Info = 2,
    Warning = 3,
    Error = 4,
}

impl LogLevel {
    /// 1..=4 as in the config file; 0 means "not set" and is handled by the caller.
    pub fn from_number(number: u32) -> Option<LogLevel> {
        match number {
            1 => Some(LogLevel::Debug),
            2 => Some(LogLevel::Info),
            3 => Some(LogLevel::Warning),
            4 => Some(LogLevel::Error),
            _ => None,
        }
    }
}

/// `audit_level`: whether auditing is off, best effort, or required at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditLevel {
    Disabled,
    IfAvailable,
    /// Any value of 2 or more: libvirt treats them all as "exit if auditing fails".
    Mandatory,
}

impl AuditLevel {
    pub fn from_number(number: u32) -> AuditLevel {
        match number {
            0 => AuditLevel::Disabled,
            1 => AuditLevel::IfAvailable,
            _ => AuditLevel::Mandatory,
        }
    }
}

/// `host_uuid_source`: where the host UUID comes from when `host_uuid` is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostUuidSource {
    /// The SMBIOS system UUID, looked up when first needed.
    Smbios,
    /// The contents of /etc/machine-id.
    MachineId,
}

impl HostUuidSource {
    pub fn parse(text: &str) -> Option<HostUuidSource> {
        match text {
            "smbios" => Some(HostUuidSource::Smbios),
            "machine-id" => Some(HostUuidSource::MachineId),
            _ => None,
        }
    }
}

/// The rw socket's mode when `unix_sock_rw_perms` is not set: 0777 under polkit,
/// which decides per client, and 0700 (root alone) under any other method, so
/// that `auth_unix_rw = "none"` never opens the host to every local user.
pub fn default_rw_perms(auth_unix_rw: AuthMethod) -> u32 {
    if auth_unix_rw == AuthMethod::Polkit {
        0o777
    } else {
        0o700
    }
}

/// Default `auth_timeout`, in seconds: ample for a handshake and AUTH_LIST,
/// short enough that clients queued behind idle connections are served soon.
pub const DEFAULT_AUTH_TIMEOUT: u32 = 10;

/// Every libvirtd.conf setting of libvirt 9.0, typed, plus our `timeout`,
/// `auth_timeout` and `hook_timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    // Network listeners (only with --listen, and ignored under socket activation).
    pub listen_tls: bool,
    pub listen_tcp: bool,
    /// Port number or service name, resolved when binding.
    pub tls_port: String,
    pub tcp_port: String,
    /// `None` listens on all addresses.
    pub listen_addr: Option<String>,

    // UNIX sockets.
    pub unix_sock_group: Option<String>,
    /// Socket permission bits, parsed from the octal strings of the file.
    pub unix_sock_ro_perms: u32,
    pub unix_sock_rw_perms: u32,
    pub unix_sock_admin_perms: u32,
    /// `None` uses the default socket directory of [`crate::paths::Paths`].
    pub unix_sock_dir: Option<PathBuf>,

    // Authentication.
    pub auth_unix_ro: AuthMethod,
    pub auth_unix_rw: AuthMethod,
    pub auth_tcp: AuthMethod,
    pub auth_tls: AuthMethod,
    pub tcp_min_ssf: u32,
    /// Access control drivers in stacking order; never empty (`["none"]` by default).
    pub access_drivers: Vec<String>,

    // TLS files: `None` means the default locations. If any of key/cert/ca is set,
    // all three must be, which is checked when the TLS listener is set up.
    pub key_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub crl_file: Option<PathBuf>,

    // Authorization.
    pub tls_no_sanity_certificate: bool,
    pub tls_no_verify_certificate: bool,
    /// `None`: no DN check; `Some(vec![])`: nobody may connect over TLS.
    pub tls_allowed_dn_list: Option<Vec<String>>,
    pub tls_priority: String,
    /// `None`: no SASL user name check; `Some(vec![])`: nobody passes it.
    pub sasl_allowed_username_list: Option<Vec<String>>,

    // Processing limits of the libvirtd server.
    pub max_clients: u32,
    pub max_queued_clients: u32,
    pub max_anonymous_clients: u32,
    pub min_workers: u32,
    pub max_workers: u32,
    pub prio_workers: u32,
    pub max_client_requests: u32,

    // Processing limits of the admin server.
    pub admin_min_workers: u32,
    pub admin_max_workers: u32,
    pub admin_max_clients: u32,
    pub admin_max_queued_clients: u32,
    pub admin_max_client_requests: u32,

    // Logging.
    /// `None` when unset (0 in the file): the logging defaults apply.
    pub log_level: Option<LogLevel>,
    pub log_filters: Option<String>,
    pub log_outputs: Option<String>,

    // Auditing.
    pub audit_level: AuditLevel,
    pub audit_logging: bool,

    // Host UUID.
    /// Syntax-checked here; the "all bytes equal" rule is applied when the UUID is
    /// put to use (see [`Settings::resolve_host_uuid`]), as libvirt does.
    pub host_uuid: Option<String>,
    /// Only meaningful when `host_uuid` is unset (and only checked then, like libvirt).
    pub host_uuid_source: HostUuidSource,

    // Keepalive. A negative interval disables our probes (we still answer pings).
    pub keepalive_interval: i32,
    pub keepalive_count: u32,
    pub admin_keepalive_interval: i32,
    pub admin_keepalive_count: u32,

    // Open vSwitch.
    pub ovs_timeout: u32,

    /// Our extension: idle timeout in seconds, the config twin of `--timeout`
    /// (the command line wins). `None` or `Some(0)`: never exit when idle.
    pub timeout: Option<u32>,

    /// Our extension: seconds a client may take from accept to the end of
    /// authentication (TLS handshake and checks, AUTH_LIST and any auth
    /// exchange); later it is disconnected, so that idle connections cannot
    /// hold every `max_anonymous_clients` slot. 0 waits forever (libvirtd
    /// 9.0's behaviour).
    pub auth_timeout: u32,

    /// Our extension: seconds a hook script may run before its process group
    /// is killed and the call fails. `None` (unset or 0) waits forever, as
    /// libvirt does.
    pub hook_timeout: Option<u32>,
}

impl Settings {
    /// libvirt 9.0's built-in defaults (Debian build: polkit and SASL enabled).
    /// Root gets polkit on the UNIX sockets and a world-writable rw socket that
    /// polkit guards; other users get no authentication and a private socket
    /// (see [`default_rw_perms`]).
    pub fn defaults(privileged: bool) -> Settings {
        let unix_auth = if privileged {
            AuthMethod::Polkit
        } else {
            AuthMethod::None
        };
        Settings {
            listen_tls: true,
            listen_tcp: false,
            tls_port: "16514".to_string(),
            tcp_port: "16509".to_string(),
            listen_addr: None,
            unix_sock_group: None,
            unix_sock_ro_perms: 0o777,
            unix_sock_rw_perms: default_rw_perms(unix_auth),
            unix_sock_admin_perms: 0o700,
            unix_sock_dir: None,
            auth_unix_ro: unix_auth,
            auth_unix_rw: unix_auth,
            auth_tcp: AuthMethod::Sasl,
            auth_tls: AuthMethod::None,
            tcp_min_ssf: 56,
            access_drivers: vec!["none".to_string()],
            key_file: None,
            cert_file: None,
            ca_file: None,
            crl_file: None,
            tls_no_sanity_certificate: false,
            tls_no_verify_certificate: false,
            tls_allowed_dn_list: None,
            tls_priority: "NORMAL".to_string(),
            sasl_allowed_username_list: None,
            max_clients: 5000,
            max_queued_clients: 1000,
            max_anonymous_clients: 20,
            min_workers: 5,
            max_workers: 20,
            prio_workers: 5,
            max_client_requests: 5,
            admin_min_workers: 5,
            admin_max_workers: 20,
            admin_max_clients: 5000,
            admin_max_queued_clients: 20,
            admin_max_client_requests: 5,
            log_level: None,
            log_filters: None,
            log_outputs: None,
            audit_level: AuditLevel::IfAvailable,
            audit_logging: false,
            host_uuid: None,
            host_uuid_source: HostUuidSource::Smbios,
            keepalive_interval: 5,
            keepalive_count: 5,
            admin_keepalive_interval: 5,
            admin_keepalive_count: 5,
            ovs_timeout: 5,
            timeout: None,
            auth_timeout: DEFAULT_AUTH_TIMEOUT,
            hook_timeout: None,
        }
    }
}
