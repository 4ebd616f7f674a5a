//! The procedure table and its `Call` decode: dense rows, API names, and the
//! decode rules the daemon relies on.

use protocol::programs::{admin_proc, keepalive, lxc_proc, qemu_proc, remote_proc as p};
use protocol::remote::{DomainLookupByNameArgs, NonnullDomain};
use protocol::table::{self, DecodeError, Kind, ProcInfo};
use protocol::xdr::{to_bytes, XdrError};

fn assert_dense(rows: &[ProcInfo]) {
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.number as usize, i + 1, "{}", row.name);
        assert!(row.api.starts_with("vir"), "{}: {}", row.name, row.api);
        let typed = row.args.is_some() && row.ret.is_some();
        match row.kind {
            Kind::Served | Kind::Typed => assert!(typed, "{} lacks types", row.name),
            Kind::Event => assert!(row.msg.is_some(), "{} lacks a type", row.name),
            Kind::Untyped => assert!(!typed && row.msg.is_none(), "{}", row.name),
        }
    }
}

#[test]
fn every_program_is_declared_without_gaps() {
    assert_dense(p::ROWS);
    assert_dense(qemu_proc::ROWS);
    assert_dense(lxc_proc::ROWS);
    assert_dense(admin_proc::ROWS);
    assert_dense(keepalive::ROWS);
    assert_eq!(
        (p::MAX, qemu_proc::MAX, lxc_proc::MAX, admin_proc::MAX),
        (443, 7, 1, 20)
    );
}

#[test]
fn api_names_follow_libvirt() {
    let api = |n| p::info(n).unwrap().api;
    assert_eq!(api(p::DOMAIN_GET_XML_DESC), "virDomainGetXMLDesc");
    assert_eq!(api(p::DOMAIN_LOOKUP_BY_UUID), "virDomainLookupByUUID");
    assert_eq!(api(p::NODE_GET_SEV_INFO), "virNodeGetSEVInfo");
    assert_eq!(api(p::DOMAIN_FD_ASSOCIATE), "virDomainFDAssociate");
    assert_eq!(
        api(p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY),
        "virConnectDomainEventRegisterAny"
    );
    assert_eq!(
        admin_proc::info(admin_proc::SERVER_GET_THREADPOOL_PARAMETERS)
            .unwrap()
            .api,
        "virAdmServerGetThreadPoolParameters"
    );
    assert_eq!(
        table::info(protocol::programs::QEMU_PROGRAM, 1)
            .unwrap()
            .api,
        "virDomainQemuMonitorCommand"
    );
}

#[test]
fn served_calls_decode_to_their_variant() {
    let args = DomainLookupByNameArgs {
        name: "lvp-test".into(),
    };
    let call = p::Call::decode(p::DOMAIN_LOOKUP_BY_NAME, &to_bytes(&args)).unwrap();
    assert_eq!(call, p::Call::DomainLookupByName(args));
    assert_eq!(call.number(), p::DOMAIN_LOOKUP_BY_NAME);
    assert_eq!(call.info().name, "DOMAIN_LOOKUP_BY_NAME");
}

#[test]
fn trailing_bytes_and_short_bodies_are_refused() {
    let mut body = to_bytes(&DomainLookupByNameArgs { name: "a".into() });
    body.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(
        p::Call::decode(p::DOMAIN_LOOKUP_BY_NAME, &body),
        Err(DecodeError::Body(XdrError::TrailingBytes(4)))
    );
    assert_eq!(
        p::Call::decode(p::CONNECT_GET_HOSTNAME, &[0]),
        Err(DecodeError::Body(XdrError::TrailingBytes(1)))
    );
    assert!(matches!(
        p::Call::decode(p::DOMAIN_GET_INFO, &[0, 0, 0]),
        Err(DecodeError::Body(_))
    ));
}

#[test]
fn procedures_without_a_handler_decode_as_unserved() {
    // Untyped: nothing to check.
    match p::Call::decode(p::DOMAIN_MIGRATE_PREPARE, &[1, 2, 3]).unwrap() {
        p::Call::Unserved(u) => assert_eq!(u.info.api, "virDomainMigratePrepare"),
        other => panic!("{other:?}"),
    }
    // Typed but not served: the arguments are still checked.
    let get = to_bytes(&protocol::remote::DomainGetSecurityLabelListArgs {
        dom: protocol::remote::NonnullDomain {
            name: "d".into(),
            uuid: [0; 16],
            id: -1,
        },
    });
    assert!(matches!(
        p::Call::decode(p::DOMAIN_GET_SECURITY_LABEL_LIST, &get),
        Ok(p::Call::Unserved(_))
    ));
    assert!(matches!(
        p::Call::decode(p::DOMAIN_GET_SECURITY_LABEL_LIST, &get[..3]),
        Err(DecodeError::Body(_))
    ));
    // An event number sent as a call has no handler either.
    assert!(matches!(
        p::Call::decode(p::DOMAIN_EVENT_LIFECYCLE, &[]),
        Ok(p::Call::Unserved(_))
    ));
}

#[test]
fn numbers_outside_the_table_are_unknown() {
    for n in [0, -1, 444, i32::MAX, i32::MIN] {
        assert_eq!(
            p::Call::decode(n, &[]),
            Err(DecodeError::UnknownProcedure(n))
        );
    }
    assert_eq!(
        admin_proc::Call::decode(21, &[]),
        Err(DecodeError::UnknownProcedure(21))
    );
}

#[test]
fn read_only_connections_drop_nothing_a_served_reader_needs() {
    // Every served call of the remote program that a read-only virsh uses
    // for `list`, `dominfo`, `dumpxml` is allowed.
    let dom = to_bytes(&NonnullDomain {
        name: "d".into(),
        uuid: [1; 16],
        id: 1,
    });
    for proc_ in [
        p::DOMAIN_GET_INFO,
        p::DOMAIN_GET_OS_TYPE,
        p::DOMAIN_IS_ACTIVE,
    ] {
        let call = p::Call::decode(proc_, &dom).unwrap();
        assert_eq!(call.read_only_verdict(), Ok(()), "{:?}", p::name(proc_));
    }
}
