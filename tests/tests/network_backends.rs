//! The firewall backend `network.conf` picks (`firewall_backend = "nftables"`: the
//! driver's own `libvirt_network` tables, no iptables chains), and re-attaching after
//! the daemon is killed: the network stays active with the same dnsmasq.

mod network_support;

use network_support::NetHost;

#[test]
fn nftables_backend_holds_the_rules_and_destroy_removes_them() {
    let mut host = NetHost::new();
    host.write(
        "etc/libvirt/network.conf",
        "firewall_backend = \"nftables\"\n",
        0o644,
    );
    host.start_daemon();
    host.virsh_ok("net-start default");
    let table = host.ns_ok(&["nft", "list", "table", "ip", "libvirt_network"]);
    assert!(
        table.contains("ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24"),
        "{table}"
    );
    assert!(table.contains("masquerade"), "{table}");
    assert!(table.contains("oifname \"virbr0\""), "{table}");
    assert!(
        !host.iptables("nat").contains("LIBVIRT_PRT"),
        "no iptables chains"
    );
    host.virsh_ok("net-destroy default");
    let table = host.ns_ok(&["nft", "list", "table", "ip", "libvirt_network"]);
    assert!(
        !table.contains("virbr0") && !table.contains("192.168.122"),
        "{table}"
    );
    assert!(!host.link_exists("virbr0"));
}

#[test]
fn sighup_reads_definitions_written_to_disk() {
    let host = NetHost::start();
    // A first answered call proves the driver finished loading its definitions.
    assert!(host.virsh_ok("net-list --all --name").contains("default"));
    host.write(
        "etc/libvirt/qemu/networks/extra.xml",
        "<network><name>extra</name><bridge name='lvbr-extra'/></network>\n",
        0o600,
    );
    assert!(!host.virsh_ok("net-list --all --name").contains("extra"));
    host.signal(libc::SIGHUP);
    let seen = integration_tests::wait_until(std::time::Duration::from_secs(20), || {
        host.virsh_ok("net-list --all --name").contains("extra")
    });
    assert!(seen, "SIGHUP did not load the new definition");
    let xml = host.virsh_ok("net-dumpxml extra");
    assert!(xml.contains("<uuid>"), "completed with a UUID: {xml}");
}

#[test]
fn killed_daemon_finds_the_network_running_with_the_same_dnsmasq() {
    let mut host = NetHost::start();
    host.virsh_ok("net-start default");
    let pid = host.dnsmasq_pid("default").expect("dnsmasq");
    host.kill_daemon();
    host.start_daemon();
    let list = host.virsh_ok("net-list");
    assert!(list.contains("default   active"), "{list}");
    assert_eq!(
        host.dnsmasq_pid("default"),
        Some(pid),
        "dnsmasq was not restarted"
    );
    let live = host.virsh_ok("net-dumpxml default");
    assert!(live.contains("<port start='1024' end='65535'/>"), "{live}");
    // Autostart happens once per boot, not at every daemon start.
    host.virsh_ok("net-destroy default");
    host.virsh_ok("net-autostart default");
    host.kill_daemon();
    host.start_daemon();
    assert!(host
        .virsh_ok("net-list --all")
        .contains("default   inactive   yes"));
    assert!(!host.link_exists("virbr0"));
    assert!(host.dnsmasq_pid("default").is_none());
}
