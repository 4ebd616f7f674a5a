//! A container with `<interface type='network'>`: its NIC gets a port on the network
//! (`port-created` hook), the veth's host end joins the network's bridge and the live
//! XML names that bridge; destroy deletes the port (`port-deleted`) and the veth. All in
//! a network namespace of the test's own.

mod lxc_common;
mod network_support;

use std::fs;
use std::time::Duration;

use integration_tests::virsh;
use lxc_common::*;
use network_support::NetHost;

const LIST_LINKS: &str = r#"
ip link > /out/.l 2>&1; mv /out/.l /out/links
trap 'exit 0' TERM
sleep 100000 &
wait
"#;

const HOOK: &str = "#!/bin/sh\n\
    echo \"ARGS $*\" >>\"$(dirname \"$0\")/../../../hook.log\"\n\
    cat >/dev/null\n\
    exit 0\n";

fn port_hook_calls(host: &NetHost) -> Vec<String> {
    fs::read_to_string(host.root().join("hook.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("port-"))
        .map(str::to_string)
        .collect()
}

fn ports(host: &NetHost) -> Vec<String> {
    host.virsh_ok("net-port-list default")
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 36)
        .map(str::to_string)
        .collect()
}

#[test]
fn network_interface_gets_a_port_and_its_veth_joins_the_bridge() {
    require_container_host();
    let mut host = NetHost::new();
    host.write("etc/libvirt/hooks/network", HOOK, 0o755);
    host.start_daemon_with_host_mounts();
    host.virsh_ok("net-start default");
    let uri = lxc_uri(host.root());
    let name = container_name("netport");
    let _cleanup = ContainerCleanup::new(host.root(), &name);
    let rootfs = RootFs::new(LIST_LINKS);
    let interface =
        "    <interface type='network'>\n      <mac address='52:54:00:12:34:77'/>\n      \
         <source network='default'/>\n      <target dev='lxnp0'/>\n    </interface>\n";
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, interface)).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");

    let links = rootfs.wait_report("links");
    assert!(
        links.contains(": eth0@") && links.contains("52:54:00:12:34:77"),
        "no eth0 with the MAC in the container:\n{links}"
    );
    let members = host.ns_ok(&["ip", "-o", "link", "show", "master", "virbr0"]);
    assert!(
        members.contains(": lxnp0@"),
        "host end not on virbr0: {members}"
    );
    let ports = ports(&host);
    assert_eq!(ports.len(), 1, "one port");
    let port_xml = host.virsh_ok(&format!("net-port-dumpxml default {}", ports[0]));
    assert!(
        port_xml.contains(&format!("<name>{name}</name>"))
            && port_xml.contains("52:54:00:12:34:77"),
        "{port_xml}"
    );
    let live = virsh(&uri, &format!("dumpxml {name}")).expect_success("dumpxml");
    assert!(
        live.stdout
            .contains("<source network='default' bridge='virbr0'/>"),
        "{}",
        live.stdout
    );
    let inactive =
        virsh(&uri, &format!("dumpxml --inactive {name}")).expect_success("dumpxml --inactive");
    assert!(!inactive.stdout.contains("bridge="), "{}", inactive.stdout);
    assert_eq!(
        port_hook_calls(&host),
        ["ARGS default port-created begin -"]
    );

    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
    let gone = integration_tests::wait_until(Duration::from_secs(20), || {
        !host.link_exists("lxnp0") && self::ports(&host).is_empty()
    });
    assert!(gone, "veth or port left: {:?}", self::ports(&host));
    assert_eq!(
        port_hook_calls(&host),
        [
            "ARGS default port-created begin -",
            "ARGS default port-deleted begin -"
        ]
    );
    virsh(&uri, &format!("undefine {name}")).expect_success("undefine");
}
