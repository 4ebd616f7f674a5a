//! libvirt-guests over TLS: libvirt's client files from `pkipath`, the server's
//! confirmation byte, and a refused client skipped like an unreachable URI.

mod guests_support;
mod tls_pki;

use guests_support::{configure, domstate, list_lines, run};
use tls_pki::{client_pki, start_tls_daemon, tls_uri, TestPki};

#[test]
fn suspend_and_resume_over_tls() {
    let pki = TestPki::new();
    let (daemon, port) = start_tls_daemon(&pki.file_conf());
    let uri = tls_uri(port, &pki.good_client);
    configure(
        &daemon,
        &format!("URIS='{uri}'\nON_SHUTDOWN=suspend\nON_BOOT=start\n"),
    );
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");
    assert!(stop.stdout.contains("Suspending test: done\n"), "{stop}");
    assert_eq!(domstate(&daemon, "test"), "shut off (saved)");
    assert_eq!(list_lines(&daemon).len(), 1);

    let start = run(&daemon, "start");
    assert_eq!(start.code(), Some(0), "{start}");
    assert!(
        start.stdout.contains("Resuming guest test: done\n"),
        "{start}"
    );
    assert_eq!(domstate(&daemon, "test"), "running (booted)");
}

#[test]
fn a_client_without_certificate_is_skipped() {
    let pki = TestPki::new();
    let (daemon, port) = start_tls_daemon(&pki.file_conf());
    let anonymous = client_pki(&pki.dir("anonymous"), &pki.ca, None);
    let refused = tls_uri(port, &anonymous);
    configure(
        &daemon,
        &format!(
            "URIS=\"{refused} {}\"\nON_SHUTDOWN=suspend\n",
            daemon.rw_uri()
        ),
    );
    let stop = run(&daemon, "stop");
    assert_eq!(stop.code(), Some(0), "{stop}");
    assert!(
        stop.stdout
            .starts_with(&format!("Can't connect to {refused}. Skipping.\n")),
        "{stop}"
    );
    assert!(stop.stdout.contains("Suspending test: done\n"), "{stop}");
}
