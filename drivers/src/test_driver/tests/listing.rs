//! `virConnectListAllDomains` filters and the older listing calls.

use super::Harness;
use crate::api::{list_flags as lf, DomainRef};

/// test (running, id 1), paused (id 2), trans (transient, id 3), off (inactive, autostart).
fn populated() -> Harness {
    let h = Harness::new();
    let off = h.define_small("off");
    h.conn.set_autostart(&off, true).expect("autostart");
    let paused = h.define_small("paused");
    h.conn.create(&paused, 0).expect("start");
    h.conn.suspend(&paused).expect("suspend");
    let xml = "<domain type='test'><name>trans</name><memory>1024</memory><os><type>hvm</type></os></domain>";
    h.conn.create_xml(xml, 0).expect("create");
    h
}

fn names(h: &Harness, flags: u32) -> Vec<String> {
    h.conn
        .list_all_domains(flags)
        .expect("list")
        .into_iter()
        .map(|d| d.name)
        .collect()
}

#[test]
fn unfiltered_list_is_running_by_id_then_inactive_by_name() {
    let h = populated();
    assert_eq!(names(&h, 0), ["test", "paused", "trans", "off"]);
    let ids: Vec<i32> = h
        .conn
        .list_all_domains(0)
        .expect("list")
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, [1, 2, 3, -1]);
}

#[test]
fn every_filter_flag() {
    let h = populated();
    let all = ["test", "paused", "trans", "off"];
    let cases: &[(u32, &[&str])] = &[
        (lf::ACTIVE, &["test", "paused", "trans"]),
        (lf::INACTIVE, &["off"]),
        (lf::ACTIVE | lf::INACTIVE, &all),
        (lf::PERSISTENT, &["test", "paused", "off"]),
        (lf::TRANSIENT, &["trans"]),
        (lf::PERSISTENT | lf::TRANSIENT, &all),
        (lf::RUNNING, &["test", "trans"]),
        (lf::PAUSED, &["paused"]),
        (lf::SHUTOFF, &["off"]),
        (lf::OTHER, &[]),
        (lf::RUNNING | lf::SHUTOFF, &["test", "trans", "off"]),
        (lf::MANAGEDSAVE, &[]),
        (lf::NO_MANAGEDSAVE, &all),
        (lf::AUTOSTART, &["off"]),
        (lf::NO_AUTOSTART, &["test", "paused", "trans"]),
        (lf::AUTOSTART | lf::NO_AUTOSTART, &all),
        (lf::HAS_SNAPSHOT, &[]),
        (lf::NO_SNAPSHOT, &all),
        (lf::HAS_CHECKPOINT, &[]),
        (lf::NO_CHECKPOINT, &all),
        (lf::ACTIVE | lf::PERSISTENT, &["test", "paused"]),
        (lf::INACTIVE | lf::AUTOSTART, &["off"]),
        (lf::ALL, &all),
    ];
    for (flags, expected) in cases {
        assert_eq!(names(&h, *flags), *expected, "flags {flags:#x}");
    }
}

#[test]
fn unknown_flag_is_refused() {
    let h = Harness::new();
    let err = h.conn.list_all_domains(1 << 16).expect_err("bad flag");
    assert_eq!((err.code, err.domain), (8, 12));
    assert_eq!(
        err.message,
        "unsupported flags (0x10000) in function testConnectListAllDomains"
    );
}

#[test]
fn legacy_lists_and_counts() {
    let h = populated();
    assert_eq!(h.conn.list_domain_ids(10).expect("ids"), [1, 2, 3]);
    assert_eq!(h.conn.list_domain_ids(2).expect("ids"), [1, 2]);
    assert_eq!(h.conn.num_of_domains().expect("count"), 3);
    assert_eq!(h.conn.list_defined_domains(10).expect("names"), ["off"]);
    assert_eq!(h.conn.num_of_defined_domains().expect("count"), 1);
    assert!(h.conn.list_defined_domains(0).expect("names").is_empty());
}

#[test]
fn lookups_by_name_uuid_and_id() {
    let h = populated();
    let paused = h.conn.lookup_by_name("paused").expect("by name");
    assert_eq!(h.conn.lookup_by_id(2).expect("by id"), paused);
    assert_eq!(
        h.conn.lookup_by_uuid(&paused.uuid).expect("by uuid"),
        paused
    );
    let off = DomainRef::from(&h.conn.lookup_by_name("off").expect("off"));
    assert!(
        h.conn.lookup_by_id(-1).is_err(),
        "inactive domains have no id"
    );
    assert_eq!(h.conn.lookup_by_uuid(&off.uuid).expect("by uuid").id, -1);
}
