//! Virtual networks end to end: the `default` network of a fresh root as Debian 12
//! defines it, started (bridge with its address, dnsmasq, libvirt 9.0's iptables chains
//! also visible through nft) and destroyed (all of it gone), definitions and autostart
//! links on disk, lifecycle events, net-update, and the clients' other ways in
//! (`network:///system`, the test driver refusing). Each test runs its daemon in a
//! network namespace of its own.

mod network_support;

use std::fs;
use std::time::Duration;

use integration_tests::wait_until;
use network_support::{NetEvents, NetHost};

#[test]
fn fresh_root_has_debians_default_network_which_starts_and_stops_cleanly() {
    let host = NetHost::start();
    let list = host.virsh_ok("net-list --all");
    let row: Vec<&str> = list
        .lines()
        .find(|l| l.trim_start().starts_with("default"))
        .unwrap_or_else(|| panic!("no default network: {list}"))
        .split_whitespace()
        .collect();
    assert_eq!(row, ["default", "inactive", "no", "yes"], "{list}");
    let info = host.virsh_ok("net-info default");
    assert!(info.contains("Bridge:         virbr0"), "{info}");
    let config = fs::read_to_string(host.root().join("etc/libvirt/qemu/networks/default.xml"))
        .expect("the default network's definition");
    assert!(config.contains("<ip address='192.168.122.1' netmask='255.255.255.0'>"));
    assert!(!host
        .root()
        .join("etc/libvirt/qemu/networks/autostart/default.xml")
        .exists());

    host.virsh_ok("net-start default");
    let addr = host.ns_ok(&["ip", "-4", "addr", "show", "dev", "virbr0"]);
    assert!(addr.contains("inet 192.168.122.1/24"), "{addr}");
    let pid = host
        .dnsmasq_pid("default")
        .expect("dnsmasq runs for the network");
    let conf = fs::read_to_string(host.root().join("var/lib/libvirt/dnsmasq/default.conf"))
        .expect("dnsmasq configuration");
    assert!(
        conf.contains("dhcp-range=192.168.122.2,192.168.122.254,255.255.255.0"),
        "{conf}"
    );
    assert!(conf.contains("interface=virbr0"), "{conf}");
    let nat = host.iptables("nat");
    assert!(nat.contains("-A POSTROUTING -j LIBVIRT_PRT"), "{nat}");
    assert!(
        nat.contains("-A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535"),
        "{nat}"
    );
    let filter = host.iptables("filter");
    for chain in [
        "LIBVIRT_INP",
        "LIBVIRT_OUT",
        "LIBVIRT_FWI",
        "LIBVIRT_FWO",
        "LIBVIRT_FWX",
    ] {
        assert!(
            filter.contains(&format!("-A {chain} ")),
            "{chain} rules\n{filter}"
        );
    }
    assert!(
        host.nft_ruleset().contains("192.168.122.0/24"),
        "iptables-nft rules in nft"
    );
    let forward = host.ns_ok(&["cat", "/proc/sys/net/ipv4/ip_forward"]);
    assert_eq!(forward.trim(), "1");
    let live = host.virsh_ok("net-dumpxml default");
    assert!(live.contains("<port start='1024' end='65535'/>"), "{live}");
    let inactive = host.virsh_ok("net-dumpxml --inactive default");
    assert!(!inactive.contains("<port "), "{inactive}");
    assert!(host.root().join("run/libvirt/network/default.xml").exists());

    host.virsh_ok("net-destroy default");
    assert!(!host.link_exists("virbr0"), "the bridge is gone");
    assert!(
        wait_until(Duration::from_secs(10), || !std::path::Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()
            || fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))),
        "dnsmasq stopped"
    );
    let nat = host.iptables("nat");
    assert!(!nat.contains("192.168.122.0/24"), "{nat}");
    assert!(!host.iptables("filter").contains("virbr0"));
    assert!(!host.root().join("run/libvirt/network/default.xml").exists());
    let list = host.virsh_ok("net-list --all");
    assert!(
        list.contains("default   inactive   no          yes"),
        "{list}"
    );
}

