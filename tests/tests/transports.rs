//! The same basics over TCP (`--listen`) and over the read-only socket,
//! where reads work and writes are refused both by the client library and,
//! for raw callers, by the daemon.

use integration_tests::compare::{assert_same_output, assert_virsh_matches_reference};
use integration_tests::raw::encode;
use integration_tests::{data_file, reference_uri, virsh, virsh_args, Daemon, RawClient};
use protocol::error::RemoteError;
use protocol::programs::remote_proc;

const READS: &str =
    "version; hostname; nodeinfo; list --all; dominfo test; domstate --reason test; \
                     dumpxml test; capabilities";

#[test]
fn reads_over_tcp_match_reference() {
    let daemon = Daemon::builder().tcp().start();
    assert_virsh_matches_reference(&daemon.tcp_uri(), READS);
}

#[test]
fn lifecycle_over_tcp_matches_reference() {
    let daemon = Daemon::builder().tcp().start();
    let commands = format!(
        "define {}; start itest; suspend itest; resume itest; destroy itest; destroy itest; \
         undefine itest; list --all",
        data_file("domain.xml").display()
    );
    assert_virsh_matches_reference(&daemon.tcp_uri(), &commands);
}

#[test]
fn unix_sockets_still_work_with_listen() {
    let daemon = Daemon::builder().tcp().start();
    assert_virsh_matches_reference(&daemon.rw_uri(), "list --all");
}

#[test]
fn reads_over_the_read_only_socket_match_reference() {
    let daemon = Daemon::start();
    assert_virsh_matches_reference(&daemon.ro_uri(), READS);
}

/// virsh over the read-only socket without `-r`: the client library does
/// not know the connection is read-only, so the daemon must refuse.
#[test]
fn writes_over_the_read_only_socket_are_refused_like_reference_readonly() {
    let daemon = Daemon::start();
    let commands = format!(
        "destroy test; autostart test; define {}; list --all",
        data_file("domain.xml").display()
    );
    let reference = virsh_args(&["-r", "-c", reference_uri(), &commands]);
    let ours = virsh(&daemon.ro_uri(), &commands);
    assert_same_output(&commands, &reference, &ours);
    assert!(
        ours.stderr
            .contains("operation forbidden: read only access prevents virDomainDestroy"),
        "{ours}"
    );
}

/// `virsh -r` refuses writes locally; over our read-only socket the output
/// is the same as the reference's.
#[test]
fn virsh_readonly_flag_refuses_writes() {
    let daemon = Daemon::start();
    let commands = "destroy test; suspend test; list --all";
    let reference = virsh_args(&["-r", "-c", reference_uri(), commands]);
    let ours = virsh_args(&["-r", "-c", &daemon.ro_uri(), commands]);
    assert_same_output(commands, &reference, &ours);
}

fn assert_forbidden(error: RemoteError, api: &str) {
    assert_eq!(error.code, 29, "code of {error:?}");
    assert_eq!(error.domain, 20, "domain of {error:?}");
    assert_eq!(
        error.message.as_deref(),
        Some(format!("operation forbidden: read only access prevents {api}").as_str())
    );
}

#[test]
fn raw_mutating_calls_on_the_read_only_socket_get_error_29() {
    let daemon = Daemon::start();
    let mut client = RawClient::unix(&daemon.ro_socket());
    client.open("test:///default", 0);
    let hostname = client
        .remote(remote_proc::CONNECT_GET_HOSTNAME, &[])
        .expect_ok("GET_HOSTNAME");
    assert!(hostname.len() > 4, "empty hostname reply");
    let dom = client
        .remote(
            remote_proc::DOMAIN_LOOKUP_BY_NAME,
            &encode(&"test".to_string()),
        )
        .expect_ok("LOOKUP_BY_NAME over the read-only socket");

    let error = client
        .remote(remote_proc::DOMAIN_DESTROY, &dom)
        .expect_err("DOMAIN_DESTROY");
    assert_forbidden(error, "virDomainDestroy");

    let xml = std::fs::read_to_string(data_file("domain.xml")).expect("domain.xml");
    let error = client
        .remote(remote_proc::DOMAIN_DEFINE_XML, &encode(&xml))
        .expect_err("DOMAIN_DEFINE_XML");
    assert_forbidden(error, "virDomainDefineXML");

    let mut args = dom.clone();
    args.extend(encode(&1i32));
    let error = client
        .remote(remote_proc::DOMAIN_SET_AUTOSTART, &args)
        .expect_err("DOMAIN_SET_AUTOSTART");
    assert_forbidden(error, "virDomainSetAutostart");

    // Nothing changed, and the read-only connection still serves reads.
    client
        .remote(remote_proc::DOMAIN_GET_INFO, &dom)
        .expect_ok("GET_INFO after refusals");
    let after = virsh(
        &daemon.rw_uri(),
        "domstate test; dominfo test; list --all --name",
    )
    .expect_success("check state over the rw socket");
    assert!(after.stdout.starts_with("running\n"), "{after}");
    assert!(after.stdout.contains("Autostart:      disable"), "{after}");
    assert!(!after.stdout.contains("itest"), "{after}");
}

#[test]
fn read_only_flag_on_the_rw_socket_is_enforced_by_the_daemon() {
    let daemon = Daemon::start();
    let mut client = RawClient::unix(&daemon.rw_socket());
    client.open("test:///default", 1);
    let dom = client
        .remote(
            remote_proc::DOMAIN_LOOKUP_BY_NAME,
            &encode(&"test".to_string()),
        )
        .expect_ok("LOOKUP_BY_NAME");
    let error = client
        .remote(remote_proc::DOMAIN_DESTROY, &dom)
        .expect_err("DOMAIN_DESTROY");
    assert_forbidden(error, "virDomainDestroy");
}

#[test]
fn raw_client_over_tcp_opens_and_reads() {
    let daemon = Daemon::builder().tcp().start();
    let mut client = RawClient::tcp(daemon.tcp_port());
    client.open("test:///default", 0);
    let body = client
        .remote(remote_proc::CONNECT_GET_TYPE, &[])
        .expect_ok("GET_TYPE");
    let hv_type: String = protocol::xdr::from_bytes(&body).expect("string reply");
    assert_eq!(hv_type, "TEST");
}
