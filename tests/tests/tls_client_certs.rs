//! TLS with x509 client certificates: real virsh and python3-libvirt over
//! `test+tls://`, every refusal libvirtd makes after the handshake, and the
//! two ways to be admitted anyway (a wildcard DN entry,
//! `tls_no_verify_certificate`).

mod tls_pki;

use std::process::Command;

use integration_tests::tools::{require_python_libvirt, run_with_deadline, CLIENT_TIMEOUT};
use integration_tests::{virsh, virt_admin, wait_until, Daemon};
use tls_pki::{
    client_pki, client_pki_trusting, start_tls_daemon, tls_uri, Ca, TestPki, CLIENT_DN, REFUSED,
};

fn assert_admitted(port: u16, pkipath: &std::path::Path) {
    let out = virsh(&tls_uri(port, pkipath), "list --all");
    assert!(out.success(), "virsh over TLS should work:\n{out}");
    assert!(out.stdout.contains(" test "), "{out}");
}

fn assert_refused(daemon: &Daemon, port: u16, pkipath: &std::path::Path, warning: &str) {
    assert_uri_refused(daemon, &tls_uri(port, pkipath), warning);
}

fn assert_uri_refused(daemon: &Daemon, uri: &str, warning: &str) {
    let out = virsh(uri, "list --all");
    assert!(!out.success(), "virsh should be refused:\n{out}");
    assert!(
        out.stderr.contains(REFUSED),
        "virsh should see libvirt's refusal:\n{out}"
    );
    let logged = wait_until(std::time::Duration::from_secs(10), || {
        daemon.log().contains(warning)
    });
    assert!(
        logged,
        "the daemon should log {warning:?}\n{}",
        daemon.log()
    );
}

#[test]
fn virsh_and_python_work_with_a_valid_client_certificate() {
    let pki = TestPki::new();
    let (daemon, port) = start_tls_daemon(&pki.file_conf());
    assert_admitted(port, &pki.good_client);

    // python3-libvirt holds a connection while virt-admin looks at it: the
    // client is listed as a TLS client with its certificate's DN.
    let script = "import libvirt, subprocess, sys\n\
         conn = libvirt.open(sys.argv[1])\n\
         print('version', conn.getLibVersion())\n\
         print('domains', [d.name() for d in conn.listAllDomains()])\n\
         out = subprocess.run(['virt-admin', '-c', sys.argv[2], 'srv-clients-list libvirtd'], capture_output=True, text=True)\n\
         print(out.stdout)\n\
         ids = [l.split()[0] for l in out.stdout.splitlines() if 'tls' in l.split()]\n\
         for i in ids:\n\
         \x20   info = subprocess.run(['virt-admin', '-c', sys.argv[2], 'client-info libvirtd ' + i], capture_output=True, text=True)\n\
         \x20   print(info.stdout, info.stderr)\n\
         conn.close()\n";
    let mut command = Command::new(require_python_libvirt());
    command
        .env("LC_ALL", "C")
        .args(["-c", script])
        .arg(tls_uri(port, &pki.good_client))
        .arg(daemon.admin_uri());
    let out = run_with_deadline(&mut command, CLIENT_TIMEOUT);
    assert!(out.success(), "python over TLS:\n{out}");
    assert!(out.stdout.contains("version 9000000"), "{out}");
    assert!(out.stdout.contains("domains ['test']"), "{out}");
    assert!(
        out.stdout.contains("transport      : tls"),
        "virt-admin client-info should show a TLS client:\n{out}"
    );
    assert!(
        out.stdout
            .contains(&format!("tls_x509_dname : {CLIENT_DN}\n")),
        "virt-admin client-info should show the DN:\n{out}"
    );
}

