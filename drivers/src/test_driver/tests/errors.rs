//! Refusals: the codes, error domains and texts libvirt's test driver gives.

use super::Harness;
use crate::api::{DomainRef, DriverError};

fn check(err: DriverError, code: i32, domain: i32, message: &str) {
    assert_eq!(
        (err.code, err.domain, err.message.as_str()),
        (code, domain, message)
    );
}

#[test]
fn lookups_of_missing_domains() {
    let h = Harness::new();
    for err in [
        h.conn.lookup_by_name("nope").expect_err("name"),
        h.conn.lookup_by_id(99).expect_err("id"),
        h.conn.lookup_by_uuid(&[9; 16]).expect_err("uuid"),
    ] {
        assert_eq!(err.str1.as_deref(), Some("Domain not found"));
        assert_eq!(err.str2, None);
        check(err, 42, 12, "Domain not found");
    }
    let ghost = DomainRef {
        name: "ghost".into(),
        uuid: [0x11; 16],
    };
    check(
        h.conn.get_info(&ghost).expect_err("ghost"),
        42,
        12,
        "Domain not found: no domain with matching uuid '11111111-1111-1111-1111-111111111111' (ghost)",
    );
}

#[test]
fn invalid_state_transitions() {
    let h = Harness::new();
    let dom = h.dom("test");
    check(
        h.conn.resume(&dom).expect_err("not paused"),
        1,
        12,
        "internal error: domain 'test' not paused",
    );
    check(
        h.conn.create(&dom, 0).expect_err("running"),
        1,
        12,
        "internal error: Domain 'test' is already running",
    );
    h.conn.suspend(&dom).expect("suspend");
    check(
        h.conn.suspend(&dom).expect_err("paused"),
        1,
        12,
        "internal error: domain 'test' not running",
    );
    check(
        h.conn.create(&dom, 0).expect_err("paused is not shut off"),
        1,
        12,
        "internal error: Domain 'test' is already running",
    );
    h.conn.destroy(&dom, 0).expect("destroy paused");
    let not_running = "Requested operation is not valid: domain is not running";
    check(
        h.conn.destroy(&dom, 0).expect_err("inactive"),
        55,
        20,
        not_running,
    );
    check(
        h.conn.reboot(&dom, 0).expect_err("inactive"),
        55,
        20,
        not_running,
    );
    check(
        h.conn.reset(&dom, 0).expect_err("inactive"),
        55,
        20,
        not_running,
    );
    check(
        h.conn.get_max_vcpus(&dom).expect_err("inactive"),
        55,
        20,
        not_running,
    );
    check(
        h.conn.get_hostname(&dom, 0).expect_err("inactive"),
        55,
        20,
        not_running,
    );
    check(
        h.conn.shutdown(&dom, 0).expect_err("inactive"),
        1,
        12,
        "internal error: domain 'test' not running",
    );
    check(
        h.conn.suspend(&dom).expect_err("inactive"),
        1,
        12,
        "internal error: domain 'test' not running",
    );
    check(
        h.conn.resume(&dom).expect_err("inactive"),
        1,
        12,
        "internal error: domain 'test' not paused",
    );
}

#[test]
fn unsupported_flags() {
    let h = Harness::new();
    let dom = h.dom("test");
    let cases = [
        (
            h.conn.undefine(&dom, 4).expect_err("f"),
            "(0x4) in function testDomainUndefineFlags",
        ),
        (
            h.conn.destroy(&dom, 4).expect_err("f"),
            "(0x4) in function testDomainDestroyFlags",
        ),
        (
            h.conn.shutdown(&dom, 1).expect_err("f"),
            "(0x1) in function testDomainShutdownFlags",
        ),
        (
            h.conn.get_state(&dom, 1).expect_err("f"),
            "(0x1) in function testDomainGetState",
        ),
        (
            h.conn.get_xml_desc(&dom, 16).expect_err("f"),
            "(0x10) in function testDomainGetXMLDesc",
        ),
        (
            h.conn.create(&dom, 1).expect_err("f"),
            "(0x1) in function testDomainCreateWithFlags",
        ),
        (
            h.conn.get_vcpus_flags(&dom, 16).expect_err("f"),
            "(0x10) in function testDomainGetVcpusFlags",
        ),
        (
            h.conn.reboot(&dom, 64).expect_err("f"),
            "(0x40) in function testDomainReboot",
        ),
        (
            h.conn.reset(&dom, 1).expect_err("f"),
            "(0x1) in function testDomainReset",
        ),
    ];
    for (err, tail) in cases {
        assert_eq!((err.code, err.domain), (8, 12));
        assert_eq!(err.message, format!("unsupported flags {tail}"));
        assert_eq!(err.str2.as_deref(), Some("flags"));
    }
}

