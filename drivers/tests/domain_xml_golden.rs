//! `dumpxml` output compared byte for byte with what libvirt 9.0's test driver printed for
//! the same input (files in tests/data, recorded with `virsh -c test:///default`).

use drivers::domain_xml::{parse_domain_xml, FormatOptions};
use drivers::test_driver::parse_options as test_driver_options;

fn check(name: &str, input: &str, inactive: &str, running: &str) {
    let def = match parse_domain_xml(input, &test_driver_options()) {
        Ok(def) => def,
        Err(err) => panic!("{name}: parse failed: {err}"),
    };
    assert_eq!(
        def.to_xml(FormatOptions::default()),
        inactive,
        "{name}: inactive XML differs"
    );
    assert_eq!(
        def.to_xml(FormatOptions {
            id: Some(2),
            secure: false
        }),
        running,
        "{name}: running XML differs"
    );
}

#[test]
fn minimal_definition() {
    check(
        "minimal",
        include_str!("data/minimal.in.xml"),
        include_str!("data/minimal.out.xml"),
        include_str!("data/minimal.running.xml"),
    );
}

#[test]
fn definition_with_disk_interface_console() {
    check(
        "devices",
        include_str!("data/devices.in.xml"),
        include_str!("data/devices.out.xml"),
        include_str!("data/devices.running.xml"),
    );
}

#[test]
fn definition_with_controllers_and_chardevs() {
    check(
        "chardevs",
        include_str!("data/chardevs.in.xml"),
        include_str!("data/chardevs.out.xml"),
        include_str!("data/chardevs.running.xml"),
    );
}

#[test]
fn paravirt_definition_with_kernel_metadata_and_graphics() {
    check(
        "xenlike",
        include_str!("data/xenlike.in.xml"),
        include_str!("data/xenlike.out.xml"),
        include_str!("data/xenlike.running.xml"),
    );
}
