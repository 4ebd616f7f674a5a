//! Networks refused or failing half way leave nothing behind: a subnet already in use,
//! a bridge name another network has, an invalid DHCP range, a `start` hook that
//! refuses, a `started` hook that fails (libvirt 9.0 leaks the bridge, dnsmasq and rules
//! there; we remove them). The network hook sees libvirt's argument lists and
//! `<hookData>` on stdin, in order.

mod network_support;

use network_support::NetHost;

/// Bridge, addresses, rules and dnsmasq of `name` on `bridge` are all absent.
fn assert_nothing_left(host: &NetHost, name: &str, bridge: &str, subnet: &str) {
    assert!(!host.link_exists(bridge), "bridge {bridge} left behind");
    assert!(
        host.dnsmasq_pid(name).is_none(),
        "dnsmasq of {name} left behind"
    );
    assert!(
        !host.iptables("nat").contains(subnet),
        "NAT rules left behind"
    );
    assert!(
        !host.iptables("filter").contains(bridge),
        "filter rules left behind"
    );
    assert!(!host
        .root()
        .join(format!("run/libvirt/network/{name}.xml"))
        .exists());
}

#[test]
fn bad_input_is_refused_with_libvirts_errors_and_leaves_nothing() {
    let host = NetHost::start();
    host.virsh_ok("net-start default");

    // The same subnet as the running default network: refused at start.
    let clash = "<network><name>clash</name><forward mode='nat'/>\
                 <ip address='192.168.122.7' netmask='255.255.255.0'/></network>";
    assert!(host.define("clash", clash).success());
    let out = host.virsh("net-start clash");
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("internal error: Network is already in use by interface virbr0"),
        "{out}"
    );
    let bridge = host.virsh_ok("net-info clash");
    assert!(bridge.contains("virbr1"), "auto-numbered bridge: {bridge}");
    assert!(!host.link_exists("virbr1"));
    assert_eq!(
        host.iptables("nat").matches("MASQUERADE").count(),
        3,
        "only the default network's rules"
    );

    // A bridge name another network has.
    let dup = "<network><name>dup</name><bridge name='virbr0'/>\
               <ip address='192.168.50.1' netmask='255.255.255.0'/></network>";
    let out = host.define("dup", dup);
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("internal error: bridge name 'virbr0' already in use."),
        "{out}"
    );

    // DHCP ranges outside the subnet or reversed.
    let outside = "<network><name>r1</name><ip address='192.168.60.1' netmask='255.255.255.0'>\
                   <dhcp><range start='192.168.61.2' end='192.168.61.254'/></dhcp></ip></network>";
    let out = host.define("r1", outside);
    assert!(
        out.stderr.contains(
            "range 192.168.61.2 - 192.168.61.254 is not entirely within network 192.168.60.1/24"
        ),
        "{out}"
    );
    let reversed = "<network><name>r2</name><ip address='192.168.60.1' netmask='255.255.255.0'>\
                    <dhcp><range start='192.168.60.200' end='192.168.60.100'/></dhcp></ip></network>";
    let out = host.define("r2", reversed);
    assert!(
        out.stderr
            .contains("range 192.168.60.200 - 192.168.60.100 is reversed"),
        "{out}"
    );
    let list = host.virsh_ok("net-list --all --name");
    let mut names: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
    names.sort();
    assert_eq!(names, ["clash", "default"]);
    for name in ["dup", "r1", "r2"] {
        assert!(!host
            .root()
            .join(format!("etc/libvirt/qemu/networks/{name}.xml"))
            .exists());
    }

    // Names that would escape the configuration directory.
    let out = host.define("slash", "<network><name>a/b</name></network>");
    assert!(out.stderr.contains("invalid char in name: /"), "{out}");
    let out = host.virsh("net-info nosuch");
    assert!(
        out.stderr
            .contains("Network not found: no network with matching name 'nosuch'"),
        "{out}"
    );

    host.virsh_ok("net-destroy default");
    assert_nothing_left(&host, "default", "virbr0", "192.168.122.0/24");
}

