//! Managed save: what `virsh managedsave`, `managedsave-remove` and `start` do with
//! libvirt 9.0's test driver.

use super::Harness;
use crate::api::{codes, event, reason, state};

const RUNNING: i32 = state::RUNNING as i32;
const SHUTOFF: i32 = state::SHUTOFF as i32;

#[test]
fn managed_save_stops_the_domain_and_marks_the_image() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.managed_save(&dom, 0).expect("managed save");
    assert_eq!(h.state(&dom), (SHUTOFF, reason::SHUTOFF_SAVED));
    assert!(h.conn.has_managed_save_image(&dom, 0).expect("has image"));
    assert_eq!(
        h.take_events(),
        vec![("test".to_string(), -1, event::STOPPED, event::STOPPED_SAVED)]
    );
}

#[test]
fn start_after_managed_save_clears_the_image() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn
        .managed_save(&dom, 1)
        .expect("managed save bypassing the cache");
    h.conn.create(&dom, 0).expect("start");
    assert_eq!(h.state(&dom), (RUNNING, reason::RUNNING_BOOTED));
    assert!(!h.conn.has_managed_save_image(&dom, 0).expect("has image"));
}

#[test]
fn managed_save_remove_forgets_the_image_and_tolerates_none() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.managed_save(&dom, 0).expect("managed save");
    h.conn.managed_save_remove(&dom, 0).expect("remove");
    assert!(!h.conn.has_managed_save_image(&dom, 0).expect("has image"));
    h.conn.managed_save_remove(&dom, 0).expect("remove again");
    assert_eq!(h.state(&dom), (SHUTOFF, reason::SHUTOFF_SAVED));
}

#[test]
fn managed_save_refuses_inactive_and_transient_domains() {
    let h = Harness::new();
    let inactive = h.define_small("idle");
    let err = h.conn.managed_save(&inactive, 0).expect_err("not running");
    assert_eq!(err.code, codes::OPERATION_INVALID);
    assert!(
        err.message.contains("domain is not running"),
        "{}",
        err.message
    );

    let xml = "<domain type='test'><name>tr</name><memory>1024</memory><os><type>hvm</type></os></domain>";
    let transient = crate::api::DomainRef::from(&h.conn.create_xml(xml, 0).expect("create"));
    let err = h.conn.managed_save(&transient, 0).expect_err("transient");
    assert_eq!(err.code, codes::OPERATION_INVALID);
    assert!(
        err.message
            .contains("cannot do managed save for transient domain"),
        "{}",
        err.message
    );
    assert_eq!(h.state(&transient), (RUNNING, reason::RUNNING_BOOTED));
}

#[test]
fn managed_save_rejects_unknown_flags() {
    let h = Harness::new();
    let err = h.conn.managed_save(&h.dom("test"), 8).expect_err("flag 8");
    assert!(
        err.message.contains("testDomainManagedSave"),
        "{}",
        err.message
    );
}
