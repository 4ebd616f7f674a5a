//! Bandwidth parameters of a running guest's network port: python3-libvirt reads
//! the port's `<bandwidth>` (from the guest's NIC) as typed parameters and
//! replaces it; the port's XML and the network's status file keep the new
//! values across a daemon restart, a floor without the network's inbound QoS
//! is refused as libvirt refuses it, and `domiftune` on the NIC updates the port.

mod network_support;
mod qemu_support;

use network_support::NetHost;
use qemu_support::tiny_guest;

fn guest_xml(host: &NetHost) -> String {
    let (kernel, initrd) = tiny_guest();
    format!(
        "<domain type='qemu'><name>bw</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64'>hvm</type><kernel>{}</kernel><initrd>{}</initrd>\
         <cmdline>console=ttyS0 quiet</cmdline></os>\
         <devices><serial type='file'><source path='{}'/></serial>\
         <interface type='network'><mac address='52:54:00:12:34:77'/>\
         <source network='default'/><model type='virtio'/>\
         <bandwidth><inbound average='1000' peak='3000' burst='32'/></bandwidth>\
         </interface></devices></domain>",
        kernel.display(),
        initrd.display(),
        host.root().join("bw.serial").display()
    )
}

fn port_xml(host: &NetHost) -> String {
    let ports = host.virsh_ok("net-port-list default");
    let port = ports
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 36)
        .unwrap_or_else(|| panic!("the guest's port: {ports}"));
    host.virsh_ok(&format!("net-port-dumpxml default {port}"))
}

#[test]
fn port_bandwidth_parameters_are_read_and_replaced() {
    let mut host = NetHost::new();
    host.start_daemon();
    host.virsh_ok("net-start default");
    let file = host.write("bw.xml", &guest_xml(&host), 0o644);
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start bw");
    let xml = port_xml(&host);
    assert!(
        xml.contains("<inbound average='1000' peak='3000' burst='32'/>"),
        "{xml}"
    );

    let out = integration_tests::python("network_port_params.py", &[&host.uri(), "default"]);
    assert!(out.success(), "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "before inbound.average=1000 inbound.burst=32 inbound.floor=0 inbound.peak=3000",
            "after inbound.average=2000 inbound.burst=64 inbound.floor=0 inbound.peak=0",
            "floor 84 19 Operation not supported: Invalid use of 'floor' on interface with \
             MAC address 52:54:00:12:34:77 - network 'default' has no inbound QoS set",
            "flags 8 19 unsupported flags (0x1) in function \
             networkPortGetParameters",
            "kept inbound.average=2000 inbound.burst=64 inbound.floor=0 inbound.peak=0",
        ],
        "{out}"
    );
    let changed = "<bandwidth>\n    <inbound average='2000' burst='64'/>\n  </bandwidth>";
    assert!(port_xml(&host).contains(changed), "{}", port_xml(&host));

    // The status file carries the new bandwidth over a daemon restart.
    host.kill_daemon();
    host.start_daemon();
    assert!(port_xml(&host).contains(changed), "{}", port_xml(&host));

    // domiftune on the guest's NIC reaches the port too, as libvirt's qemu driver
    // tells its network driver.
    host.virsh_ok("domiftune bw 52:54:00:12:34:77 --live --inbound 3000,4000,16");
    let xml = port_xml(&host);
    assert!(
        xml.contains("<inbound average='3000' peak='4000' burst='16'/>"),
        "{xml}"
    );
    host.virsh_ok("destroy bw");
}
