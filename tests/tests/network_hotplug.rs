//! `<interface type='network'>` plugged into a running qemu guest: the NIC gets a port
//! on the network (`port-created` hook) and a `vnetN` tap on its bridge; unplugging it
//! deletes both (`port-deleted`). Its inbound `<bandwidth>` becomes an htb class on the
//! tap (outbound policing needs kernel modules test machines may lack).

mod network_support;
mod qemu_support;

use std::time::Duration;

use network_support::NetHost;
use qemu_support::{tiny_guest, BOOT_TIMEOUT};

const HOOK: &str = "#!/bin/sh\n\
    echo \"ARGS $*\" >>\"$(dirname \"$0\")/../../../hook.log\"\n\
    cat >/dev/null\n\
    exit 0\n";

fn guest_xml(host: &NetHost, name: &str) -> String {
    let (kernel, initrd) = tiny_guest();
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64'>hvm</type><kernel>{}</kernel><initrd>{}</initrd>\
         <cmdline>console=ttyS0 quiet no_timer_check</cmdline></os><features><acpi/></features>\
         <devices><serial type='file'><source path='{}'/></serial></devices></domain>",
        kernel.display(),
        initrd.display(),
        host.root().join(format!("{name}.serial")).display()
    )
}

fn hook_calls(host: &NetHost) -> Vec<String> {
    std::fs::read_to_string(host.root().join("hook.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("port-"))
        .map(str::to_string)
        .collect()
}

#[test]
fn network_nic_plugged_live_gets_a_port_and_a_tap_and_loses_both_on_unplug() {
    let mut host = NetHost::new();
    host.write("etc/libvirt/hooks/network", HOOK, 0o755);
    host.start_daemon();
    host.virsh_ok("net-start default");
    let file = host.write("hp.xml", &guest_xml(&host, "hp"), 0o644);
    host.virsh_ok(&format!("create {}", file.display()));
    let serial = host.root().join("hp.serial");
    assert!(
        integration_tests::wait_until(BOOT_TIMEOUT, || std::fs::read_to_string(&serial)
            .is_ok_and(|t| t.contains("TINY-GUEST-BOOTED"))),
        "the guest booted"
    );

    host.virsh_ok(
        "attach-interface hp --type network --source default --model virtio \
         --mac 52:54:00:ab:cd:01 --inbound 1000,5000,1024 --live",
    );
    let qdiscs = host.ns_ok(&["tc", "qdisc", "show", "dev", "vnet0"]);
    assert!(qdiscs.contains("qdisc htb 1: root"), "{qdiscs}");
    // 1000 KiB/s average, 5000 KiB/s peak, in tc's bits.
    let classes = host.ns_ok(&["tc", "class", "show", "dev", "vnet0"]);
    assert!(classes.contains("rate 8Mbit ceil 40Mbit"), "{classes}");
    let on_bridge = host.ns_ok(&["ip", "-o", "link", "show", "master", "virbr0"]);
    assert!(on_bridge.contains("vnet0"), "{on_bridge}");
    let ports = host.virsh_ok("net-port-list default");
    let port = ports
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 36)
        .unwrap_or_else(|| panic!("no port: {ports}"))
        .to_string();
    let port_xml = host.virsh_ok(&format!("net-port-dumpxml default {port}"));
    assert!(
        port_xml.contains("<name>hp</name>") && port_xml.contains("52:54:00:ab:cd:01"),
        "{port_xml}"
    );
    let live = host.virsh_ok("dumpxml hp");
    assert!(
        live.contains("<source network='default' bridge='virbr0'/>")
            && live.contains("<target dev='vnet0'/>"),
        "{live}"
    );
    let iflist = host.virsh_ok("domiflist hp");
    assert!(
        iflist.contains("vnet0") && iflist.contains("network") && iflist.contains("default"),
        "{iflist}"
    );
    assert_eq!(hook_calls(&host), ["ARGS default port-created begin -"]);

    host.virsh_ok("detach-interface hp network --mac 52:54:00:ab:cd:01 --live");
    let gone = integration_tests::wait_until(Duration::from_secs(30), || {
        !host.link_exists("vnet0")
            && host
                .virsh_ok("net-port-list default")
                .lines()
                .all(|l| l.trim().len() != 36)
    });
    assert!(gone, "{}", host.virsh_ok("net-port-list default"));
    assert!(!host.virsh_ok("dumpxml hp").contains("52:54:00:ab:cd:01"));
    assert_eq!(
        hook_calls(&host),
        [
            "ARGS default port-created begin -",
            "ARGS default port-deleted begin -"
        ]
    );
    host.virsh_ok("destroy hp");
}
