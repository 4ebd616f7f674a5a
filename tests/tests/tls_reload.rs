//! Certificate rotation without a restart: SIGHUP (and `virt-admin
//! server-update-tls`) re-read the CA, CRL, certificate and key; sessions
//! opened before keep working, new ones see the new certificate, and a
//! broken new file leaves the previous credentials in use.

mod tls_pki;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use integration_tests::tools::require_python_libvirt;
use integration_tests::{virsh, virt_admin, wait_until, Daemon};
use tls_pki::{
    client_pki, start_tls_daemon, tls_uri, Ca, TestPki, CLIENT_TEMPLATE, SERVER_TEMPLATE,
};

/// A python3-libvirt client that keeps its connection open and makes one
/// call for every line it reads.
struct HeldConnection {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl HeldConnection {
    fn open(uri: &str) -> HeldConnection {
        let script = "import libvirt, sys\n\
                      conn = libvirt.open(sys.argv[1])\n\
                      print('open', conn.getLibVersion(), flush=True)\n\
                      for line in sys.stdin:\n\
                      \x20   print('call', conn.getLibVersion(), flush=True)\n";
        let mut child = Command::new(require_python_libvirt())
            .env("LC_ALL", "C")
            .args(["-c", script, uri])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn python3");
        let stdout = child.stdout.take().expect("stdout");
        let mut held = HeldConnection {
            child,
            lines: BufReader::new(stdout).lines(),
        };
        assert_eq!(held.next_line(), "open 9000000");
        held
    }

    fn next_line(&mut self) -> String {
        match self.lines.next() {
            Some(Ok(line)) => line,
            other => panic!("python client ended: {other:?}"),
        }
    }

    /// One more call on the old connection.
    fn call(&mut self) -> String {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").expect("write to python");
        stdin.flush().expect("flush");
        self.next_line()
    }
}

impl Drop for HeldConnection {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_log(daemon: &Daemon, text: &str, occurrences: usize) {
    let seen = wait_until(Duration::from_secs(15), || {
        daemon.log().matches(text).count() >= occurrences
    });
    assert!(seen, "expected {text:?} in the log\n{}", daemon.log());
}

#[test]
fn sighup_rotates_certificates_and_keeps_existing_sessions() {
    let pki = TestPki::new();
    // The daemon reads its files from these fixed paths.
    let live = pki.dir("live");
    std::fs::create_dir_all(&live).expect("mkdir");
    let (ca_path, cert_path, key_path) = (
        live.join("cacert.pem"),
        live.join("servercert.pem"),
        live.join("serverkey.pem"),
    );
    std::fs::copy(pki.ca.cert(), &ca_path).expect("copy");
    std::fs::copy(&pki.server.0, &cert_path).expect("copy");
    std::fs::copy(&pki.server.1, &key_path).expect("copy");
    let conf = vec![
        format!("key_file = \"{}\"", key_path.display()),
        format!("cert_file = \"{}\"", cert_path.display()),
        format!("ca_file = \"{}\"", ca_path.display()),
    ];
    let (daemon, port) = start_tls_daemon(&conf);
    let mut before = HeldConnection::open(&tls_uri(port, &pki.good_client));

    // A new CA, a new server certificate and a client of the new CA.
    let new_ca = Ca::new(&pki.dir("new-ca"), "Rotated CA");
    let (new_cert, new_key) = new_ca.issue("server", SERVER_TEMPLATE, true);
    let new_client = new_ca.issue("client", CLIENT_TEMPLATE, true);
    let new_client_pki = client_pki(&pki.dir("new-client"), &new_ca, Some(&new_client));
    std::fs::copy(new_ca.cert(), &ca_path).expect("copy");
    std::fs::copy(&new_cert, &cert_path).expect("copy");
    std::fs::copy(&new_key, &key_path).expect("copy");
    daemon.signal(libc::SIGHUP);
    wait_for_log(&daemon, "TLS credentials reloaded", 1);

    assert_eq!(before.call(), "call 9000000", "the old session continues");
    let fresh = virsh(&tls_uri(port, &new_client_pki), "list --all");
    assert!(
        fresh.success(),
        "a client of the new CA is served:\n{fresh}"
    );
    let stale = virsh(&tls_uri(port, &pki.good_client), "list --all");
    assert!(
        !stale.success(),
        "a client trusting only the old CA must now fail to verify the server:\n{stale}"
    );

    // A broken certificate file: the reload fails and the new credentials stay.
    std::fs::write(&cert_path, "not a certificate\n").expect("write");
    daemon.signal(libc::SIGHUP);
    wait_for_log(
        &daemon,
        "TLS reload failed, keeping the previous credentials",
        1,
    );
    let still = virsh(&tls_uri(port, &new_client_pki), "list --all");
    assert!(
        still.success(),
        "the previous credentials stay in use:\n{still}"
    );
    assert_eq!(before.call(), "call 9000000");

    // virt-admin server-update-tls reloads the same way, once the file is fixed.
    std::fs::copy(&new_cert, &cert_path).expect("copy");
    let update = virt_admin(&daemon.admin_uri(), "server-update-tls libvirtd");
    assert!(update.success(), "{update}");
    wait_for_log(&daemon, "TLS credentials reloaded", 2);
}

#[test]
fn sighup_applies_a_new_dn_list() {
    let pki = TestPki::new();
    let mut conf = pki.file_conf();
    let conf_dn_line = conf.len();
    conf.push("tls_allowed_dn_list = [\"C=GB,*\"]".to_string());
    let (daemon, port) = start_tls_daemon(&conf);
    let uri = tls_uri(port, &pki.good_client);
    assert!(virsh(&uri, "list").success());

    // Same file, with the list now naming someone else.
    let text = std::fs::read_to_string(daemon.conf_file()).expect("read conf");
    let old_line = &conf[conf_dn_line];
    let text = text.replacen(old_line, "tls_allowed_dn_list = [\"CN=someone-else\"]", 1);
    daemon.rewrite_conf(&text);
    daemon.signal(libc::SIGHUP);
    wait_for_log(&daemon, "TLS credentials reloaded", 1);
    let out = virsh(&uri, "list");
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains(tls_pki::REFUSED), "{out}");
}