#[test]
fn define_undefine_autostart_update_and_events() {
    let host = NetHost::start();
    let mut events = NetEvents::start(&host);
    let xml = "<network><name>iso1</name><bridge name='lvbr-iso1'/>\
               <ip address='10.77.0.1' prefix='24'><dhcp><range start='10.77.0.10' end='10.77.0.20'/></dhcp></ip></network>";
    assert!(host.define("iso1", xml).success());
    let file = host.root().join("etc/libvirt/qemu/networks/iso1.xml");
    let saved = fs::read_to_string(&file).expect("definition file");
    assert!(
        saved.starts_with("<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE."),
        "{saved}"
    );
    assert!(saved.contains("virsh net-edit iso1"));
    host.virsh_ok("net-autostart iso1");
    let link = host
        .root()
        .join("etc/libvirt/qemu/networks/autostart/iso1.xml");
    assert_eq!(fs::read_link(&link).expect("autostart link"), file);
    let list = host.virsh_ok("net-list --all --autostart");
    assert!(list.contains("iso1") && !list.contains("default"), "{list}");
    host.virsh_ok("net-start iso1");
    assert!(host.link_exists("lvbr-iso1"));
    // Isolated: no NAT, but the guest-facing rules.
    assert!(!host.iptables("nat").contains("10.77.0.0/24"));
    assert!(host
        .iptables("filter")
        .contains("-A LIBVIRT_FWI -o lvbr-iso1 -j REJECT"));

    let out = host.virsh_args(&[
        "net-update",
        "iso1",
        "add",
        "ip-dhcp-host",
        "<host mac='52:54:00:00:00:07' name='g7' ip='10.77.0.7'/>",
        "--live",
        "--config",
    ]);
    assert!(out.success(), "{out}");
    let hosts = fs::read_to_string(host.root().join("var/lib/libvirt/dnsmasq/iso1.hostsfile"))
        .expect("hosts file");
    assert_eq!(hosts, "52:54:00:00:00:07,10.77.0.7,g7\n");
    assert!(
        host.dnsmasq_pid("iso1").is_some(),
        "dnsmasq restarted after the update"
    );
    assert!(fs::read_to_string(&file)
        .expect("config")
        .contains("name='g7'"));
    let missing = host.virsh_args(&[
        "net-update",
        "iso1",
        "delete",
        "ip-dhcp-host",
        "<host mac='52:54:00:00:00:08' name='g8' ip='10.77.0.8'/>",
        "--live",
        "--config",
    ]);
    assert!(!missing.success());
    assert!(
        missing
            .stderr
            .contains("couldn't locate a matching dhcp host entry in network 'iso1'"),
        "{missing}"
    );
    let out = host.virsh_args(&[
        "net-update",
        "iso1",
        "add",
        "dns-host",
        "<host ip='10.77.0.5'><hostname>web</hostname></host>",
        "--live",
    ]);
    assert!(out.success(), "{out}");
    let addn = fs::read_to_string(host.root().join("var/lib/libvirt/dnsmasq/iso1.addnhosts"))
        .expect("addnhosts");
    assert_eq!(addn, "10.77.0.5\tweb\t\n");

    host.virsh_ok("net-undefine iso1");
    assert!(!file.exists() && !link.exists());
    let list = host.virsh_ok("net-list --all --transient");
    assert!(
        list.contains("iso1"),
        "running network became transient: {list}"
    );
    host.virsh_ok("net-destroy iso1");
    assert!(!host.virsh_ok("net-list --all").contains("iso1"));
    assert!(!host.link_exists("lvbr-iso1"));

    let kinds = events.collect("iso1", 4, Duration::from_secs(20));
    assert_eq!(kinds, ["Defined", "Started", "Undefined", "Stopped"]);

    // network:///system serves the same networks; the test driver has none.
    let out = integration_tests::virsh(&host.network_uri(), "net-list --all");
    assert!(out.success() && out.stdout.contains("default"), "{out}");
    let test_uri = format!(
        "test+unix:///default?socket={}",
        host.root().join("run/libvirt/libvirt-sock").display()
    );
    let out = integration_tests::virsh(&test_uri, "net-list --all");
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("this function is not supported by the connection driver"),
        "{out}"
    );
}

