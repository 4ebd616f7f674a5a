//! The authentication procedures as raw calls, in the orders real clients
//! never use; the answers were recorded from libvirtd 9.0 (run as root with
//! polkit on its rw socket and no system bus).

use integration_tests::polkit::PolkitBus;
use integration_tests::{DaemonBuilder, RawClient};
use protocol::programs::remote_proc as p;
use protocol::remote::AuthListRet;
use protocol::xdr;

fn polkit_daemon(address: &str) -> integration_tests::Daemon {
    DaemonBuilder::new()
        .conf("auth_unix_rw = \"polkit\"")
        .env("DBUS_SYSTEM_BUS_ADDRESS", address)
        .start()
}

#[test]
fn polkit_after_root_was_admitted_is_an_unreported_failure() {
    let bus = PolkitBus::start(&["org.libvirt.unix.manage"], &[]);
    let daemon = polkit_daemon(bus.address());
    let mut client = RawClient::unix(&daemon.rw_socket());
    let list: AuthListRet =
        xdr::from_bytes(&client.remote(p::AUTH_LIST, &[]).expect_ok("AUTH_LIST")).expect("decode");
    assert_eq!(list.types, vec![0], "root is admitted by AUTH_LIST");
    let err = client.remote(p::AUTH_POLKIT, &[]).expect_err("AUTH_POLKIT");
    assert_eq!((err.code, err.domain), (1, 7));
    assert_eq!(
        err.message.as_deref(),
        Some("Library function returned error but did not set virError")
    );
    assert_eq!(err.str1, None);
    assert!(bus.requests().is_empty(), "nobody was asked");
}

#[test]
fn polkit_before_auth_list_asks_polkitd_even_for_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = polkit_daemon(&format!("unix:path={}/none", dir.path().display()));
    let mut client = RawClient::unix(&daemon.rw_socket());
    let err = client.remote(p::AUTH_POLKIT, &[]).expect_err("AUTH_POLKIT");
    assert_eq!((err.code, err.domain), (1, 47));
    assert_eq!(
        err.message.as_deref(),
        Some(
            "internal error: Unable to get system bus connection: \
             Could not connect: No such file or directory"
        )
    );
    assert_eq!(err.str1.as_deref(), Some("internal error: %s"));
}

#[test]
fn sasl_init_fails_like_a_libvirtd_without_sasl() {
    let daemon = polkit_daemon("unix:path=/nonexistent");
    let mut client = RawClient::unix(&daemon.rw_socket());
    // Before and after AUTH_LIST alike.
    for proc_ in [p::AUTH_SASL_INIT, p::AUTH_LIST, p::AUTH_SASL_INIT] {
        if proc_ == p::AUTH_LIST {
            client.remote(proc_, &[]).expect_ok("AUTH_LIST");
            continue;
        }
        let err = client.remote(proc_, &[]).expect_err("AUTH_SASL_INIT");
        assert_eq!((err.code, err.domain), (45, 7));
        assert_eq!(
            err.message.as_deref(),
            Some("authentication failed: authentication failed")
        );
        assert_eq!(err.str1.as_deref(), Some("authentication failed: %s"));
        assert_eq!(err.str2.as_deref(), Some("authentication failed"));
    }
}
