//! Migration between two of our daemons reached over `qemu+tls://` (their TLS
//! listeners with certtool-made certificates), direct and `--p2p` (the source
//! daemon opens the TLS connection to the destination with its own client
//! certificate, as libvirt does), and `--tls` for the guest's state itself:
//! both QEMUs get TLS credentials from `<root>/etc/pki/qemu`, the migration
//! parameter `tls-creds` is set on both during the job, and a destination whose
//! QEMU certificate another CA signed makes the migration fail.

mod qemu_support;
mod tls_pki;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use integration_tests::{virsh, wait_until};
use qemu_support::QemuHost;
use tls_pki::{client_pki, Ca, CLIENT_TEMPLATE, SERVER_TEMPLATE};

/// The daemon's own files (server and client) and QEMU's, as libvirt lays them out.
fn install_pki(root: &Path, ca: &Ca, server: &(PathBuf, PathBuf), client: &(PathBuf, PathBuf)) {
    let copy = |from: &Path, to: &str| {
        let to = root.join(to);
        fs::create_dir_all(to.parent().expect("parent")).expect("pki dir");
        fs::copy(from, &to).expect("copy pki file");
    };
    copy(&ca.cert(), "etc/pki/CA/cacert.pem");
    copy(&server.0, "etc/pki/libvirt/servercert.pem");
    copy(&server.1, "etc/pki/libvirt/private/serverkey.pem");
    copy(&client.0, "etc/pki/libvirt/clientcert.pem");
    copy(&client.1, "etc/pki/libvirt/private/clientkey.pem");
    copy(&ca.cert(), "etc/pki/qemu/ca-cert.pem");
    copy(&server.0, "etc/pki/qemu/server-cert.pem");
    copy(&server.1, "etc/pki/qemu/server-key.pem");
    copy(&client.0, "etc/pki/qemu/client-cert.pem");
    copy(&client.1, "etc/pki/qemu/client-key.pem");
}

/// A daemon listening on TLS (and its UNIX socket), with incoming migrations
/// on loopback ports of `ports`, plus its TLS port.
fn tls_host(
    ca: &Ca,
    certs: &(PathBuf, PathBuf, PathBuf, PathBuf),
    ports: (u16, u16),
    extra_qemu_conf: &str,
) -> (QemuHost, u16) {
    let mut host = QemuHost::start();
    host.kill_daemon();
    install_pki(
        host.root(),
        ca,
        &(certs.0.clone(), certs.1.clone()),
        &(certs.2.clone(), certs.3.clone()),
    );
    let port = integration_tests::daemon::free_tcp_port();
    let conf = host.root().join("etc/libvirt/libvirtd.conf");
    let mut text = fs::read_to_string(&conf).expect("read libvirtd.conf");
    text.push_str(&format!(
        "listen_tls = 1\nlisten_tcp = 0\ntls_port = \"{port}\"\nlisten_addr = \"127.0.0.1\"\n"
    ));
    fs::write(&conf, text).expect("write libvirtd.conf");
    fs::write(
        host.root().join("etc/libvirt/qemu.conf"),
        format!(
            "migration_address = \"127.0.0.1\"\nmigration_host = \"127.0.0.1\"\n\
             migration_port_min = {}\nmigration_port_max = {}\n{extra_qemu_conf}",
            ports.0, ports.1
        ),
    )
    .expect("write qemu.conf");
    host.set_daemon_args(&["--listen"]);
    host.start_daemon();
    let listening = wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(listening, "no TLS listener\n{}", host.diagnostics());
    (host, port)
}

/// Defines the tiny guest `name` on `host`, its kernel told to skip the
/// IO-APIC timer check that TCG on a loaded machine sometimes fails (a panic
/// at boot that has nothing to do with migration).
fn define_guest(host: &QemuHost, name: &str) {
    let file = host.root().join(format!("{name}.xml"));
    let xml = host
        .guest_xml(name)
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check");
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
}

struct Pki {
    _tmp: tempfile::TempDir,
    ca: Ca,
    /// server cert, server key, client cert, client key
    certs: (PathBuf, PathBuf, PathBuf, PathBuf),
    /// A virsh `pkipath` with the client's files.
    client_dir: PathBuf,
}

fn make_pki() -> Pki {
    let tmp = tempfile::Builder::new()
        .prefix("migtls-")
        .tempdir()
        .expect("tempdir");
    let ca = Ca::new(&tmp.path().join("ca"), "Migration CA");
    let server = ca.issue("server", SERVER_TEMPLATE, true);
    let client = ca.issue("client", CLIENT_TEMPLATE, true);
    let client_dir = client_pki(&tmp.path().join("virsh"), &ca, Some(&client));
    Pki {
        ca,
        certs: (server.0, server.1, client.0, client.1),
        client_dir,
        _tmp: tmp,
    }
}

fn tls_uri(port: u16, pkipath: Option<&Path>) -> String {
    match pkipath {
        Some(dir) => format!(
            "qemu+tls://localhost:{port}/system?pkipath={}",
            dir.display()
        ),
        // libvirt's client refuses peer-to-peer URIs naming "localhost".
        None => format!("qemu+tls://127.0.0.1:{port}/system"),
    }
}

/// QEMU's current value of migration parameter `name` for guest `name`.
fn qemu_migration_param(uri: &str, guest: &str, name: &str) -> String {
    let out = virsh(
        uri,
        &format!("qemu-monitor-command {guest} '{{\"execute\":\"query-migrate-parameters\"}}'"),
    );
    let value: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
    value["return"][name].as_str().unwrap_or("").to_string()
}