#[test]
fn vcpu_flag_choices() {
    let h = Harness::new();
    let dom = h.dom("test");
    assert_eq!(h.conn.get_vcpus_flags(&dom, 0).expect("current"), 2);
    assert_eq!(h.conn.get_vcpus_flags(&dom, 4).expect("max"), 2);
    assert_eq!(h.conn.get_max_vcpus(&dom).expect("max"), 2);
    check(
        h.conn
            .get_vcpus_flags(&dom, 3)
            .expect_err("live and config"),
        8,
        20,
        "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
    );
    h.conn.destroy(&dom, 0).expect("destroy");
    assert_eq!(h.conn.get_vcpus_flags(&dom, 0).expect("config when off"), 2);
    check(
        h.conn.get_vcpus_flags(&dom, 1).expect_err("live when off"),
        55,
        20,
        "Requested operation is not valid: domain is not running",
    );
    let xml = "<domain type='test'><name>v</name><memory>1024</memory><vcpu current='1'>4</vcpu><os><type>hvm</type></os></domain>";
    let v = DomainRef::from(&h.conn.create_xml(xml, 0).expect("create"));
    assert_eq!(h.conn.get_vcpus_flags(&v, 0).expect("current"), 1);
    assert_eq!(h.conn.get_vcpus_flags(&v, 4).expect("maximum"), 4);
    check(
        h.conn.get_vcpus_flags(&v, 2).expect_err("transient config"),
        55,
        20,
        "Requested operation is not valid: transient domains do not have any persistent config",
    );
}

#[test]
fn per_domain_constants() {
    let h = Harness::new();
    let dom = h.dom("test");
    assert_eq!(h.conn.get_os_type(&dom).expect("os"), "linux");
    assert!(!h.conn.is_updated(&dom).expect("updated"));
    assert_eq!(h.conn.get_hostname(&dom, 0).expect("hostname"), "testhost");
    assert!(!h
        .conn
        .has_managed_save_image(&dom, 0)
        .expect("managed save"));
    assert_eq!(h.conn.snapshot_num(&dom, 0).expect("snapshots"), 0);
    assert!(h.conn.get_messages(&dom, 3).expect("messages").is_empty());
    let label = h.conn.security_label(&dom).expect("label");
    assert_eq!(
        (label.label.as_str(), label.enforcing),
        ("libvirt-test", true)
    );
    h.conn.destroy(&dom, 0).expect("destroy");
    let label = h.conn.security_label(&dom).expect("label");
    assert_eq!((label.label.as_str(), label.enforcing), ("", false));
}

#[test]
fn bad_definitions() {
    let h = Harness::new();
    let err = h
        .conn
        .define_xml(
            "<domain type='test'><memory>1</memory><os><type>hvm</type></os></domain>",
            0,
        )
        .expect_err("no name");
    assert_eq!(err.str2, None);
    check(err, 21, 20, "missing name information");
    check(
        h.conn
            .define_xml("<domain type='test'><name>x</name><memory>abc</memory><os><type>hvm</type></os></domain>", 0)
            .expect_err("bad memory"),
        27,
        5,
        "XML error: Invalid value 'abc' for element or attribute './memory[1]'",
    );
    check(
        h.conn
            .define_xml(
                "<domain type='test'><name>x</name><os><type>hvm</type></os></domain>",
                0,
            )
            .expect_err("no memory"),
        27,
        20,
        "XML error: Memory size must be specified via <memory> or in the <numa> configuration",
    );
    check(
        h.conn.define_xml("<foo/>", 0).expect_err("root"),
        27,
        5,
        "XML error: expecting root element of 'domain', not 'foo'",
    );
    check(
        h.conn.define_xml("", 0).expect_err("empty"),
        35,
        20,
        "(domain_definition):1: Document is empty\n(null)\n^",
    );
    let err = h
        .conn
        .define_xml("<domain type='test'><name>x</name>", 0)
        .expect_err("malformed");
    assert_eq!((err.code, err.domain), (35, 20));
    assert!(
        err.message.starts_with("(domain_definition):1: "),
        "{}",
        err.message
    );
    assert!(
        h.take_events().is_empty(),
        "refused definitions emit nothing"
    );
}

#[test]
fn name_and_uuid_clashes() {
    let h = Harness::new();
    check(
        h.conn
            .define_xml("<domain type='test'><name>test</name><memory>1</memory><os><type>hvm</type></os></domain>", 0)
            .expect_err("name clash"),
        9,
        20,
        "operation failed: domain 'test' already exists with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f",
    );
    check(
        h.conn
            .define_xml("<domain type='test'><name>other</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><memory>1</memory><os><type>hvm</type></os></domain>", 0)
            .expect_err("uuid clash"),
        9,
        20,
        "operation failed: domain 'test' is already defined with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f",
    );
    check(
        h.conn
            .create_xml("<domain type='test'><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><memory>1</memory><os><type>hvm</type></os></domain>", 0)
            .expect_err("already active"),
        55,
        20,
        "Requested operation is not valid: domain 'test' is already active",
    );
}