#[test]
fn bad_client_certificates_are_refused_and_good_ones_still_served() {
    let pki = TestPki::new();
    let tmp = pki.tmp.path();
    // Certificates this CA issued but that fail libvirt's checks.
    let revoked = pki.ca.issue("revoked", tls_pki::CLIENT_TEMPLATE, true);
    let expired = pki.ca.issue(
        "expired",
        "cn = expired\ntls_www_client\nsigning_key\nencryption_key\n\
         activation_date = \"2001-01-01 00:00:00 UTC\"\n\
         expiration_date = \"2002-01-01 00:00:00 UTC\"\n",
        true,
    );
    let foreign_dn = pki.ca.issue(
        "foreign",
        "country = FR\norganization = Elsewhere\ncn = intruder\ntls_www_client\n\
         signing_key\nencryption_key\nexpiration_days = 30\n",
        true,
    );
    let crl = pki.ca.revoke(&[&revoked.0]);
    let other_ca = Ca::new(&tmp.join("other-ca"), "Some Other CA");
    let stranger = other_ca.issue("client", tls_pki::CLIENT_TEMPLATE, true);

    let mut conf = pki.file_conf();
    conf.push(format!("crl_file = \"{}\"", crl.display()));
    conf.push("tls_allowed_dn_list = [\"C=GB,*\", \"*,CN=expired\"]".to_string());
    let (daemon, port) = start_tls_daemon(&conf);

    let none = client_pki(&tmp.join("none"), &pki.ca, None);
    assert_refused(
        &daemon,
        port,
        &none,
        "Certificate check failed Unable to verify TLS peer: No certificate was found.",
    );
    let other = client_pki_trusting(&tmp.join("other"), &[&pki.ca, &other_ca], Some(&stranger));
    assert_refused(
        &daemon,
        port,
        &other,
        "Certificate failed validation: The certificate hasn't got a known issuer.",
    );
    // virsh would refuse to send an expired certificate unless told not to
    // check its own files.
    let old = client_pki(&tmp.join("expired"), &pki.ca, Some(&expired));
    assert_uri_refused(
        &daemon,
        &format!("{}&no_sanity=1", tls_uri(port, &old)),
        "Certificate failed validation: The certificate is not trusted.",
    );
    let gone = client_pki(&tmp.join("revoked"), &pki.ca, Some(&revoked));
    assert_refused(
        &daemon,
        port,
        &gone,
        "Certificate failed validation: The certificate has been revoked.",
    );
    let outsider = client_pki(&tmp.join("foreign"), &pki.ca, Some(&foreign_dn));
    assert_refused(
        &daemon,
        port,
        &outsider,
        "Client's Distinguished Name is not on the list of allowed clients",
    );
    // `C=GB,*` admits the good client; the refusals changed nothing.
    assert_admitted(port, &pki.good_client);
    let clients = virt_admin(&daemon.admin_uri(), "srv-clients-info libvirtd");
    let connected = clients
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("nclients"))
        .and_then(|l| l.rsplit(':').next())
        .map(str::trim);
    assert_eq!(
        connected,
        Some("0"),
        "no refused client may linger:\n{clients}"
    );
}

#[test]
fn an_empty_dn_list_admits_nobody() {
    let pki = TestPki::new();
    let mut conf = pki.file_conf();
    conf.push("tls_allowed_dn_list = []".to_string());
    let (daemon, port) = start_tls_daemon(&conf);
    assert_refused(
        &daemon,
        port,
        &pki.good_client,
        "Client's Distinguished Name is not on the list of allowed clients",
    );
}

#[test]
fn no_verify_certificate_admits_missing_and_foreign_certificates() {
    let pki = TestPki::new();
    let tmp = pki.tmp.path();
    let other_ca = Ca::new(&tmp.join("other-ca"), "Some Other CA");
    let stranger = other_ca.issue("client", tls_pki::CLIENT_TEMPLATE, true);
    let mut conf = pki.file_conf();
    conf.push("tls_no_verify_certificate = 1".to_string());
    conf.push("tls_allowed_dn_list = []".to_string());
    let (daemon, port) = start_tls_daemon(&conf);
    assert_admitted(port, &client_pki(&tmp.join("none"), &pki.ca, None));
    let other = client_pki_trusting(&tmp.join("other"), &[&pki.ca, &other_ca], Some(&stranger));
    assert_admitted(port, &other);
    assert!(
        daemon
            .log()
            .contains("Ignoring bad certificate at user request"),
        "{}",
        daemon.log()
    );
}
