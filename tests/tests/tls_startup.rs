//! Start-up with `listen_tls = 1` and `--listen`: the three-files rule, the
//! sanity checks of the server's own certificate and the default file
//! locations, each failure stopping the daemon with exit status 6 and
//! libvirtd's message.

mod tls_pki;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use integration_tests::{libvirtd_bin, virsh, wait_until, DaemonBuilder};
use tls_pki::{start_tls_daemon, tls_uri, Ca, TestPki, SERVER_TEMPLATE};

/// Starts a TLS daemon that must fail; returns its stderr.
fn failed_start(conf: &[String]) -> String {
    let port = integration_tests::daemon::free_tcp_port();
    let mut builder = DaemonBuilder::new()
        .log_to_stderr()
        .arg("--listen")
        .conf("listen_tls = 1")
        .conf(format!("tls_port = \"{port}\""))
        .conf("listen_addr = \"127.0.0.1\"");
    for line in conf {
        builder = builder.conf(line.clone());
    }
    let mut daemon = builder.spawn();
    let status = daemon.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(6), "{}", daemon.diagnostics());
    daemon.stderr()
}

fn assert_error(stderr: &str, message: &str) {
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(" error : ") && l.ends_with(message)),
        "expected an error line ending with {message:?}, got:\n{stderr}"
    );
}

#[test]
fn each_file_option_alone_is_refused_with_libvirts_messages() {
    let cases = [
        (
            "key_file = \"/x/key.pem\"",
            "unsupported configuration: No CA certificate path set to match server key/cert",
        ),
        (
            "ca_file = \"/x/ca.pem\"",
            "unsupported configuration: No server certificate path set to match server key",
        ),
        (
            "cert_file = \"/x/cert.pem\"",
            "unsupported configuration: No CA certificate path set to match server key/cert",
        ),
    ];
    for (line, message) in cases {
        assert_error(&failed_start(&[line.to_string()]), message);
    }
    let both = [
        "ca_file = \"/x/ca.pem\"".to_string(),
        "cert_file = \"/x/cert.pem\"".to_string(),
    ];
    assert_error(
        &failed_start(&both),
        "unsupported configuration: No server key path set to match server cert",
    );
}

#[test]
fn a_ca_certificate_as_server_certificate_stops_start_up_unless_sanity_is_off() {
    let pki = TestPki::new();
    let mut conf = vec![
        format!("key_file = \"{}\"", pki.ca.dir.join("cakey.pem").display()),
        format!("cert_file = \"{}\"", pki.ca.cert().display()),
        format!("ca_file = \"{}\"", pki.ca.cert().display()),
    ];
    assert_error(
        &failed_start(&conf),
        &format!(
            "The certificate {} basic constraints show a CA, but we need one for a server",
            pki.ca.cert().display()
        ),
    );
    conf.push("tls_no_sanity_certificate = 1".to_string());
    let (daemon, _port) = start_tls_daemon(&conf);
    drop(daemon);
}

#[test]
fn a_missing_key_stops_start_up() {
    let pki = TestPki::new();
    let key = pki.dir("absent-key.pem");
    let conf = vec![
        format!("key_file = \"{}\"", key.display()),
        format!("cert_file = \"{}\"", pki.server.0.display()),
        format!("ca_file = \"{}\"", pki.ca.cert().display()),
    ];
    assert_error(
        &failed_start(&conf),
        &format!(
            "Cannot read private key '{}': No such file or directory",
            key.display()
        ),
    );
}

#[test]
fn a_server_certificate_from_another_ca_stops_start_up() {
    let pki = TestPki::new();
    let other = Ca::new(&pki.dir("other-ca"), "Other CA");
    let (cert, key) = other.issue("server", SERVER_TEMPLATE, true);
    let conf = vec![
        format!("key_file = \"{}\"", key.display()),
        format!("cert_file = \"{}\"", cert.display()),
        format!("ca_file = \"{}\"", pki.ca.cert().display()),
    ];
    assert_error(
        &failed_start(&conf),
        &format!(
            "Our own certificate {} failed validation against {}: The certificate hasn't got a known issuer.",
            cert.display(),
            pki.ca.cert().display()
        ),
    );
}

#[test]
fn missing_default_files_are_named_in_the_error() {
    let stderr = failed_start(&[]);
    assert!(
        stderr.contains("Cannot read CA certificate '")
            && stderr.contains("/etc/pki/CA/cacert.pem': No such file or directory"),
        "{stderr}"
    );
}

/// Kills the daemon started by hand when the test ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    std::fs::copy(from, to).expect("copy");
}

#[test]
fn default_file_locations_are_used_under_the_root_directory() {
    let pki = TestPki::new();
    let root = pki.dir("root");
    copy(&pki.ca.cert(), &root.join("etc/pki/CA/cacert.pem"));
    copy(&pki.server.0, &root.join("etc/pki/libvirt/servercert.pem"));
    copy(
        &pki.server.1,
        &root.join("etc/pki/libvirt/private/serverkey.pem"),
    );
    let port = integration_tests::daemon::free_tcp_port();
    std::fs::create_dir_all(root.join("etc/libvirt")).expect("mkdir");
    std::fs::write(
        root.join("etc/libvirt/libvirtd.conf"),
        format!("tls_port = \"{port}\"\nlisten_addr = \"127.0.0.1\"\n"),
    )
    .expect("conf");
    let child = Command::new(libvirtd_bin())
        .arg("--listen")
        .env("LIBVIRTD_ROOT", &root)
        .env_remove("LISTEN_FDS")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn libvirtd");
    let _guard = KillOnDrop(child);
    assert!(
        wait_until(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }),
        "the TLS port never accepted"
    );
    let out = virsh(&tls_uri(port, &pki.good_client), "uri");
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout.trim(), tls_uri(port, &pki.good_client));
}

#[test]
fn an_activated_tls_socket_serves_tls_clients() {
    let pki = TestPki::new();
    let root = pki.dir("root");
    std::fs::create_dir_all(root.join("etc/libvirt")).expect("mkdir");
    std::fs::write(
        root.join("etc/libvirt/libvirtd.conf"),
        pki.file_conf().join("\n") + "\n",
    )
    .expect("conf");
    let port = integration_tests::daemon::free_tcp_port();
    let activate = integration_tests::tools::require_tool("systemd-socket-activate", "systemd");
    let child = Command::new(activate)
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg("--fdname=libvirtd-tls.socket")
        .arg(format!("--setenv=LIBVIRTD_ROOT={}", root.display()))
        .arg(libvirtd_bin())
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn systemd-socket-activate");
    let _guard = KillOnDrop(child);
    assert!(
        wait_until(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }),
        "the activation socket never accepted"
    );
    let out = virsh(&tls_uri(port, &pki.good_client), "list --all");
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains(" test "), "{out}");
}
