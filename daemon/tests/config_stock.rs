//! Debian 12's stock libvirtd.conf, qemu.conf and lxc.conf, with every example option
//! uncommented, must be read without error, and libvirtd.conf must give the values it
//! shows. The files are not part of this repository: `.ci/stock-conf.sh DIR` fetches
//! them from the Debian packages and the tests read them from
//! `$LIBVIRT_STOCK_CONF_DIR`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use daemon::config::{AuditLevel, AuthMethod, HostUuidSource, LogLevel, Settings};
use drivers::virconf::{ConfFile, Value};

const DIR_VARIABLE: &str = "LIBVIRT_STOCK_CONF_DIR";

/// Reads one stock file, failing with instructions when it is not available.
fn stock_file(name: &str) -> String {
    let how = format!(
        "run `.ci/stock-conf.sh DIR` (it downloads the Debian packages libvirt-daemon-system, \
         libvirt-daemon-driver-qemu and libvirt-daemon-driver-lxc and extracts \
         libvirtd.conf, qemu.conf and lxc.conf into DIR), then set {DIR_VARIABLE}=DIR"
    );
    let Some(dir) = std::env::var_os(DIR_VARIABLE).filter(|d| !d.is_empty()) else {
        panic!("{DIR_VARIABLE} is not set: {how}");
    };
    let path = PathBuf::from(dir).join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) => panic!("cannot read {}: {err}; {how}", path.display()),
    }
}

/// The stock file with every commented-out option turned into a real one, and the
/// number of options uncommented.
///
/// An option is a line `#name = value` (no blank after `#`; prose and indented
/// examples have one). When its value opens a list that does not close on the same
/// line, the following `#` lines are uncommented up to the one closing it.
fn uncomment(text: &str) -> (String, usize) {
    let mut lines = Vec::new();
    let mut options = 0;
    let mut in_list = false;
    for line in text.lines() {
        if in_list {
            let body = line.strip_prefix('#').unwrap_or(line);
            in_list = !body.contains(']');
            lines.push(body);
            continue;
        }
        match line.strip_prefix('#').filter(|body| is_assignment(body)) {
            Some(body) => {
                options += 1;
                let value = body.split_once('=').map_or("", |(_, v)| v.trim_start());
                in_list = value.starts_with('[') && !value.contains(']');
                lines.push(body);
            }
            None => lines.push(line),
        }
    }
    (lines.join("\n"), options)
}

/// `name = ...` with a virConf name right at the start of the text.
fn is_assignment(text: &str) -> bool {
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let starts_with_letter = text.starts_with(|c: char| c.is_ascii_alphabetic());
    starts_with_letter && text[name_end..].trim_start().starts_with('=')
}

fn parse_uncommented(name: &str) -> ConfFile {
    let (text, options) = uncomment(&stock_file(name));
    let conf = match ConfFile::parse(&text, name) {
        Ok(conf) => conf,
        Err(err) => panic!("uncommented stock {name} does not parse: {err}"),
    };
    assert_eq!(conf.entries().len(), options, "entries of {name}");
    assert!(options > 0, "no option found in {name}");
    conf
}

#[test]
fn stock_files_as_shipped_set_nothing() {
    for name in ["libvirtd.conf", "qemu.conf", "lxc.conf"] {
        let conf = ConfFile::parse(&stock_file(name), name).expect("stock file parses");
        assert_eq!(conf.entries(), &[], "{name}");
    }
}

/// Every libvirtd.conf key libvirt 9.0 reads, plus the two the stock file still
/// documents although 9.0 ignores them.
const LIBVIRTD_KEYS: &[&str] = &[
    "listen_tls",
    "listen_tcp",
    "tls_port",
    "tcp_port",
    "listen_addr",
    "unix_sock_group",
    "unix_sock_ro_perms",
    "unix_sock_rw_perms",
    "unix_sock_admin_perms",
    "unix_sock_dir",
    "auth_unix_ro",
    "auth_unix_rw",
    "auth_tcp",
    "auth_tls",
    "tcp_min_ssf",
    "access_drivers",
    "key_file",
    "cert_file",
    "ca_file",
    "crl_file",
    "tls_no_sanity_certificate",
    "tls_no_verify_certificate",
    "tls_allowed_dn_list",
    "tls_priority",
    "sasl_allowed_username_list",
    "max_clients",
    "max_queued_clients",
    "max_anonymous_clients",
    "min_workers",
    "max_workers",
    "prio_workers",
    "max_client_requests",
    "admin_min_workers",
    "admin_max_workers",
    "admin_max_clients",
    "admin_max_queued_clients",
    "admin_max_client_requests",
    "log_level",
    "log_filters",
    "log_outputs",
    "audit_level",
    "audit_logging",
    "host_uuid",
    "host_uuid_source",
    "keepalive_interval",
    "keepalive_count",
    "keepalive_required",
    "admin_keepalive_required",
    "admin_keepalive_interval",
    "admin_keepalive_count",
    "ovs_timeout",
];

