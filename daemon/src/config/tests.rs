//! Unit tests of libvirtd.conf handling: defaults, every key, every check.

use std::path::{Path, PathBuf};

use drivers::virconf::ConfFile;

use super::*;

fn settings(text: &str, privileged: bool) -> Settings {
    let conf = ConfFile::parse(text, "u.conf").expect("test text parses");
    match Settings::from_conf(&conf, privileged) {
        Ok(settings) => settings,
        Err(err) => panic!("{text:?} should be accepted, got: {err}"),
    }
}

fn rejection(text: &str) -> ConfigError {
    let conf = ConfFile::parse(text, "u.conf").expect("test text parses");
    match Settings::from_conf(&conf, true) {
        Ok(settings) => panic!("{text:?} should be refused, got {settings:?}"),
        Err(err) => err,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn root_defaults_are_libvirts() {
    let s = Settings::defaults(true);
    assert!(s.listen_tls && !s.listen_tcp);
    assert_eq!(
        (s.tls_port.as_str(), s.tcp_port.as_str()),
        ("16514", "16509")
    );
    assert_eq!(
        (s.auth_unix_ro, s.auth_unix_rw),
        (AuthMethod::Polkit, AuthMethod::Polkit)
    );
    assert_eq!(
        (s.auth_tcp, s.auth_tls),
        (AuthMethod::Sasl, AuthMethod::None)
    );
    assert_eq!(
        (
            s.unix_sock_ro_perms,
            s.unix_sock_rw_perms,
            s.unix_sock_admin_perms
        ),
        (0o777, 0o777, 0o700)
    );
    assert_eq!(s.tcp_min_ssf, 56);
    assert_eq!(s.access_drivers, strings(&["none"]));
    assert_eq!(s.tls_priority, "NORMAL");
    assert_eq!(
        (s.max_clients, s.max_queued_clients, s.max_anonymous_clients),
        (5000, 1000, 20)
    );
    assert_eq!((s.min_workers, s.max_workers, s.prio_workers), (5, 20, 5));
    assert_eq!(s.max_client_requests, 5);
    assert_eq!(
        (
            s.admin_min_workers,
            s.admin_max_workers,
            s.admin_max_clients
        ),
        (5, 20, 5000)
    );
    assert_eq!(
        (s.admin_max_queued_clients, s.admin_max_client_requests),
        (20, 5)
    );
    assert_eq!(
        (s.audit_level, s.audit_logging),
        (AuditLevel::IfAvailable, false)
    );
    assert_eq!((s.keepalive_interval, s.keepalive_count), (5, 5));
    assert_eq!(
        (s.admin_keepalive_interval, s.admin_keepalive_count),
        (5, 5)
    );
    assert_eq!(s.ovs_timeout, 5);
    assert_eq!(s.host_uuid_source, HostUuidSource::Smbios);
    assert_eq!(
        (s.log_level, s.timeout, s.host_uuid.clone()),
        (None, None, None)
    );
    assert_eq!(
        (s.tls_allowed_dn_list.clone(), s.key_file.clone()),
        (None, None)
    );
}

#[test]
fn unprivileged_defaults_use_no_auth_and_a_private_socket() {
    let s = Settings::defaults(false);
    assert_eq!(
        (s.auth_unix_ro, s.auth_unix_rw),
        (AuthMethod::None, AuthMethod::None)
    );
    assert_eq!(s.unix_sock_rw_perms, 0o700);
    assert_eq!(s.unix_sock_ro_perms, 0o777);
}

#[test]
fn an_empty_file_gives_the_defaults() {
    assert_eq!(settings("", true), Settings::defaults(true));
    assert_eq!(settings("# nothing\n", false), Settings::defaults(false));
}

#[test]
fn choosing_polkit_opens_the_rw_socket_unless_perms_are_given() {
    let s = settings("auth_unix_rw = \"polkit\"", false);
    assert_eq!(s.unix_sock_rw_perms, 0o777);
    let s = settings(
        "auth_unix_rw = \"polkit\"\nunix_sock_rw_perms = \"0770\"",
        false,
    );
    assert_eq!(s.unix_sock_rw_perms, 0o770);
}

#[test]
fn root_choosing_no_auth_gets_a_private_rw_socket_unless_perms_are_given() {
    // libvirt keeps 0777 here, which lets every local user manage the host.
    let s = settings("auth_unix_rw = \"none\"", true);
    assert_eq!(
        (s.auth_unix_rw, s.unix_sock_rw_perms),
        (AuthMethod::None, 0o700)
    );
    let s = settings(
        "unix_sock_rw_perms = \"0770\"\nauth_unix_rw = \"none\"",
        true,
    );
    assert_eq!(s.unix_sock_rw_perms, 0o770);
    // Polkit keeps the open socket it guards; the ro socket is untouched.
    let s = settings("auth_unix_rw = \"polkit\"", true);
    assert_eq!((s.unix_sock_rw_perms, s.unix_sock_ro_perms), (0o777, 0o777));
}

const EVERY_KEY: &str = r#"
listen_tls = 0
listen_tcp = 1
tls_port = "1234"
tcp_port = "libvirt"
listen_addr = "127.0.0.1"
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0775"
unix_sock_rw_perms = "0770"
unix_sock_admin_perms = "0600"
unix_sock_dir = "/tmp/socks"
auth_unix_ro = "none"
auth_unix_rw = "sasl"
auth_tcp = "none"
auth_tls = "polkit"
tcp_min_ssf = 256
access_drivers = [ "polkit", "none" ]
key_file = "/k.pem"
cert_file = "/c.pem"
ca_file = "/ca.pem"
crl_file = "/crl.pem"
tls_no_sanity_certificate = 1
tls_no_verify_certificate = 1
tls_allowed_dn_list = ["C=GB,CN=a", "CN=*"]
tls_priority = "NORMAL:-VERS-TLS1.0"
sasl_allowed_username_list = []
max_clients = 11
max_queued_clients = 12
max_anonymous_clients = 13
min_workers = 2
max_workers = 3
prio_workers = 4
max_client_requests = 6
admin_min_workers = 7
admin_max_workers = 8
admin_max_clients = 9
admin_max_queued_clients = 10
admin_max_client_requests = 14
log_level = 2
log_filters = "1:qemu 4:util"
log_outputs = "1:file:/tmp/l.log"
audit_level = 2
audit_logging = 1
host_uuid = "12345678-1234-1234-1234-123456789abc"
host_uuid_source = "machine-id"
keepalive_interval = -1
keepalive_count = 0
admin_keepalive_interval = 15
admin_keepalive_count = 16
ovs_timeout = 17
timeout = 120
"#;

#[test]
fn every_key_is_read() {
    let s = settings(EVERY_KEY, true);
    assert!(!s.listen_tls && s.listen_tcp);
    assert_eq!(
        (s.tls_port.as_str(), s.tcp_port.as_str()),
        ("1234", "libvirt")
    );
    assert_eq!(s.listen_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(s.unix_sock_group.as_deref(), Some("libvirt"));
    assert_eq!(
        (
            s.unix_sock_ro_perms,
            s.unix_sock_rw_perms,
            s.unix_sock_admin_perms
        ),
        (0o775, 0o770, 0o600)
    );
    assert_eq!(s.unix_sock_dir, Some(PathBuf::from("/tmp/socks")));
    assert_eq!(
        (s.auth_unix_ro, s.auth_unix_rw),
        (AuthMethod::None, AuthMethod::Sasl)
    );
    assert_eq!(
        (s.auth_tcp, s.auth_tls),
        (AuthMethod::None, AuthMethod::Polkit)
    );
    assert_eq!(s.tcp_min_ssf, 256);
    assert_eq!(s.access_drivers, strings(&["polkit", "none"]));
    assert_eq!(s.key_file, Some(PathBuf::from("/k.pem")));
    assert_eq!(s.cert_file, Some(PathBuf::from("/c.pem")));
    assert_eq!(s.ca_file, Some(PathBuf::from("/ca.pem")));
    assert_eq!(s.crl_file, Some(PathBuf::from("/crl.pem")));
    assert!(s.tls_no_sanity_certificate && s.tls_no_verify_certificate);
    assert_eq!(s.tls_allowed_dn_list, Some(strings(&["C=GB,CN=a", "CN=*"])));
    assert_eq!(s.tls_priority, "NORMAL:-VERS-TLS1.0");
    assert_eq!(s.sasl_allowed_username_list, Some(vec![]));
    assert_eq!(
        (s.max_clients, s.max_queued_clients, s.max_anonymous_clients),
        (11, 12, 13)
    );
    assert_eq!((s.min_workers, s.max_workers, s.prio_workers), (2, 3, 4));
    assert_eq!(s.max_client_requests, 6);
    assert_eq!(
        (
            s.admin_min_workers,
            s.admin_max_workers,
            s.admin_max_clients
        ),
        (7, 8, 9)
    );
    assert_eq!(
        (s.admin_max_queued_clients, s.admin_max_client_requests),
        (10, 14)
    );
    assert_eq!(s.log_level, Some(LogLevel::Info));
    assert_eq!(s.log_filters.as_deref(), Some("1:qemu 4:util"));
    assert_eq!(s.log_outputs.as_deref(), Some("1:file:/tmp/l.log"));
    assert_eq!(
        (s.audit_level, s.audit_logging),
        (AuditLevel::Mandatory, true)
    );
    assert_eq!(
        s.host_uuid.as_deref(),
        Some("12345678-1234-1234-1234-123456789abc")
    );
    assert_eq!(s.host_uuid_source, HostUuidSource::MachineId);
    assert_eq!((s.keepalive_interval, s.keepalive_count), (-1, 0));
    assert_eq!(
        (s.admin_keepalive_interval, s.admin_keepalive_count),
        (15, 16)
    );
    assert_eq!((s.ovs_timeout, s.timeout), (17, Some(120)));
}

#[test]
fn reloadable_groups_logging_and_both_servers_limits() {
    let r = settings(EVERY_KEY, true).reloadable();
    assert_eq!(r.logging.level, Some(LogLevel::Info));
    assert_eq!(r.logging.outputs.as_deref(), Some("1:file:/tmp/l.log"));
    let expected_libvirtd = ServerLimits {
        min_workers: 2,
        max_workers: 3,
        prio_workers: 4,
        max_clients: 11,
        max_anonymous_clients: 13,
        max_client_requests: 6,
        keepalive_interval: -1,
        keepalive_count: 0,
    };
    assert_eq!(r.libvirtd, expected_libvirtd);
    let expected_admin = ServerLimits {
        min_workers: 7,
        max_workers: 8,
        prio_workers: 0,
        max_clients: 9,
        max_anonymous_clients: 0,
        max_client_requests: 14,
        keepalive_interval: 15,
        keepalive_count: 16,
    };
    assert_eq!(r.admin, expected_admin);
    assert_eq!(r.tls_allowed_dn_list, Some(strings(&["C=GB,CN=a", "CN=*"])));
}

#[test]
fn small_details_of_libvirts_reading() {
    // An empty access driver list means no access control, as no list does.
    assert_eq!(
        settings("access_drivers = []", true).access_drivers,
        strings(&["none"])
    );
    // First duplicate wins; unknown and obsolete keys are ignored whatever their type.
    let s = settings(
        "max_clients = 1\nmax_clients = 2\nkeepalive_required = \"x\"\nbogus = [1]",
        true,
    );
    assert_eq!(s.max_clients, 1);
    // log_level 0 means "not set"; an empty DN list means "nobody".
    let s = settings("log_level = 0\ntls_allowed_dn_list = []", true);
    assert_eq!((s.log_level, s.tls_allowed_dn_list), (None, Some(vec![])));
    // A bad source does not matter when the UUID itself is given.
    let s = settings(
        "host_uuid = \"12345678123456781234567812345678\"\nhost_uuid_source = \"bios\"",
        true,
    );
    assert_eq!(s.host_uuid_source, HostUuidSource::Smbios);
    // audit_level above 2 means mandatory; tcp_min_ssf 112 is the lowest accepted.
    let s = settings("audit_level = 7\naudit_level = 0\ntcp_min_ssf = 112", true);
    assert_eq!((s.audit_level, s.tcp_min_ssf), (AuditLevel::Mandatory, 112));
    // The all-zero example of the stock file loads; it is refused when put to use.
    let s = settings("host_uuid = \"00000000-0000-0000-0000-000000000000\"", true);
    assert!(s.host_uuid.is_some());
}

/// Every check with its message (libvirt's words, our `FILE:LINE:`) and exit status.
#[test]
fn invalid_values_are_refused_with_libvirts_message_and_line() {
    let cases: &[(&str, &str, i32)] = &[
        ("\nlisten_tls = \"yes\"", "u.conf:2: expected a bool for 'listen_tls' parameter", 1),
        ("listen_tcp = 2", "u.conf:1: value for 'listen_tcp' parameter must be 0 or 1", 1),
        ("tls_port = 16514", "u.conf:1: expected a string for 'tls_port' parameter", 1),
        ("max_workers = -1", "u.conf:1: expected an unsigned integer for 'max_workers' parameter", 1),
        ("max_clients = 4294967296", "u.conf:1: value for 'max_clients' parameter must be in range 0:4294967295", 1),
        ("keepalive_interval = \"5\"", "u.conf:1: expected a signed integer for 'keepalive_interval' parameter", 1),
        ("keepalive_interval = 2147483648", "u.conf:1: value for 'keepalive_interval' parameter must be in range -2147483648:2147483647", 1),
        ("access_drivers = \"polkit\"", "u.conf:1: expected a string list for 'access_drivers' parameter", 1),
        ("tls_allowed_dn_list = [\"a\", 1]", "u.conf:1: expected a string list for 'tls_allowed_dn_list' parameter", 1),
        ("auth_tcp = \"tls\"", "u.conf:1: auth_tcp: unsupported auth tls", 1),
        ("auth_unix_ro = \"Polkit\"", "u.conf:1: auth_unix_ro: unsupported auth Polkit", 1),
        ("tcp_min_ssf = 56", "u.conf:1: minimum SSF levels lower than 112 are not supported", 1),
        ("max_workers = 0", "u.conf:1: 'max_workers' must be greater than 0", 1),
        ("host_uuid = \"not-a-uuid\"", "u.conf:1: invalid host UUID: not-a-uuid", 1),
        ("host_uuid_source = \"bios\"", "u.conf:1: invalid UUID source: bios", 1),
        ("log_level = 5", "u.conf:1: Failed to set logging priority, argument '5' is invalid", 1),
        ("timeout = 2147484", "u.conf:1: Invalid value for timeout", 1),
        ("auth_timeout = 2147484", "u.conf:1: Invalid value for auth_timeout", 1),
        ("auth_timeout = -1", "u.conf:1: expected an unsigned integer for 'auth_timeout' parameter", 1),
        ("unix_sock_rw_perms = \"0999\"", "u.conf:1: Failed to parse mode '0999'", 6),
        ("unix_sock_ro_perms = \"rw\"", "u.conf:1: Failed to parse mode 'rw'", 6),
        ("unix_sock_admin_perms = \"\"", "u.conf:1: Failed to parse mode ''", 6),
        ("unix_sock_admin_perms = 700", "u.conf:1: expected a string for 'unix_sock_admin_perms' parameter", 1),
    ];
    for (text, message, status) in cases {
        let err = rejection(text);
        assert_eq!(err.to_string(), *message, "{text:?}");
        assert_eq!(err.exit_status(), *status, "{text:?}");
    }
}

#[test]
fn type_errors_are_reported_before_startup_checks_like_libvirt() {
    // libvirt parses socket modes only when creating sockets, long after reading
    // every key, so the later type error is the one it reports.
    let err = rejection("unix_sock_rw_perms = \"bad\"\novs_timeout = \"5\"");
    assert_eq!(
        err.to_string(),
        "u.conf:2: expected an unsigned integer for 'ovs_timeout' parameter"
    );
    // Among type errors, libvirt's reading order decides, not the file order.
    let err = rejection("max_clients = \"x\"\nlisten_tcp = \"y\"");
    assert_eq!(
        err.to_string(),
        "u.conf:2: expected a bool for 'listen_tcp' parameter"
    );
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn host_uuid_resolution() {
    let dir = temp_dir();
    let machine_id = dir.path().join("machine-id");
    let given = settings("host_uuid = \"12345678-1234-1234-1234-123456789abc\"", true);
    let uuid = given.resolve_host_uuid(&machine_id).expect("usable");
    assert_eq!(uuid.map(|u| (u[0], u[15])), Some((0x12, 0xbc)));

    let zero = settings("host_uuid = \"00000000-0000-0000-0000-000000000000\"", true);
    let err = zero.resolve_host_uuid(&machine_id).expect_err("all equal");
    assert_eq!(
        err.to_string(),
        "invalid host UUID: 00000000-0000-0000-0000-000000000000"
    );

    assert_eq!(
        Settings::defaults(true).resolve_host_uuid(&machine_id),
        Ok(None)
    );

    let from_file = settings("host_uuid_source = \"machine-id\"", true);
    let err = from_file
        .resolve_host_uuid(&machine_id)
        .expect_err("no file yet");
    assert_eq!(
        err.to_string(),
        format!("Can't read {}", machine_id.display())
    );
    std::fs::write(&machine_id, "0123456789abcdef0123456789abcdef\n").expect("write");
    let uuid = from_file.resolve_host_uuid(&machine_id).expect("usable");
    assert_eq!(uuid.map(|u| (u[0], u[8])), Some((0x01, 0x01)));
}

#[test]
fn load_treats_a_missing_default_file_as_defaults_but_not_a_missing_explicit_one() {
    let dir = temp_dir();
    let missing = dir.path().join("libvirtd.conf");
    assert_eq!(load(None, &missing, false), Ok(Settings::defaults(false)));
    let err = load(Some(&missing), Path::new("/unused"), false).expect_err("explicit");
    assert_eq!(
        err.to_string(),
        format!(
            "Failed to open file '{}': No such file or directory",
            missing.display()
        )
    );
}

#[test]
fn load_reads_the_explicit_file_before_the_default_one() {
    let dir = temp_dir();
    let default_path = dir.path().join("libvirtd.conf");
    let explicit = dir.path().join("other.conf");
    std::fs::write(&default_path, "max_clients = 1\n").expect("write");
    std::fs::write(&explicit, "max_clients = 2\n").expect("write");
    assert_eq!(
        load(None, &default_path, true).map(|s| s.max_clients),
        Ok(1)
    );
    assert_eq!(
        load(Some(&explicit), &default_path, true).map(|s| s.max_clients),
        Ok(2)
    );
    std::fs::write(&default_path, "max_clients = [\n").expect("write");
    let err = load(None, &default_path, true).expect_err("syntax");
    assert_eq!(
        err.to_string(),
        format!(
            "configuration file syntax error: {}:2: list is not closed with ]",
            default_path.display()
        )
    );
}

#[test]
fn auth_timeout_defaults_to_ten_seconds_and_zero_disables_it() {
    assert_eq!(Settings::defaults(true).auth_timeout, 10);
    assert_eq!(Settings::defaults(false).auth_timeout, 10);
    assert_eq!(settings("auth_timeout = 3", true).auth_timeout, 3);
    assert_eq!(settings("auth_timeout = 0", false).auth_timeout, 0);
    assert_eq!(
        settings("auth_timeout = 4\nauth_timeout = 9", true).auth_timeout,
        4
    );
}

#[test]
fn hook_timeout_is_unset_by_default_and_zero_means_unset() {
    assert_eq!(Settings::defaults(true).hook_timeout, None);
    assert_eq!(settings("hook_timeout = 30", true).hook_timeout, Some(30));
    assert_eq!(settings("hook_timeout = 0", false).hook_timeout, None);
    let err = rejection("hook_timeout = -2");
    assert_eq!(
        err.to_string(),
        "u.conf:1: expected an unsigned integer for 'hook_timeout' parameter"
    );
}
