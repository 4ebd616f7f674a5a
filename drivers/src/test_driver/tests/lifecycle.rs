//! State transitions and the events they emit.

use super::{Harness, TEST_UUID};
use crate::api::{event, reason, state, xml_flags, DomainRef};

const RUNNING: i32 = state::RUNNING as i32;
const PAUSED: i32 = state::PAUSED as i32;
const SHUTOFF: i32 = state::SHUTOFF as i32;

#[test]
fn default_domain_is_running_with_id_1() {
    let h = Harness::new();
    let handle = h.conn.lookup_by_name("test").expect("test domain");
    assert_eq!(handle.id, 1);
    assert_eq!(handle.uuid, TEST_UUID);
    let dom = DomainRef::from(&handle);
    assert_eq!(h.state(&dom), (RUNNING, reason::RUNNING_UNKNOWN));
    let info = h.conn.get_info(&dom).expect("info");
    assert_eq!(info.state, state::RUNNING.wire());
    assert_eq!(info.max_mem_kib, 8388608);
    assert_eq!(info.memory_kib, 2097152);
    assert_eq!(info.nr_virt_cpu, 2);
    assert!(h.conn.is_active(&dom).expect("active"));
    assert!(h.conn.is_persistent(&dom).expect("persistent"));
    assert!(!h.conn.get_autostart(&dom).expect("autostart"));
    assert!(h.take_events().is_empty());
}

#[test]
fn cpu_time_is_wall_clock_nanoseconds() {
    let h = Harness::new();
    let dom = h.dom("test");
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after epoch")
        .as_nanos() as u64;
    let info = h.conn.get_info(&dom).expect("info");
    let diff = info.cpu_time_ns.abs_diff(now_ns);
    assert!(
        diff < 60_000_000_000,
        "cpu time {} vs now {now_ns}",
        info.cpu_time_ns
    );
    assert_eq!(info.cpu_time_ns % 1000, 0, "microsecond precision");
}

#[test]
fn default_domain_xml_matches_libvirt() {
    let h = Harness::new();
    let dom = h.dom("test");
    assert_eq!(
        h.conn.get_xml_desc(&dom, 0).expect("xml"),
        include_str!("../../../tests/data/default-test.running.xml")
    );
    assert_eq!(
        h.conn.get_xml_desc(&dom, xml_flags::INACTIVE).expect("xml"),
        include_str!("../../../tests/data/default-test.inactive.xml")
    );
}

#[test]
fn destroy_then_start_assigns_next_id() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.destroy(&dom, 0).expect("destroy");
    assert_eq!(h.state(&dom), (SHUTOFF, reason::SHUTOFF_DESTROYED));
    assert_eq!(
        h.take_events(),
        vec![("test".into(), -1, event::STOPPED, event::STOPPED_DESTROYED)]
    );
    assert!(!h.conn.is_active(&dom).expect("inactive"));
    let started = h.conn.create(&dom, 0).expect("start");
    assert_eq!(started.id, 2);
    assert_eq!(h.state(&dom), (RUNNING, reason::RUNNING_BOOTED));
    assert_eq!(
        h.take_events(),
        vec![("test".into(), 2, event::STARTED, event::STARTED_BOOTED)]
    );
    h.conn.destroy(&dom, 0).expect("destroy");
    assert_eq!(h.conn.create(&dom, 0).expect("start").id, 3);
}

#[test]
fn suspend_and_resume() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.suspend(&dom).expect("suspend");
    assert_eq!(h.state(&dom), (PAUSED, reason::PAUSED_USER));
    h.conn.resume(&dom).expect("resume");
    assert_eq!(h.state(&dom), (RUNNING, reason::RUNNING_UNPAUSED));
    assert_eq!(
        h.take_events(),
        vec![
            ("test".into(), 1, event::SUSPENDED, event::SUSPENDED_PAUSED),
            ("test".into(), 1, event::RESUMED, event::RESUMED_UNPAUSED),
        ]
    );
}

#[test]
fn shutdown_follows_on_poweroff() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.shutdown(&dom, 0).expect("shutdown");
    assert_eq!(h.state(&dom), (SHUTOFF, reason::SHUTOFF_SHUTDOWN));
    assert_eq!(
        h.take_events(),
        vec![("test".into(), -1, event::STOPPED, event::STOPPED_SHUTDOWN)]
    );

    let xml = "<domain type='test'><name>stay</name><memory>1024</memory><os><type>hvm</type></os><on_poweroff>restart</on_poweroff></domain>";
    let handle = h.conn.create_xml(xml, 0).expect("create");
    let stay = DomainRef::from(&handle);
    h.take_events();
    h.conn.suspend(&stay).expect("suspend");
    h.take_events();
    h.conn.shutdown(&stay, 0).expect("shutdown");
    assert_eq!(h.state(&stay), (RUNNING, reason::RUNNING_BOOTED));
    assert!(h.take_events().is_empty());
}