#[test]
fn stock_libvirtd_conf_documents_exactly_the_keys_we_read() {
    let conf = parse_uncommented("libvirtd.conf");
    let found: BTreeSet<&str> = conf.entries().iter().map(|e| e.name.as_str()).collect();
    let known: BTreeSet<&str> = LIBVIRTD_KEYS.iter().copied().collect();
    assert_eq!(found, known);
}

#[test]
fn stock_libvirtd_conf_uncommented_is_accepted_with_its_values() {
    let conf = parse_uncommented("libvirtd.conf");
    for privileged in [true, false] {
        let s = match Settings::from_conf(&conf, privileged) {
            Ok(settings) => settings,
            Err(err) => panic!("stock libvirtd.conf refused: {err}"),
        };
        assert!(!s.listen_tls && s.listen_tcp);
        assert_eq!(s.listen_addr.as_deref(), Some("192.168.0.1"));
        assert_eq!(s.unix_sock_group.as_deref(), Some("libvirt"));
        assert_eq!(
            (
                s.unix_sock_ro_perms,
                s.unix_sock_rw_perms,
                s.unix_sock_admin_perms
            ),
            (0o777, 0o770, 0o700)
        );
        assert_eq!(s.unix_sock_dir, Some(PathBuf::from("/run/libvirt")));
        assert_eq!(
            (s.auth_unix_ro, s.auth_unix_rw),
            (AuthMethod::Polkit, AuthMethod::Polkit)
        );
        assert_eq!(
            (s.auth_tcp, s.auth_tls),
            (AuthMethod::Sasl, AuthMethod::None)
        );
        assert_eq!(s.tcp_min_ssf, 112);
        assert_eq!(s.access_drivers, ["polkit"]);
        assert_eq!(s.crl_file, Some(PathBuf::from("/etc/pki/CA/crl.pem")));
        assert_eq!(
            s.tls_allowed_dn_list,
            Some(vec!["DN1".into(), "DN2".into()])
        );
        assert_eq!(s.sasl_allowed_username_list.as_ref().map(Vec::len), Some(2));
        assert_eq!((s.admin_min_workers, s.admin_max_clients), (1, 5));
        assert_eq!(s.log_level, Some(LogLevel::Warning));
        assert_eq!(s.log_outputs.as_deref(), Some("3:syslog:libvirtd"));
        assert_eq!(
            (s.audit_level, s.audit_logging),
            (AuditLevel::Mandatory, true)
        );
        assert_eq!(s.host_uuid_source, HostUuidSource::Smbios);
        // The example UUID loads but, as with libvirt, is refused when put to use.
        let err = s
            .resolve_host_uuid(std::path::Path::new("/nonexistent"))
            .expect_err("all-zero example UUID");
        assert!(
            err.to_string().starts_with("invalid host UUID: 000"),
            "{err}"
        );
    }
}

#[test]
fn stock_qemu_conf_uncommented_parses_every_option() {
    let conf = parse_uncommented("qemu.conf");
    let acl = conf
        .get_string_list("cgroup_device_acl")
        .expect("string list");
    let acl = acl.expect("cgroup_device_acl present");
    assert_eq!(acl.first().map(String::as_str), Some("/dev/null"));
    assert!(acl.iter().any(|device| device == "/dev/kvm"));
    let nvram = conf.get_string_list("nvram").expect("string list");
    assert!(nvram.is_some_and(|list| list.len() >= 2));
    assert_eq!(conf.get_string("max_core"), Ok(Some("unlimited")));
    assert_eq!(conf.get_uint("remote_display_port_min"), Ok(Some(5900)));
    assert_eq!(conf.get_bool("vnc_tls"), Ok(Some(true)));
    assert_eq!(
        conf.get_string_or_list("security_driver"),
        Ok(Some(vec!["selinux".to_string()]))
    );
}

#[test]
fn stock_lxc_conf_uncommented_parses_every_option() {
    let conf = parse_uncommented("lxc.conf");
    assert_eq!(conf.get_bool("log_with_libvirtd"), Ok(Some(true)));
    assert_eq!(conf.get_string("security_driver"), Ok(Some("selinux")));
    assert_eq!(conf.get_bool("security_default_confined"), Ok(Some(true)));
    assert_eq!(conf.get_bool("security_require_confined"), Ok(Some(true)));
}

#[test]
fn uncommenting_handles_prose_and_multi_line_lists() {
    let text = "# prose = not an option\n#a = [\n#  \"x\",\n#  \"y\"\n#]\n#   b = 1\n#c=2";
    let (uncommented, options) = uncomment(text);
    assert_eq!(options, 2);
    assert_eq!(
        uncommented,
        "# prose = not an option\na = [\n  \"x\",\n  \"y\"\n]\n#   b = 1\nc=2"
    );
    let conf = ConfFile::parse(&uncommented, "t").expect("parses");
    assert_eq!(
        conf.get("a").map(|e| &e.value),
        Some(&Value::List(vec![
            Value::String("x".into()),
            Value::String("y".into())
        ]))
    );
}
