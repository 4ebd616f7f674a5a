//! Byte-exact checks against traffic recorded from libvirtd 9.0 and its
//! real clients: every recorded message must frame correctly, and every body
//! the procedure table has a type for must decode and re-encode to the same
//! bytes. Call arguments decode through `Call::decode`, as in the daemon.

mod common;

use common::{capture_files, load, Captured};
use protocol::catalog::reencode_body;
use protocol::error::{codes, domains};
use protocol::frame::{encode_message, split_message};
use protocol::programs::{admin_proc, remote_proc, ADMIN_PROGRAM, REMOTE_PROGRAM};
use protocol::xdr::from_bytes;
use protocol::{admin, remote, Header, MessageType, RemoteError, TypedParamValue};

/// Captures of real clients (not hand-made probes): every non-stream body in
/// them must have a type here.
fn is_client_capture(name: &str) -> bool {
    !name.starts_with("raw-") && name != "virsh-command-procedure-map.txt"
}

struct FileReport {
    exact: usize,
    untyped: Vec<String>,
}

fn check_file(name: &str) -> FileReport {
    let mut report = FileReport {
        exact: 0,
        untyped: Vec::new(),
    };
    for m in load(name) {
        check_framing(&m);
        if !m.complete {
            continue;
        }
        let (h, body) = split_message(&m.wire).expect("framing checked");
        match reencode_body(&h, body) {
            Some(Ok(again)) => {
                // Decoding uses the whole body, so a body that decodes
                // re-encodes to exactly its bytes.
                assert_eq!(again, body, "{}: re-encoded body differs", m.label);
                report.exact += 1;
            }
            // Hand-made probes may send junk after valid arguments, which
            // libvirtd ignores and `Call::decode` refuses.
            Some(Err(e)) => assert!(
                !is_client_capture(name),
                "{}: a real client's body failed to decode: {e}",
                m.label
            ),
            None if h.message_type() == Some(MessageType::Stream) => {}
            None => report.untyped.push(m.label.clone()),
        }
    }
    report
}

fn check_framing(m: &Captured) {
    let word = u32::from_be_bytes([m.wire[0], m.wire[1], m.wire[2], m.wire[3]]) as usize;
    let mut hb = [0u8; 24];
    hb.copy_from_slice(&m.wire[4..28]);
    let h = Header::decode(&hb);
    let mut again = Vec::new();
    h.encode(&mut again);
    assert_eq!(again, hb, "{}: header", m.label);
    if m.complete {
        assert_eq!(word, m.wire.len(), "{}: length word", m.label);
        let (h2, body) = split_message(&m.wire).unwrap_or_else(|e| panic!("{}: {e}", m.label));
        assert_eq!(h2, h);
        assert_eq!(encode_message(&h2, body), m.wire, "{}: re-framed", m.label);
    } else {
        assert!(word > m.wire.len(), "{}: truncated recording", m.label);
    }
}

#[test]
fn every_capture_round_trips() {
    let files = capture_files();
    assert!(
        files.len() >= 30,
        "expected the full capture set, found {files:?}"
    );
    let mut untyped = Vec::new();
    let mut total = 0;
    for name in &files {
        let report = check_file(name);
        total += report.exact;
        if is_client_capture(name) {
            untyped.extend(report.untyped);
        }
    }
    assert!(untyped.is_empty(), "bodies without a type: {untyped:#?}");
    assert!(
        total > 900,
        "only {total} bodies were checked byte for byte"
    );
}

#[test]
fn required_captures_are_fully_typed() {
    let required = [
        "virsh-dominfo.txt",
        "virsh-nodeinfo.txt",
        "virsh-list-all.txt",
        "virsh-define.txt",
        "virsh-event-lifecycle.txt",
        "virsh-error-missing-domain.txt",
        "virsh-error-operation-invalid.txt",
        "virsh-version.txt",
    ];
    let admin_files: Vec<String> = capture_files()
        .into_iter()
        .filter(|n| n.starts_with("virt-admin-") && n != "virt-admin-dmn-aliases-rejected.txt")
        .collect();
    assert!(admin_files.len() >= 6, "admin captures: {admin_files:?}");
    for name in required.iter().map(|s| s.to_string()).chain(admin_files) {
        let report = check_file(&name);
        assert!(
            report.exact >= 3,
            "{name}: only {} bodies checked",
            report.exact
        );
        assert!(report.untyped.is_empty(), "{name}: {:#?}", report.untyped);
    }
}

/// Finds the body of the first message matching the predicate.
fn body_of(file: &str, want: impl Fn(&Header) -> bool) -> Vec<u8> {
    load(file)
        .into_iter()
        .find_map(|m| {
            let (h, body) = split_message(&m.wire).ok()?;
            want(&h).then(|| body.to_vec())
        })
        .unwrap_or_else(|| panic!("{file}: message not found"))
}

fn is_reply(h: &Header, prog: u32, proc_: i32) -> bool {
    h.prog == prog && h.proc_ == proc_ && h.message_type() == Some(MessageType::Reply)
}

