//! Unit tests of the hot plug plans in `frontends.rs`.

use super::*;

fn def(devices: &str) -> DomainDef {
    crate::domain_xml::parse_domain_xml(
        &format!(
            "<domain type='qemu'><name>a</name><memory>1024</memory>\
             <os><type>hvm</type></os><devices>{devices}</devices></domain>"
        ),
        &crate::qemu::defaults::parse_options(),
    )
    .expect("parses")
}

fn message(result: DriverResult<Plan>) -> String {
    match result {
        Ok(_) => panic!("accepted"),
        Err(e) => e.message,
    }
}

/// The error text after libvirt's prefix for its code.
fn detail(message: &str) -> &str {
    message.split_once(": ").map_or(message, |(_, rest)| rest)
}

#[test]
fn only_scsi_controllers_are_plugged_and_get_the_next_index() {
    let d = def("<controller type='scsi' index='0'><alias name='scsi0'/></controller>");
    let mut c = Element::new("controller").with_attr("type", "virtio-serial");
    assert_eq!(
        detail(&message(prepare(&d, &mut c))),
        "'virtio-serial' controller cannot be hot plugged."
    );
    let mut c = Element::new("controller").with_attr("type", "scsi");
    let plan = prepare(&d, &mut c).expect("plugs");
    assert_eq!(c.attr("index"), Some("1"));
    assert_eq!(c.attr("model"), Some("virtio-scsi"));
    assert_eq!(plan.device["id"], "scsi1");
    assert_eq!(plan.device["driver"], "virtio-scsi-pci");
    let mut c = Element::new("controller")
        .with_attr("type", "scsi")
        .with_attr("index", "0");
    assert_eq!(
        detail(&message(prepare(&d, &mut c))),
        "target scsi:0 already exists"
    );
}

#[test]
fn inputs_by_bus() {
    let d = def(
        "<input type='mouse' bus='ps2'><alias name='input0'/></input>\
                 <input type='keyboard' bus='ps2'><alias name='input1'/></input>",
    );
    let mut ps2 = Element::new("input")
        .with_attr("type", "mouse")
        .with_attr("bus", "ps2");
    assert_eq!(
        detail(&message(prepare(&d, &mut ps2))),
        "input device on bus 'ps2' cannot be hot plugged."
    );
    let mut tablet = Element::new("input")
        .with_attr("type", "tablet")
        .with_attr("bus", "usb");
    let plan = prepare(&d, &mut tablet).expect("plugs");
    assert_eq!(plan.device["id"], "input2");
    assert_eq!(plan.device["driver"], "usb-tablet");
    assert_eq!(plan.device["port"], "1");
    let mut kbd = Element::new("input")
        .with_attr("type", "keyboard")
        .with_attr("bus", "virtio");
    let plan = prepare(&d, &mut kbd).expect("plugs");
    assert_eq!(plan.device["driver"], "virtio-keyboard-pci");
    assert!(pci_slot(&kbd).is_some());
}

#[test]
fn one_i6300esb_watchdog() {
    let mut w = Element::new("watchdog").with_attr("model", "ib700");
    assert_eq!(
        detail(&message(prepare(&def(""), &mut w))),
        "hotplug of watchdog of model ib700 is not supported"
    );
    let mut w = Element::new("watchdog")
        .with_attr("model", "i6300esb")
        .with_attr("action", "dump");
    let plan = prepare(&def(""), &mut w).expect("plugs");
    assert_eq!(plan.before.expect("action").1["watchdog"], "pause");
    let d = def("<watchdog model='i6300esb'/>");
    assert_eq!(
        detail(&message(prepare(&d, &mut w))),
        "domain already has a watchdog"
    );
}

#[test]
fn rng_sources_are_checked_and_get_an_object() {
    let mut rng = Element::new("rng").with_attr("model", "virtio").with_child(
        Element::new("backend")
            .with_attr("model", "random")
            .with_text("/etc/shadow"),
    );
    assert!(message(prepare(&def(""), &mut rng)).contains("not a supported random source"));
    let mut rng = Element::new("rng").with_attr("model", "virtio");
    let plan = prepare(&def(""), &mut rng).expect("plugs");
    assert_eq!(plan.device["rng"], "objrng0");
    assert!(matches!(plan.backend, Backend::Object(ref o) if o["filename"] == "/dev/urandom"));
}

#[test]
fn serial_ports_take_the_next_port_and_a_chardev() {
    let d = def(
        "<serial type='pty'><target type='isa-serial' port='0'/><alias name='serial0'/></serial>",
    );
    let mut s = Element::new("serial")
        .with_attr("type", "pty")
        .with_child(Element::new("target").with_attr("type", "pci-serial"));
    let plan = prepare(&d, &mut s).expect("plugs");
    assert_eq!(serial_port(&s), Some(1));
    assert_eq!(plan.device["id"], "serial1");
    assert_eq!(plan.device["chardev"], "charserial1");
    let mut taken = Element::new("serial").with_child(
        Element::new("target")
            .with_attr("type", "pci-serial")
            .with_attr("port", "0"),
    );
    assert_eq!(
        detail(&message(prepare(&d, &mut taken))),
        "chardev already exists"
    );
    let mut file = Element::new("serial")
        .with_attr("type", "file")
        .with_child(Element::new("source").with_attr("path", "rel/path"))
        .with_child(Element::new("target").with_attr("type", "usb-serial"));
    assert!(message(prepare(&d, &mut file)).contains("must be absolute"));
}

#[test]
fn a_controller_with_disks_is_busy() {
    let d = def(
        "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/></disk>\
                 <controller type='scsi' index='0'><alias name='scsi0'/></controller>",
    );
    let controller = d
        .devices
        .iter()
        .find(|x| x.name == "controller" && x.attr("type") == Some("scsi"))
        .expect("controller");
    let e = check_unplug(&d, controller).expect_err("busy");
    assert_eq!(
        detail(&e.message),
        "device cannot be detached: device is busy"
    );
    let wanted = Element::new("controller")
        .with_attr("type", "scsi")
        .with_attr("index", "1");
    assert!(find(&d.devices, &wanted).is_none());
    assert_eq!(
        detail(&missing(&wanted, true).message),
        "controller scsi:1 not found"
    );
}