const HOOK: &str = "#!/bin/sh\n\
    { echo \"ARGS $*\"; cat; echo; } >>\"$(dirname \"$0\")/../../../hook.log\"\n\
    if [ -e \"$(dirname \"$0\")/../../../fail-$2\" ]; then echo \"refusing $2\" >&2; exit 1; fi\n\
    exit 0\n";

#[test]
fn network_hooks_run_in_order_and_failures_leave_nothing() {
    let mut host = NetHost::new();
    host.write("etc/libvirt/hooks/network", HOOK, 0o755);
    host.start_daemon();
    let log = host.root().join("hook.log");

    host.virsh_ok("net-start default");
    let out = host.virsh_args(&[
        "net-update",
        "default",
        "add",
        "dns-host",
        "<host ip='192.168.122.5'><hostname>foo</hostname></host>",
        "--live",
    ]);
    assert!(out.success(), "{out}");
    host.virsh_ok("net-destroy default");
    let text = std::fs::read_to_string(&log).expect("the hook ran");
    let calls: Vec<&str> = text.lines().filter(|l| l.starts_with("ARGS ")).collect();
    assert_eq!(
        calls,
        [
            "ARGS default start begin -",
            "ARGS default started begin -",
            "ARGS default updated begin -",
            "ARGS default stopped end -",
        ],
        "{text}"
    );
    assert!(
        text.contains("<hookData>\n  <network>\n    <name>default</name>\n"),
        "{text}"
    );
    // `started` sees the running definition, `start` the one about to run.
    let started = text
        .split("ARGS default started")
        .nth(1)
        .expect("started input");
    assert!(
        started.contains("<port start='1024' end='65535'/>"),
        "{text}"
    );
    let start = text
        .split("ARGS default started")
        .next()
        .expect("start input");
    assert!(!start.contains("<port "), "{text}");

    // A refusing `start` hook: nothing is created.
    std::fs::write(host.root().join("fail-start"), "").expect("marker");
    let out = host.virsh("net-start default");
    assert!(!out.success());
    assert!(out.stderr.contains("Hook script execution failed"), "{out}");
    assert!(out.stderr.contains("refusing start"), "{out}");
    assert_nothing_left(&host, "default", "virbr0", "192.168.122.0/24");
    std::fs::remove_file(host.root().join("fail-start")).expect("marker");

    // A failing `started` hook: what the start made is removed again.
    std::fs::write(host.root().join("fail-started"), "").expect("marker");
    let out = host.virsh("net-start default");
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("refusing started"), "{out}");
    assert_nothing_left(&host, "default", "virbr0", "192.168.122.0/24");
    let list = host.virsh_ok("net-list --all");
    assert!(list.contains("default   inactive"), "{list}");
}

#[test]
fn python_sees_libvirts_error_codes_and_domains() {
    let host = NetHost::start();
    let test_uri = format!(
        "test+unix:///default?socket={}",
        host.root().join("run/libvirt/libvirt-sock").display()
    );
    let out = integration_tests::python("network_errors.py", &[&host.uri(), &test_uri]);
    assert!(out.success(), "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "lookup 43 19 Network not found: no network with matching name 'nosuch'",
            "uuid 43 19 Network not found: no network with matching uuid 'c7a5fdbd-cdaf-9455-926a-d65c16db1809'",
            "destroy-inactive 55 19 Requested operation is not valid: network 'default' is not active",
            "dup-bridge 1 19 internal error: bridge name 'virbr0' already in use.",
            "update-missing 55 19 Requested operation is not valid: couldn't locate a matching dhcp host entry in network 'default'",
            "active ['default']",
            "test-driver 3 19 this function is not supported by the connection driver: virConnectListAllNetworks",
        ],
        "{out}"
    );
}