#[test]
fn shutdown_of_paused_domain_stops_it() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.suspend(&dom).expect("suspend");
    h.conn.shutdown(&dom, 0).expect("shutdown paused");
    assert_eq!(h.state(&dom), (SHUTOFF, reason::SHUTOFF_SHUTDOWN));
}

#[test]
fn reboot_restarts_silently_or_follows_on_reboot() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.reboot(&dom, 0).expect("reboot");
    assert_eq!(h.state(&dom), (RUNNING, reason::RUNNING_BOOTED));
    assert_eq!(h.conn.lookup_by_name("test").expect("test").id, 1);
    assert!(h.take_events().is_empty());

    let xml = "<domain type='test'><name>once</name><memory>1024</memory><os><type>hvm</type></os><on_reboot>destroy</on_reboot></domain>";
    let once = DomainRef::from(&h.conn.create_xml(xml, 0).expect("create"));
    h.take_events();
    h.conn.reboot(&once, 0).expect("reboot");
    assert_eq!(
        h.take_events(),
        vec![("once".into(), -1, event::STOPPED, event::STOPPED_SHUTDOWN)]
    );
    // Transient: gone once stopped.
    assert!(h.conn.lookup_by_name("once").is_err());
}

#[test]
fn reset_needs_running_domain() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.reset(&dom, 0).expect("reset");
    assert_eq!(h.state(&dom), (RUNNING, reason::RUNNING_UNKNOWN));
    h.conn.destroy(&dom, 0).expect("destroy");
    let err = h.conn.reset(&dom, 0).expect_err("inactive");
    assert_eq!((err.code, err.domain), (55, 20));
}

#[test]
fn define_start_and_undefine_emit_events() {
    let h = Harness::new();
    let dom = h.define_small("small");
    assert_eq!(
        h.take_events(),
        vec![("small".into(), -1, event::DEFINED, event::DEFINED_ADDED)]
    );
    assert_eq!(h.state(&dom), (SHUTOFF, reason::SHUTOFF_UNKNOWN));
    let uuid = crate::api::format_uuid(&dom.uuid);
    let again = format!(
        "<domain type='test'><name>small</name><uuid>{uuid}</uuid><memory>1024</memory><os><type>hvm</type></os></domain>"
    );
    h.conn.define_xml(&again, 0).expect("redefine");
    assert_eq!(h.conn.get_max_memory(&dom).expect("mem"), 1024);
    assert_eq!(
        h.take_events(),
        vec![("small".into(), -1, event::DEFINED, event::DEFINED_UPDATED)]
    );
    h.conn.undefine(&dom, 0).expect("undefine");
    assert_eq!(
        h.take_events(),
        vec![(
            "small".into(),
            -1,
            event::UNDEFINED,
            event::UNDEFINED_REMOVED
        )]
    );
    assert!(h.conn.lookup_by_name("small").is_err());
}

#[test]
fn redefine_while_running_changes_only_the_persistent_config() {
    let h = Harness::new();
    let dom = h.dom("test");
    let new_xml = "<domain type='test'><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><memory>4096</memory><os><type>hvm</type></os></domain>";
    h.conn.define_xml(new_xml, 0).expect("redefine");
    assert_eq!(
        h.take_events(),
        vec![("test".into(), 1, event::DEFINED, event::DEFINED_UPDATED)]
    );
    assert_eq!(h.conn.get_max_memory(&dom).expect("mem"), 8388608);
    let inactive = h.conn.get_xml_desc(&dom, xml_flags::INACTIVE).expect("xml");
    assert!(
        inactive.contains("<memory unit='KiB'>4096</memory>"),
        "{inactive}"
    );
    h.conn.destroy(&dom, 0).expect("destroy");
    assert_eq!(h.conn.get_max_memory(&dom).expect("mem"), 4096);
}

#[test]
fn undefine_running_domain_makes_it_transient() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.undefine(&dom, 0).expect("undefine");
    assert_eq!(
        h.take_events(),
        vec![("test".into(), 1, event::UNDEFINED, event::UNDEFINED_REMOVED)]
    );
    assert!(h.conn.is_active(&dom).expect("still running"));
    assert!(!h.conn.is_persistent(&dom).expect("transient"));
    h.conn.destroy(&dom, 0).expect("destroy");
    assert!(h.conn.lookup_by_name("test").is_err());
    let err = h.conn.get_info(&dom).expect_err("gone");
    assert_eq!(
        err.message,
        "Domain not found: no domain with matching uuid '6695eb01-f6a4-8304-79aa-97f2502e193f' (test)"
    );
}

