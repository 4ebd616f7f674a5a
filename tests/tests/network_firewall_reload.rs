//! A firewall reload (firewalld flushing everything) loses the rules of running
//! networks; SIGHUP makes the daemon add them again, once, for either backend.

mod network_support;

use std::time::Duration;

use network_support::NetHost;

const NAT_RULE: &str = "-s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE";

#[test]
fn sighup_restores_flushed_iptables_rules_without_doubling_them() {
    let host = NetHost::start();
    host.virsh_ok("net-start default");
    let nat = host.iptables("nat");
    assert_eq!(nat.matches(NAT_RULE).count(), 1, "{nat}");
    let filter = host.iptables("filter");
    for (table, chain) in [
        ("nat", "LIBVIRT_PRT"),
        ("filter", "LIBVIRT_FWO"),
        ("filter", "LIBVIRT_FWI"),
        ("filter", "LIBVIRT_FWX"),
        ("filter", "LIBVIRT_INP"),
        ("filter", "LIBVIRT_OUT"),
    ] {
        host.ns_ok(&["iptables", "-w", "-t", table, "-F", chain]);
    }
    assert!(!host.iptables("nat").contains(NAT_RULE));
    host.signal(libc::SIGHUP);
    let back = integration_tests::wait_until(Duration::from_secs(20), || {
        host.iptables("nat").contains(NAT_RULE) && host.iptables("filter") == filter
    });
    assert!(
        back,
        "rules not restored:\n{}\n{}",
        host.iptables("nat"),
        host.iptables("filter")
    );
    assert_eq!(host.iptables("nat").matches(NAT_RULE).count(), 1);
    // A second SIGHUP with every rule in place changes nothing.
    host.signal(libc::SIGHUP);
    assert!(host.virsh_ok("net-list --all --name").contains("default"));
    assert_eq!(host.iptables("nat").matches(NAT_RULE).count(), 1);
    assert_eq!(host.iptables("filter"), filter);
}

#[test]
fn sighup_restores_a_deleted_nftables_table() {
    let mut host = NetHost::new();
    host.write(
        "etc/libvirt/network.conf",
        "firewall_backend = \"nftables\"\n",
        0o644,
    );
    host.start_daemon();
    host.virsh_ok("net-start default");
    let masquerades = |host: &NetHost| {
        host.ns(&["nft", "list", "table", "ip", "libvirt_network"])
            .stdout
            .matches("masquerade")
            .count()
    };
    assert_eq!(masquerades(&host), 3);
    host.ns_ok(&["nft", "delete", "table", "ip", "libvirt_network"]);
    assert_eq!(masquerades(&host), 0);
    host.signal(libc::SIGHUP);
    let back = integration_tests::wait_until(Duration::from_secs(20), || masquerades(&host) == 3);
    assert!(back, "{}", host.nft_ruleset());
    let table = host.ns_ok(&["nft", "list", "table", "ip", "libvirt_network"]);
    assert!(table.contains("jump guest_cross"), "{table}");
}