#[test]
fn migration_over_tls_connections_and_a_tls_stream() {
    let pki = make_pki();
    let (src, src_port) = tls_host(&pki.ca, &pki.certs, (49411, 49420), "");
    let (dst, dst_port) = tls_host(&pki.ca, &pki.certs, (49421, 49430), "");
    let src_tls = tls_uri(src_port, Some(&pki.client_dir));
    let dst_tls = tls_uri(dst_port, Some(&pki.client_dir));
    define_guest(&src, "t1");
    src.virsh_ok("start t1");
    src.wait_booted("t1", 1);

    // Direct, both daemons reached over TLS by virsh, the QEMU stream in TLS.
    // Slowed down so that the parameters can be seen during the job.
    src.virsh_ok("migrate-setspeed t1 40");
    let uri = src_tls.clone();
    let target = dst_tls.clone();
    let migrate =
        std::thread::spawn(move || virsh(&uri, &format!("migrate --live --tls t1 '{target}'")));
    let mut seen_src = false;
    let mut seen_dst = false;
    let during = wait_until(Duration::from_secs(60), || {
        seen_src |=
            qemu_migration_param(&src.uri(), "t1", "tls-creds") == "objlibvirt_migrate_tls0";
        seen_dst |=
            qemu_migration_param(&dst.uri(), "t1", "tls-creds") == "objlibvirt_migrate_tls0";
        seen_src && seen_dst
    });
    let out = migrate.join().expect("virsh thread");
    assert!(
        out.success(),
        "migrate --tls failed: {}\n{}",
        out.stderr,
        dst.diagnostics()
    );
    assert!(
        during,
        "tls-creds not seen on both QEMUs (source {seen_src}, destination {seen_dst})"
    );
    assert_eq!(dst.domstate("t1"), "running (migrated)");
    assert_eq!(src.domstate("t1"), "shut off (migrated)");
    // The destination's QEMU kept its TLS endpoint: the hostname is empty
    // on a server, the credentials stay named until QEMU exits.
    assert_eq!(src.boot_count("t1"), 1, "the guest rebooted");

    // Peer to peer: the destination daemon reached by the destination's own
    // daemon over TLS with its client certificate (no pkipath in the URI).
    dst.virsh_ok(&format!(
        "migrate --live --p2p --tls t1 '{}'",
        tls_uri(src_port, None)
    ));
    assert_eq!(src.domstate("t1"), "running (migrated)");
    assert_eq!(src.boot_count("t1"), 1, "the guest rebooted");

    // Peer to peer over TLS without --tls for the stream, then back.
    src.virsh_ok(&format!(
        "migrate --live --p2p t1 '{}'",
        tls_uri(dst_port, None)
    ));
    assert_eq!(dst.domstate("t1"), "running (migrated)");

    // The same guest, booted once, answers the power button on the last host
    // (transient there: it goes once off).
    dst.virsh_ok("shutdown t1");
    let off = wait_until(qemu_support::STATE_TIMEOUT, || dst.guest_pids().is_empty());
    assert!(off, "the guest did not power off\n{}", dst.diagnostics());
    let serial = fs::read_to_string(src.serial_log("t1")).unwrap_or_default();
    assert!(serial.contains("TINY-GUEST-POWEROFF"), "{serial}");
    assert_eq!(src.boot_count("t1"), 1);
}

#[test]
fn tls_stream_checks_certificates_and_configuration() {
    let pki = make_pki();
    let (src, _) = tls_host(
        &pki.ca,
        &pki.certs,
        (49431, 49440),
        "migrate_tls_force = 1\n",
    );
    let (dst, _) = tls_host(&pki.ca, &pki.certs, (49441, 49450), "");
    define_guest(&src, "t2");
    src.virsh_ok("start t2");
    src.wait_booted("t2", 1);

    // migrate_tls_force refuses a migration in the clear.
    let out = src.virsh(&format!("migrate --live t2 '{}'", dst.uri()));
    assert!(!out.success());
    assert!(
        out.stderr.contains(
            "Requested operation is not valid: this libvirtd instance allows migration only \
             with VIR_MIGRATE_TLS flag"
        ),
        "{}",
        out.stderr
    );

    // A destination QEMU whose certificate another CA signed: the source's
    // QEMU refuses it during the TLS handshake and the guest stays.
    let other = Ca::new(&pki.ca.dir.parent().expect("tmp").join("other"), "Other CA");
    let (bad_cert, bad_key) = other.issue("server", SERVER_TEMPLATE, true);
    fs::copy(&bad_cert, dst.root().join("etc/pki/qemu/server-cert.pem")).expect("copy");
    fs::copy(&bad_key, dst.root().join("etc/pki/qemu/server-key.pem")).expect("copy");
    let out = src.virsh(&format!("migrate --live --tls t2 '{}'", dst.uri()));
    assert!(!out.success(), "migration to an untrusted QEMU succeeded");
    assert_eq!(src.domstate("t2"), "running (booted)");
    let gone = wait_until(Duration::from_secs(30), || dst.guest_pids().is_empty());
    assert!(gone, "the destination kept its QEMU");

    // Without QEMU's files the destination's QEMU cannot load its credentials.
    fs::remove_dir_all(dst.root().join("etc/pki/qemu")).expect("remove pki/qemu");
    let out = src.virsh(&format!("migrate --live --tls t2 '{}'", dst.uri()));
    assert!(!out.success());
    assert!(
        out.stderr.contains(
            "internal error: unable to execute QEMU command 'object-add': \
             Unable to access credentials"
        ) && out.stderr.contains("etc/pki/qemu/ca-cert.pem"),
        "{}",
        out.stderr
    );
    assert_eq!(src.domstate("t2"), "running (booted)");
    src.virsh_ok("destroy t2");
}