#[test]
fn create_xml_runs_transient_domain() {
    let h = Harness::new();
    let xml = "<domain type='test'><name>tmp</name><memory>1024</memory><os><type>hvm</type></os></domain>";
    let handle = h.conn.create_xml(xml, 0).expect("create");
    assert_eq!(handle.id, 2);
    let dom = DomainRef::from(&handle);
    assert!(!h.conn.is_persistent(&dom).expect("transient"));
    assert_eq!(
        h.take_events(),
        vec![("tmp".into(), 2, event::STARTED, event::STARTED_BOOTED)]
    );
    h.conn.destroy(&dom, 0).expect("destroy");
    assert!(h.conn.lookup_by_name("tmp").is_err());
}

#[test]
fn create_xml_over_defined_domain_keeps_its_config() {
    let h = Harness::new();
    let dom = h.define_small("base");
    let uuid = crate::api::format_uuid(&dom.uuid);
    let live = format!(
        "<domain type='test'><name>base</name><uuid>{uuid}</uuid><memory>2048</memory><os><type>hvm</type></os></domain>"
    );
    h.conn.create_xml(&live, 0).expect("create over defined");
    assert_eq!(h.conn.get_max_memory(&dom).expect("mem"), 2048);
    assert!(h.conn.is_persistent(&dom).expect("persistent"));
    h.conn.destroy(&dom, 0).expect("destroy");
    assert_eq!(h.conn.get_max_memory(&dom).expect("mem"), 65536);
    assert!(h.conn.lookup_by_name("base").is_ok());
}

#[test]
fn define_over_transient_running_domain_is_added() {
    let h = Harness::new();
    let xml = "<domain type='test'><name>t</name><uuid>00000000-0000-0000-0000-000000000001</uuid><memory>1024</memory><os><type>hvm</type></os></domain>";
    let dom = DomainRef::from(&h.conn.create_xml(xml, 0).expect("create"));
    h.take_events();
    h.conn.define_xml(xml, 0).expect("define");
    assert_eq!(
        h.take_events(),
        vec![("t".into(), 2, event::DEFINED, event::DEFINED_ADDED)]
    );
    assert!(h.conn.is_persistent(&dom).expect("persistent"));
    h.conn.destroy(&dom, 0).expect("destroy");
    assert!(
        h.conn.lookup_by_name("t").is_ok(),
        "persistent survives stop"
    );
}

#[test]
fn autostart_round_trip() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.set_autostart(&dom, true).expect("set");
    assert!(h.conn.get_autostart(&dom).expect("get"));
    h.conn.set_autostart(&dom, false).expect("unset");
    assert!(!h.conn.get_autostart(&dom).expect("get"));
}

#[test]
fn connections_share_one_state() {
    let h = Harness::new();
    let other = crate::api::Driver::open(&h.driver, "test:///default", true).expect("second");
    h.define_small("shared");
    assert!(other.lookup_by_name("shared").is_ok());
}

#[test]
fn redefine_after_undefine_while_running_counts_as_update() {
    let h = Harness::new();
    let dom = h.dom("test");
    h.conn.undefine(&dom, 0).expect("undefine");
    h.take_events();
    let xml = h.conn.get_xml_desc(&dom, 0).expect("xml");
    h.conn.define_xml(&xml, 0).expect("define again");
    assert_eq!(
        h.take_events(),
        vec![("test".into(), 1, event::DEFINED, event::DEFINED_UPDATED)]
    );
}

#[test]
fn only_domains_started_through_the_api_inhibit_idle() {
    use crate::api::Driver;
    let h = Harness::new();
    assert!(
        !h.driver.inhibits_idle(),
        "the built-in domain's first run must not keep the daemon up"
    );
    let extra = h.define_small("extra");
    h.conn.create(&extra, 0).expect("start extra");
    assert!(
        h.driver.inhibits_idle(),
        "a started domain keeps the daemon up"
    );
    h.conn.destroy(&extra, 0).expect("destroy extra");
    assert!(!h.driver.inhibits_idle());
    let test = h.dom("test");
    h.conn.destroy(&test, 0).expect("destroy test");
    h.conn.create(&test, 0).expect("restart test");
    assert!(
        h.driver.inhibits_idle(),
        "the built-in domain counts once restarted through the API"
    );
}
