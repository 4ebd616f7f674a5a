//! Silent connections to the TLS port (connect, send nothing) hold TLS
//! handshakes that never progress. They must not keep a client with a
//! certificate from being served: handshakes are bounded in total and per
//! source address by pushing out the oldest, not by refusing new ones, and
//! with `auth_tls = "none"` they are not counted as anonymous clients.

mod tls_pki;

use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use integration_tests::tools::{run_with_deadline, virsh_command};
use integration_tests::wait_until;
use tls_pki::{start_tls_daemon, tls_uri, TestPki};

/// Longer than the 40 connections could take to be handled one by one at
/// any sane speed, far shorter than the 60 s a silent handshake may last
/// with `auth_timeout = 0`: without the bounds, virsh would wait behind
/// the silent handshakes and miss this deadline.
const SERVED_WITHIN: Duration = Duration::from_secs(20);

#[test]
fn a_client_with_a_certificate_is_served_past_40_silent_connections() {
    let pki = TestPki::new();
    let mut conf = pki.file_conf();
    // No auth_timeout: silent handshakes end only at their own deadline.
    conf.push("auth_timeout = 0".to_string());
    let (daemon, port) = start_tls_daemon(&conf);

    let silent: Vec<TcpStream> = (0..40)
        .map(|i| {
            TcpStream::connect(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("silent connection {i}: {e}"))
        })
        .collect();

    let uri = tls_uri(port, &pki.good_client);
    let out = run_with_deadline(
        virsh_command().args(["-c", &uri, "list --all"]),
        SERVED_WITHIN,
    );
    assert!(
        out.success(),
        "virsh over TLS must be served while 40 connections stay silent:\n{out}\n{}",
        daemon.log()
    );
    assert!(out.stdout.contains(" test "), "{out}");

    // The daemon closed the oldest silent handshakes to stay within the
    // per-address bound, and says so.
    let pushed_out = wait_until(Duration::from_secs(30), || {
        daemon.log().contains("TLS handshake closed to make room")
    });
    assert!(pushed_out, "evictions should be logged:\n{}", daemon.log());

    // python3-libvirt is served too, with the silent sockets still open.
    let python = integration_tests::tools::require_python_libvirt();
    let script = "import libvirt, sys\n\
         conn = libvirt.open(sys.argv[1])\n\
         print('domains', [d.name() for d in conn.listAllDomains()])\n\
         conn.close()\n";
    let mut command = Command::new(python);
    command.env("LC_ALL", "C").args(["-c", script]).arg(&uri);
    let out = run_with_deadline(&mut command, SERVED_WITHIN);
    assert!(out.success(), "python over TLS:\n{out}\n{}", daemon.log());
    assert!(out.stdout.contains("domains ['test']"), "{out}");
    drop(silent);
}