#[test]
fn network_ports_through_the_port_calls() {
    let host = NetHost::start();
    let xml = "<networkport><owner><name>ext</name>\
               <uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid></owner>\
               <mac address='52:54:00:aa:bb:cc'/></networkport>";
    let file = host.write("port.xml", xml, 0o644);
    let out = host.virsh(&format!("net-port-create default {}", file.display()));
    assert!(!out.success());
    assert!(
        out.stderr.contains("network 'default' is not active"),
        "{out}"
    );
    host.virsh_ok("net-start default");
    let created = host.virsh_ok(&format!("net-port-create default {}", file.display()));
    let uuid = created
        .split_whitespace()
        .find(|w| w.len() == 36 && w.matches('-').count() == 4)
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let list = host.virsh_ok("net-port-list default");
    assert!(list.contains(&uuid), "{list}");
    let dump = host.virsh_ok(&format!("net-port-dumpxml default {uuid}"));
    assert!(dump.contains("<name>ext</name>"), "{dump}");
    assert!(
        dump.contains("<mac address='52:54:00:aa:bb:cc'/>"),
        "{dump}"
    );
    assert!(
        dump.contains("<plug type='network' bridge='virbr0'/>"),
        "{dump}"
    );
    host.virsh_ok(&format!("net-port-delete default {uuid}"));
    assert!(!host.virsh_ok("net-port-list default").contains(&uuid));
    // virsh hides the lookup's error (and exits 0); the port is gone all the same.
    let out = host.virsh(&format!("net-port-dumpxml default {uuid}"));
    assert!(!out.stdout.contains("<networkport>"), "{out}");
    assert!(out.stderr.contains("failed to get network port"), "{out}");
    host.virsh_ok("net-destroy default");
}

#[test]
fn transient_route_and_open_networks() {
    let host = NetHost::start();
    let route = "<network><name>rt</name><forward mode='route'/><bridge name='lvbr-rt'/>\
                 <ip address='10.88.0.1' netmask='255.255.255.0'/></network>";
    let file = host.write("rt.xml", route, 0o644);
    host.virsh_ok(&format!("net-create {}", file.display()));
    let list = host.virsh_ok("net-list --transient --name");
    assert_eq!(list.trim(), "rt");
    let filter = host.iptables("filter");
    assert!(
        filter.contains("-A LIBVIRT_FWI -d 10.88.0.0/24 -o lvbr-rt -j ACCEPT"),
        "{filter}"
    );
    assert!(
        filter.contains("-A LIBVIRT_FWO -s 10.88.0.0/24 -i lvbr-rt -j ACCEPT"),
        "{filter}"
    );
    assert!(
        !host.iptables("nat").contains("10.88.0.0/24"),
        "route mode has no NAT"
    );
    assert!(
        host.dnsmasq_pid("rt").is_some(),
        "DNS runs on a routed network"
    );
    assert!(!host
        .root()
        .join("etc/libvirt/qemu/networks/rt.xml")
        .exists());
    host.virsh_ok("net-destroy rt");
    let names = host.virsh_ok("net-list --all --name");
    assert_eq!(names.trim(), "default", "a transient network vanishes");
    assert!(!host.iptables("filter").contains("lvbr-rt"));

    let open = "<network><name>op</name><forward mode='open'/><bridge name='lvbr-op'/>\
                <ip address='10.89.0.1' prefix='24'/><dns enable='no'/></network>";
    let file = host.write("op.xml", open, 0o644);
    host.virsh_ok(&format!("net-create {}", file.display()));
    assert!(host.link_exists("lvbr-op"));
    assert!(
        !host.iptables("filter").contains("lvbr-op"),
        "open mode adds no rules"
    );
    assert!(
        host.dnsmasq_pid("op").is_none(),
        "no DHCP and no DNS: no dnsmasq"
    );
    host.virsh_ok("net-destroy op");
    assert!(!host.link_exists("lvbr-op"));
}
