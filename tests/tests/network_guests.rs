//! A qemu guest on `<interface type='network'>`: its NIC gets a port on the network
//! (the `port-created` hook sees `<hookData>` with the network and the
//! `<networkport>`), a `vnetN` tap on the network's bridge, a DHCP lease from the
//! network's dnsmasq (busybox udhcpc in the guest, which then pings the bridge), and the
//! port is deleted when the guest stops; a restarted daemon runs `port-created` again. A guest on an inactive network does not start.

mod network_support;
mod qemu_support;

use network_support::NetHost;
use qemu_support::{tiny_guest, BOOT_TIMEOUT};

const HOOK: &str = "#!/bin/sh\n\
    { echo \"ARGS $*\"; cat; echo; } >>\"$(dirname \"$0\")/../../../hook.log\"\n\
    exit 0\n";

fn guest_xml(host: &NetHost, name: &str) -> String {
    let (kernel, initrd) = tiny_guest();
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64'>hvm</type><kernel>{}</kernel><initrd>{}</initrd>\
         <cmdline>console=ttyS0 quiet no_timer_check</cmdline></os><features><acpi/></features>\
         <devices><serial type='file'><source path='{}'/></serial>\
         <interface type='network'><mac address='52:54:00:12:34:56'/>\
         <source network='default'/><model type='virtio'/></interface></devices></domain>",
        kernel.display(),
        initrd.display(),
        host.root().join(format!("{name}.serial")).display()
    )
}

#[test]
fn guest_nic_gets_a_port_and_a_tap_on_the_network_bridge() {
    let mut host = NetHost::new();
    host.write("etc/libvirt/hooks/network", HOOK, 0o755);
    host.start_daemon();
    let file = host.write("g1.xml", &guest_xml(&host, "g1"), 0o644);
    host.virsh_ok(&format!("define {}", file.display()));

    let out = host.virsh("start g1");
    assert!(!out.success(), "the network is not active");
    assert!(
        out.stderr.contains("network 'default' is not active"),
        "{out}"
    );

    host.virsh_ok("net-start default");
    host.virsh_ok("start g1");
    let serial = host.root().join("g1.serial");
    assert!(
        integration_tests::wait_until(BOOT_TIMEOUT, || std::fs::read_to_string(&serial)
            .is_ok_and(|t| t.contains("TINY-GUEST-BOOTED"))),
        "the guest booted"
    );
    let ports = host.ns_ok(&["ip", "-o", "link", "show", "master", "virbr0"]);
    assert!(ports.contains("vnet0"), "the tap is on the bridge: {ports}");
    let ports = host.virsh_ok("net-port-list default");
    let port = ports
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 36)
        .unwrap_or_else(|| panic!("the guest's port: {ports}"));
    let port_xml = host.virsh_ok(&format!("net-port-dumpxml default {port}"));
    assert!(port_xml.contains("<name>g1</name>"), "{port_xml}");
    let iflist = host.virsh_ok("domiflist g1");
    let row: Vec<&str> = iflist
        .lines()
        .find(|l| l.contains("vnet0"))
        .unwrap_or_else(|| panic!("{iflist}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        ["vnet0", "network", "default", "virtio", "52:54:00:12:34:56"],
        "{iflist}"
    );

    // The guest's busybox udhcpc gets a lease from the network's dnsmasq and pings
    // the bridge address it was given as router.
    let mut console = String::new();
    let leased = integration_tests::wait_until(BOOT_TIMEOUT, || {
        console = std::fs::read_to_string(&serial).unwrap_or_default();
        console.contains("TINY-GUEST-PING-OK 192.168.122.1")
    });
    assert!(leased, "no DHCP lease and ping in the guest:\n{console}");
    let ip = console
        .lines()
        .find_map(|l| l.trim().strip_prefix("TINY-GUEST-DHCP "))
        .expect("leased address")
        .to_string();
    assert!(ip.starts_with("192.168.122."), "{ip}");
    let leases = host.virsh_ok("net-dhcp-leases default");
    assert!(
        leases.contains("52:54:00:12:34:56") && leases.contains(&format!("{ip}/24")),
        "{leases}"
    );
    let by_mac = host.virsh_ok("net-dhcp-leases default --mac 52:54:00:12:34:57");
    assert!(!by_mac.contains("192.168.122."), "{by_mac}");
    let addrs = host.virsh_ok("domifaddr g1 --source lease");
    let row: Vec<&str> = addrs
        .lines()
        .find(|l| l.contains("vnet0"))
        .unwrap_or_else(|| panic!("{addrs}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        ["vnet0", "52:54:00:12:34:56", "ipv4", &format!("{ip}/24")],
        "{addrs}"
    );

    // A new daemon re-attaches the network and tells the hook of the port again.
    host.kill_daemon();
    host.start_daemon();
    assert!(host.virsh_ok("list").contains("g1"));
    assert!(host.virsh_ok("net-list").contains("default   active"));

    host.virsh_ok("destroy g1");
    assert!(!host.link_exists("vnet0"), "the tap is gone");
    host.virsh_ok("net-destroy default");

    let log = std::fs::read_to_string(host.root().join("hook.log")).expect("hook log");
    let calls: Vec<&str> = log.lines().filter(|l| l.starts_with("ARGS ")).collect();
    assert_eq!(
        calls,
        [
            "ARGS default start begin -",
            "ARGS default started begin -",
            "ARGS default port-created begin -",
            "ARGS default port-created begin -",
            "ARGS default port-deleted begin -",
            "ARGS default stopped end -",
        ],
        "{log}"
    );
    let created = log
        .split("ARGS default port-created")
        .nth(1)
        .expect("port input");
    assert!(created.contains("<hookData>\n  <network>"), "{created}");
    assert!(created.contains("  <networkport>\n    <uuid>"), "{created}");
    assert!(created.contains("      <name>g1</name>"), "{created}");
    assert!(
        created.contains("<mac address='52:54:00:12:34:56'/>"),
        "{created}"
    );
    assert!(
        created.contains("<plug type='network' bridge='virbr0'/>"),
        "{created}"
    );
}
