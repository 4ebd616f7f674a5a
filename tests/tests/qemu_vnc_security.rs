//! VNC protection is enforced on real guests, never silently dropped: `passwd` of the
//! definition and `vnc_password` of qemu.conf make QEMU ask for a password (QMP
//! `query-vnc` reports VNC authentication), `vnc_tls` puts the display behind TLS
//! with the configured certificates, `vnc_sasl` (not implemented) refuses the start,
//! and `passwd` stays in the persistent definition but shows only with
//! `--security-info`.

mod qemu_support;
mod tls_pki;

use std::fs;

use qemu_support::QemuHost;
use serde_json::Value;

/// The tiny guest `name` with one VNC display carrying `graphics_attrs`.
fn define_vnc_guest(host: &QemuHost, name: &str, graphics_attrs: &str) {
    let xml = host.guest_xml(name).replace(
        "</devices>",
        &format!("<graphics type='vnc' {graphics_attrs}/></devices>"),
    );
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
}

/// QMP `query-vnc` through `virsh qemu-monitor-command --pretty`.
fn query_vnc(host: &QemuHost, name: &str) -> Value {
    let text = host.virsh_ok(&format!(
        "qemu-monitor-command {name} --pretty '{{\"execute\":\"query-vnc\"}}'"
    ));
    let reply: Value = serde_json::from_str(&text).expect("query-vnc reply is JSON");
    reply["return"].clone()
}

fn write_qemu_conf(host: &mut QemuHost, text: &str) {
    host.kill_daemon();
    fs::write(host.root().join("etc/libvirt/qemu.conf"), text).expect("write qemu.conf");
    host.start_daemon();
}

#[test]
fn graphics_passwd_is_enforced_and_kept_secret() {
    let mut host = QemuHost::start();
    define_vnc_guest(&host, "pw", "passwd='x'");

    let stored = fs::read_to_string(host.root().join("etc/libvirt/qemu/pw.xml")).expect("config");
    assert!(stored.contains("passwd='x'"), "{stored}");
    assert!(!host.virsh_ok("dumpxml --inactive pw").contains("passwd="));
    assert!(host
        .virsh_ok("dumpxml --inactive --security-info pw")
        .contains("passwd='x'"));

    host.virsh_ok("start pw");
    let vnc = query_vnc(&host, "pw");
    assert_eq!(vnc["enabled"], true, "{vnc}");
    assert_eq!(
        vnc["auth"], "vnc",
        "password authentication expected: {vnc}"
    );
    assert!(!host.virsh_ok("dumpxml pw").contains("passwd="));
    assert!(host
        .virsh_ok("dumpxml --security-info pw")
        .contains("passwd='x'"));

    // After a daemon restart the persistent definition still holds the password.
    host.kill_daemon();
    host.start_daemon();
    assert!(host
        .virsh_ok("dumpxml --inactive --security-info pw")
        .contains("passwd='x'"));
    host.virsh_ok("destroy pw");

    // An expiry time is handed to QEMU too (expire_password), which accepts it.
    define_vnc_guest(
        &host,
        "expiring",
        "passwd='x' passwdValidTo='2099-01-01T00:00:00'",
    );
    host.virsh_ok("start expiring");
    assert_eq!(query_vnc(&host, "expiring")["auth"], "vnc");
    host.virsh_ok("destroy expiring");

    // qemu.conf's vnc_password covers displays without a passwd of their own.
    write_qemu_conf(&mut host, "vnc_password = \"from-conf\"\n");
    define_vnc_guest(&host, "confpw", "");
    host.virsh_ok("start confpw");
    let vnc = query_vnc(&host, "confpw");
    assert_eq!(vnc["auth"], "vnc", "{vnc}");
    host.virsh_ok("destroy confpw");

    // Without any password the display is open: the difference is real.
    write_qemu_conf(&mut host, "");
    host.virsh_ok("start confpw");
    let vnc = query_vnc(&host, "confpw");
    assert_eq!(vnc["auth"], "none", "{vnc}");
    host.virsh_ok("destroy confpw");
}

#[test]
fn vnc_tls_is_enforced_and_vnc_sasl_refused() {
    let mut host = QemuHost::start();
    let pki = host.root().join("etc/pki/qemu");
    let ca = tls_pki::Ca::new(&pki, "Test VNC CA");
    let (cert, key) = ca.issue("server", tls_pki::SERVER_TEMPLATE, true);
    fs::rename(ca.cert(), pki.join("ca-cert.pem")).expect("ca-cert.pem");
    fs::rename(cert, pki.join("server-cert.pem")).expect("server-cert.pem");
    fs::rename(key, pki.join("server-key.pem")).expect("server-key.pem");

    write_qemu_conf(&mut host, "vnc_tls = 1\n");
    define_vnc_guest(&host, "tls", "passwd='x'");
    host.virsh_ok("start tls");
    let vnc = query_vnc(&host, "tls");
    assert_eq!(
        vnc["auth"], "vencrypt+x509+vnc",
        "TLS with x509 certificates and a password expected: {vnc}"
    );
    host.virsh_ok("destroy tls");

    write_qemu_conf(&mut host, "vnc_sasl = 1\n");
    let out = host.virsh("start tls");
    assert!(
        !out.success(),
        "started without the SASL it was asked for: {out}"
    );
    assert!(out.stderr.contains("vnc_sasl"), "{out}");
    assert!(host.guest_pids().is_empty(), "a guest was left running");
}