#[test]
fn dominfo_values_decode() {
    let body = body_of("virsh-dominfo.txt", |h| {
        is_reply(h, REMOTE_PROGRAM, remote_proc::DOMAIN_GET_INFO)
    });
    let info: remote::DomainGetInfoRet = from_bytes(&body).unwrap();
    assert_eq!(body.len(), 32);
    assert_eq!(
        (info.state, info.max_mem, info.memory, info.nr_virt_cpu),
        (5, 65536, 65536, 1)
    );

    let body = body_of("virsh-dominfo.txt", |h| {
        is_reply(h, REMOTE_PROGRAM, remote_proc::NODE_GET_SECURITY_MODEL)
    });
    let model: remote::NodeGetSecurityModelRet = from_bytes(&body).unwrap();
    assert_eq!(model.model, remote::CharArray::with_nul("none"));
    assert_eq!(model.doi.text(), "0");

    let body = body_of("virsh-dominfo.txt", |h| {
        is_reply(h, REMOTE_PROGRAM, remote_proc::DOMAIN_LOOKUP_BY_NAME)
    });
    let found: remote::DomainLookupByNameRet = from_bytes(&body).unwrap();
    assert_eq!(found.dom.name, "lvp-test");
    assert_eq!(found.dom.id, -1);
    assert_eq!(&found.dom.uuid[..4], &[0x46, 0x2a, 0xdd, 0xe7]);
}

#[test]
fn nodeinfo_model_is_fixed_char_array() {
    let body = body_of("virsh-nodeinfo.txt", |h| {
        is_reply(h, REMOTE_PROGRAM, remote_proc::NODE_GET_INFO)
    });
    assert_eq!(body.len(), 160);
    let info: remote::NodeGetInfoRet = from_bytes(&body).unwrap();
    assert_eq!(info.model_text(), "x86_64");
    assert!(info.cpus > 0 && info.memory > 0);
}

#[test]
fn error_bodies_decode() {
    let body = body_of("virsh-error-missing-domain.txt", |h| h.status == 1);
    let e: RemoteError = from_bytes(&body).unwrap();
    assert_eq!(
        (e.code, e.domain, e.level),
        (codes::NO_DOMAIN, domains::QEMU, 2)
    );
    assert_eq!(
        e.message.as_deref(),
        Some("Domain not found: no domain with matching name 'no-such-domain'")
    );
    assert_eq!(e.str1.as_deref(), Some("Domain not found: %s"));
    assert_eq!((e.int1, e.int2, e.str3), (-1, -1, None));

    let body = body_of("virsh-error-operation-invalid.txt", |h| h.status == 1);
    let e: RemoteError = from_bytes(&body).unwrap();
    assert_eq!(
        (e.code, e.domain),
        (codes::OPERATION_INVALID, domains::DOMAIN)
    );
    assert_eq!(
        e.message.as_deref(),
        Some("Requested operation is not valid: domain is not running")
    );
}

#[test]
fn lifecycle_events_decode() {
    let events: Vec<remote::DomainEventCallbackLifecycleMsg> = load("virsh-event-lifecycle.txt")
        .iter()
        .filter_map(|m| {
            let (h, body) = split_message(&m.wire).ok()?;
            (h.proc_ == remote_proc::DOMAIN_EVENT_CALLBACK_LIFECYCLE && h.mtype == 2)
                .then(|| from_bytes(body).unwrap())
        })
        .collect();
    let pairs: Vec<(i32, i32)> = events.iter().map(|e| (e.event, e.detail)).collect();
    assert_eq!(pairs, vec![(4, 0), (2, 0), (3, 0), (4, 0), (6, 2), (5, 1)]);
    assert!(events.iter().all(|e| e.dom.name == "lvp-test"));
}

#[test]
fn admin_threadpool_and_client_info_decode() {
    let body = body_of("virt-admin-srv-threadpool-info.txt", |h| {
        is_reply(
            h,
            ADMIN_PROGRAM,
            admin_proc::SERVER_GET_THREADPOOL_PARAMETERS,
        )
    });
    let ret: admin::ServerGetThreadpoolParametersRet = from_bytes(&body).unwrap();
    let names: Vec<&str> = ret.params.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        names,
        [
            "minWorkers",
            "maxWorkers",
            "nWorkers",
            "freeWorkers",
            "prioWorkers",
            "jobQueueDepth"
        ]
    );
    assert!(ret
        .params
        .iter()
        .all(|p| matches!(p.value, TypedParamValue::UInt(_))));

    let body = body_of("virt-admin-srv-list.txt", |h| {
        is_reply(h, ADMIN_PROGRAM, admin_proc::CONNECT_LIST_SERVERS)
    });
    let ret: admin::ConnectListServersRet = from_bytes(&body).unwrap();
    let names: Vec<&str> = ret.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["libvirtd", "admin"]);
    assert_eq!(ret.ret, 2);
}
