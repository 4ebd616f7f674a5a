//! A container with `<interface type='bridge'>`: its own network namespace with `lo` and
//! `eth0` (the given MAC), the host end of the veth pair in the bridge, gone after destroy.

mod lxc_common;

use std::fs;
use std::process::Command;

use integration_tests::{virsh, Daemon};
use lxc_common::*;

const LIST_LINKS: &str = r#"
ip link > /out/.l 2>&1; mv /out/.l /out/links
trap 'exit 0' TERM
sleep 100000 &
wait
"#;

/// A bridge for the test, deleted again on drop.
struct Bridge(String);

impl Bridge {
    fn create(name: &str) -> Bridge {
        let ok = Command::new("ip")
            .args(["link", "add", name, "type", "bridge"])
            .status()
            .expect("run ip (install iproute2)")
            .success();
        assert!(ok, "cannot create bridge {name}");
        Bridge(name.to_string())
    }

    fn members(&self) -> String {
        let out = Command::new("ip")
            .args(["-o", "link", "show", "master", &self.0])
            .output()
            .expect("run ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

#[test]
fn bridge_interface_gives_the_container_its_own_eth0() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("net");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let bridge = Bridge::create(&format!("lxbr{}", std::process::id() % 100_000));
    let host_end = format!("lxv{}", std::process::id() % 100_000);
    let rootfs = RootFs::new(LIST_LINKS);
    let interface = format!(
        "    <interface type='bridge'>\n      <mac address='52:54:00:12:34:56'/>\n      \
         <source bridge='{}'/>\n      <target dev='{host_end}'/>\n    </interface>\n",
        bridge.0
    );
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, &interface)).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");

    let links = rootfs.wait_report("links");
    assert!(
        links.contains(": lo: <LOOPBACK,UP"),
        "lo is not up:\n{links}"
    );
    assert!(
        links.contains(": eth0@"),
        "no eth0 in the container:\n{links}"
    );
    assert!(
        links.contains("52:54:00:12:34:56"),
        "eth0 lacks the MAC:\n{links}"
    );
    assert_eq!(
        links.matches("link/").count(),
        2,
        "foreign links visible:\n{links}"
    );
    assert!(
        bridge.members().contains(&format!(": {host_end}@")),
        "host end not in the bridge: {}",
        bridge.members()
    );

    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
    assert!(
        !bridge.members().contains(&host_end),
        "host end left in the bridge: {}",
        bridge.members()
    );
}
