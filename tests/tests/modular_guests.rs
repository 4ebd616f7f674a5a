//! Per-driver daemons side by side, as systemd runs them: a guest of `virtqemud`
//! with `<interface type='network'>` gets its port from `virtnetworkd` (seen in
//! `net-port-list` there, its tap on the network's bridge) and a
//! `<disk type='volume'>` resolved by `virtstoraged`; virtqemud reaches both
//! through their sockets. Stopping the guest deletes the port on virtnetworkd.

mod network_support;
mod qemu_support;

use network_support::NetHost;
use qemu_support::{tiny_guest, BOOT_TIMEOUT};

fn guest_xml(host: &NetHost, name: &str) -> String {
    let (kernel, initrd) = tiny_guest();
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64'>hvm</type><kernel>{}</kernel><initrd>{}</initrd>\
         <cmdline>console=ttyS0 quiet</cmdline></os><features><acpi/></features>\
         <devices><serial type='file'><source path='{}'/></serial>\
         <disk type='volume' device='disk'><source pool='gp' volume='data.qcow2'/>\
         <target dev='vda' bus='virtio'/></disk>\
         <interface type='network'><mac address='52:54:00:12:34:77'/>\
         <source network='default'/><model type='virtio'/></interface></devices></domain>",
        kernel.display(),
        initrd.display(),
        host.root().join(format!("{name}.serial")).display()
    )
}

fn ok(host: &NetHost, uri: &str, commands: &str) -> String {
    let out = integration_tests::virsh(uri, commands);
    assert!(
        out.success(),
        "virsh {commands}: {out}\n{}",
        host.diagnostics()
    );
    out.stdout
}

#[test]
fn virtqemud_guest_uses_ports_of_virtnetworkd_and_volumes_of_virtstoraged() {
    let mut host = NetHost::new();
    host.start_modular("virtnetworkd");
    host.start_modular("virtstoraged");
    host.start_modular("virtqemud");
    let net = host.modular_uri("network", "virtnetworkd");
    let storage = host.modular_uri("storage", "virtstoraged");
    let qemu = host.modular_uri("qemu", "virtqemud");

    ok(&host, &net, "net-start default");
    let dir = host.root().join("gpool");
    ok(
        &host,
        &storage,
        &format!("pool-create-as gp dir --target {} --build", dir.display()),
    );
    ok(
        &host,
        &storage,
        "vol-create-as gp data.qcow2 16M --format qcow2",
    );
    let file = host.write("g1.xml", &guest_xml(&host, "g1"), 0o644);
    ok(&host, &qemu, &format!("define {}", file.display()));
    ok(&host, &qemu, "start g1");
    let serial = host.root().join("g1.serial");
    assert!(
        integration_tests::wait_until(BOOT_TIMEOUT, || std::fs::read_to_string(&serial)
            .is_ok_and(|t| t.contains("TINY-GUEST-BOOTED"))),
        "the guest booted\n{}",
        host.diagnostics()
    );

    // The port lives in virtnetworkd, owned by the guest, and the tap is on its bridge.
    let ports = ok(&host, &net, "net-port-list default");
    let port = ports
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 36)
        .unwrap_or_else(|| panic!("the guest's port on virtnetworkd: {ports}"))
        .to_string();
    let port_xml = ok(&host, &net, &format!("net-port-dumpxml default {port}"));
    assert!(
        port_xml.contains("<name>g1</name>")
            && port_xml.contains("<mac address='52:54:00:12:34:77'/>"),
        "{port_xml}"
    );
    let bridged = host.ns_ok(&["ip", "-o", "link", "show", "master", "virbr0"]);
    assert!(
        bridged.contains("vnet0"),
        "the tap is on the bridge: {bridged}"
    );
    // domiftune in virtqemud reaches the port in virtnetworkd.
    ok(
        &host,
        &qemu,
        "domiftune g1 52:54:00:12:34:77 --live --inbound 2000",
    );
    let port_xml = ok(&host, &net, &format!("net-port-dumpxml default {port}"));
    assert!(port_xml.contains("<inbound average='2000'/>"), "{port_xml}");

    // The disk is the volume's file, as virtstoraged reported it.
    let block = ok(
        &host,
        &qemu,
        "qemu-monitor-command g1 --pretty '{\"execute\":\"query-block\"}'",
    );
    assert!(
        block.contains(&format!("\"filename\": \"{}/data.qcow2\"", dir.display())),
        "{block}"
    );
    let live = ok(&host, &qemu, "dumpxml g1");
    assert!(
        live.contains("<source pool='gp' volume='data.qcow2'/>"),
        "{live}"
    );

    ok(&host, &qemu, "destroy g1");
    let ports = ok(&host, &net, "net-port-list default");
    assert!(
        !ports.contains(&port),
        "the port is deleted with the guest: {ports}"
    );

    // A volume virtstoraged does not have: virtqemud passes on its error.
    ok(&host, &storage, "vol-delete --pool gp data.qcow2");
    let out = integration_tests::virsh(&qemu, "start g1");
    assert!(
        !out.success()
            && out.stderr.contains(
                "Storage volume not found: no storage vol with matching name 'data.qcow2'"
            ),
        "{out}"
    );
    let ports = ok(&host, &net, "net-port-list default");
    assert!(
        !ports.lines().any(|l| l.trim().len() == 36),
        "no port is left from the failed start: {ports}"
    );
}
