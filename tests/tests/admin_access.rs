//! Who may use the admin socket, and the errors of the admin program for
//! requests virt-admin itself never makes (sent with the raw client).

mod admin_support;

use std::os::unix::fs::PermissionsExt;

use admin_support::{admin, admin_call, raw_admin, server};
use integration_tests::raw::{encode, Reply};
use integration_tests::{Daemon, RawClient};
use protocol::admin::*;
use protocol::programs::{admin_proc, remote_proc, REMOTE_PROGRAM};
use protocol::typed_param::{TypedParam, TypedParamValue};
use protocol::xdr;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn admin_socket_is_private_by_default() {
    let daemon = Daemon::start();
    assert_eq!(mode(&daemon.admin_socket()), 0o700);
}

#[test]
fn admin_socket_permissions_come_from_unix_sock_admin_perms() {
    let daemon = Daemon::builder()
        .conf("unix_sock_admin_perms = \"0770\"")
        .start();
    assert_eq!(mode(&daemon.admin_socket()), 0o770);
    admin(&daemon, "srv-list").expect_success("served");
}

#[test]
fn the_remote_program_is_not_served_on_the_admin_socket() {
    let daemon = Daemon::start();
    let mut client = RawClient::unix(&daemon.admin_socket());
    let err = client
        .call(REMOTE_PROGRAM, remote_proc::AUTH_LIST, &[])
        .expect_err("remote program on the admin socket");
    assert_eq!((err.code, err.domain), (39, 7));
    assert_eq!(
        err.message.as_deref(),
        Some("Cannot find program 536903814 version 1")
    );
}

#[test]
fn lookup_of_an_unknown_server_matches_the_recording() {
    let daemon = Daemon::start();
    let mut client = raw_admin(&daemon);
    let args = encode(&ConnectLookupServerArgs {
        name: "nosuchserver".into(),
        flags: 0,
    });
    let err = admin_call(&mut client, admin_proc::CONNECT_LOOKUP_SERVER, &args)
        .expect_err("unknown server");
    // raw-server-probes.txt §13, field by field.
    assert_eq!((err.code, err.domain, err.level), (95, 7, 2));
    assert_eq!(
        err.message.as_deref(),
        Some("Server not found: No server named 'nosuchserver'")
    );
    assert_eq!(err.str1.as_deref(), Some("Server not found: %s"));
    assert_eq!(err.str2.as_deref(), Some("No server named 'nosuchserver'"));
    assert_eq!((err.str3, err.int1, err.int2), (None, -1, -1));
}

#[test]
fn setters_and_client_info_use_the_admin_wording_for_unknown_objects() {
    let daemon = Daemon::start();
    let mut client = raw_admin(&daemon);
    let args = encode(&ServerSetThreadpoolParametersArgs {
        srv: server("nosuchserver"),
        params: vec![],
        flags: 0,
    });
    let err = admin_call(
        &mut client,
        admin_proc::SERVER_SET_THREADPOOL_PARAMETERS,
        &args,
    )
    .expect_err("unknown server");
    assert_eq!((err.code, err.domain), (95, 62));
    assert_eq!(
        err.message.as_deref(),
        Some("Server not found: no server with matching name 'nosuchserver' found")
    );
    let args = encode(&ClientGetInfoArgs {
        clnt: AdminClientRef {
            srv: server("libvirtd"),
            id: 777,
            timestamp: 0,
            transport: 0,
        },
        flags: 0,
    });
    let err =
        admin_call(&mut client, admin_proc::CLIENT_GET_INFO, &args).expect_err("unknown client");
    assert_eq!((err.code, err.domain), (96, 62));
    assert_eq!(
        err.message.as_deref(),
        Some("Client not found: no client with matching id '777' found")
    );
}

#[test]
fn typed_parameters_are_checked_by_name_and_type() {
    let daemon = Daemon::start();
    let mut client = raw_admin(&daemon);
    let set = |params: Vec<TypedParam>| {
        encode(&ServerSetClientLimitsArgs {
            srv: server("libvirtd"),
            params,
            flags: 0,
        })
    };
    let unknown = set(vec![TypedParam::new("nclients", TypedParamValue::UInt(3))]);
    let err = admin_call(&mut client, admin_proc::SERVER_SET_CLIENT_LIMITS, &unknown)
        .expect_err("read-only counter");
    assert_eq!((err.code, err.domain), (74, 0));
    assert_eq!(
        err.message.as_deref(),
        Some("argument unsupported: parameter 'nclients' not supported")
    );
    let wrong_type = set(vec![TypedParam::new(
        "nclients_max",
        TypedParamValue::Int(3),
    )]);
    let err = admin_call(
        &mut client,
        admin_proc::SERVER_SET_CLIENT_LIMITS,
        &wrong_type,
    )
    .expect_err("signed value");
    assert_eq!((err.code, err.domain), (8, 0));
    assert_eq!(
        err.message.as_deref(),
        Some("invalid argument: invalid type 'int' for parameter 'nclients_max', expected 'uint'")
    );
}

#[test]
fn calls_need_no_connect_open_as_in_libvirtd() {
    let daemon = Daemon::start();
    let mut client = RawClient::unix(&daemon.admin_socket());
    let args = encode(&ConnectListServersArgs {
        need_results: 1,
        flags: 0,
    });
    let body = admin_call(&mut client, admin_proc::CONNECT_LIST_SERVERS, &args)
        .expect_ok("list servers without open");
    let ret: ConnectListServersRet = xdr::from_bytes(&body).expect("decode");
    let names: Vec<String> = ret.servers.into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["libvirtd".to_string(), "admin".to_string()]);
    assert_eq!(ret.ret, 2);
    // Only the count when results are not wanted.
    let args = encode(&ConnectListServersArgs {
        need_results: 0,
        flags: 0,
    });
    let body =
        admin_call(&mut client, admin_proc::CONNECT_LIST_SERVERS, &args).expect_ok("count servers");
    let ret: ConnectListServersRet = xdr::from_bytes(&body).expect("decode");
    assert_eq!((ret.servers.len(), ret.ret), (0, 2));
}

#[test]
fn unknown_procedures_are_refused() {
    let daemon = Daemon::start();
    let mut client = raw_admin(&daemon);
    let reply = admin_call(&mut client, 21, &[]);
    let Reply::Err(err) = reply else {
        panic!("procedure 21 answered: {reply:?}")
    };
    assert_eq!((err.code, err.domain), (39, 7));
    assert_eq!(err.message.as_deref(), Some("unknown procedure: 21"));
}
