//! The host interface driver against the real libvirtd 9.0, both run in a
//! network namespace the test fills with a veth pair, a bridge with ports
//! (one named like a guest's tap), a macvlan, a TUN device, a device whose
//! name looks like a VLAN's, and a VLAN and a bond when the kernel has them:
//! `virsh iface-*` and python3-libvirt's interface calls answer byte for byte
//! the same. Then `virtinterfaced` started by socket activation, reached
//! directly, through virtproxyd and through virtqemud's hypervisor connection.

mod network_support;
mod qemu_reference;

use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use integration_tests::tools::require_tool;
use integration_tests::{libvirtd_bin, python, virsh, wait_until, CmdOutput, Daemon};
use network_support::NetHost;
use qemu_reference::ReferenceDaemon;
use serde_json::Value;

const MAC_A: &str = "52:54:00:aa:00:01";

/// Adds a link of a kind the kernel may lack (`vlan`, `bond`): false when it
/// has no such device type.
fn optional_link(host: &NetHost, args: &[&str], kind: &str) -> bool {
    let out = host.ns(args);
    if !out.success() && out.stderr.contains("Unknown device type") {
        eprintln!("the kernel has no {kind} devices: no {kind} interface compared");
        return false;
    }
    assert!(out.success(), "{args:?}: {out}");
    true
}

/// Fills the namespace; returns the interfaces whose XML is compared.
fn build_links(host: &NetHost) -> Vec<&'static str> {
    let ip = |args: &str| {
        let args: Vec<&str> = args.split(' ').collect();
        host.ns_ok(&args);
    };
    ip("ip link add vethA type veth peer name vethB");
    ip(&format!("ip link set vethA address {MAC_A}"));
    ip("ip link add br0 type bridge");
    ip("ip link set vethB master br0");
    ip("ip link add vnet7 type veth peer name vnet7p");
    ip("ip link set vnet7 master br0");
    ip("ip link add mv0 link vethA type macvlan");
    ip("ip link add vethC.10 type veth peer name vethD");
    ip("ip tuntap add tap0 mode tap");
    ip("ip addr add 192.0.2.1/24 dev br0");
    let mut names = vec![
        "lo", "vethA", "vethB", "br0", "vnet7", "mv0", "vethC.10", "vethD", "tap0", "nosuch0",
    ];
    let vlan_args = "ip link add link vethA name vethA.20 type vlan id 20";
    if optional_link(
        host,
        &vlan_args.split(' ').collect::<Vec<_>>(),
        "802.1Q VLAN",
    ) {
        names.push("vethA.20");
        ip("ip link set vethA.20 up");
    }
    let bond_args = "ip link add bond0 type bond mode active-backup miimon 100";
    if optional_link(host, &bond_args.split(' ').collect::<Vec<_>>(), "bonding") {
        ip("ip link add slave1 type veth peer name slave1p");
        ip("ip link set slave1 master bond0");
        names.push("bond0");
    }
    for up in ["vethA", "vethB", "br0", "vnet7", "mv0", "vethC.10"] {
        ip(&format!("ip link set {up} up"));
    }
    // Links settle asynchronously: wait for the states compared below.
    let settled = wait_until(Duration::from_secs(30), || {
        [
            ("vethA", "up"),
            ("br0", "up"),
            ("mv0", "up"),
            ("vethC.10", "lowerlayerdown"),
        ]
        .iter()
        .all(|(name, state)| {
            host.ns(&["cat", &format!("/sys/class/net/{name}/operstate")])
                .stdout
                .trim()
                == *state
        })
    });
    assert!(settled, "{}", host.ns_ok(&["ip", "link"]));
    names
}

fn both(out: &CmdOutput) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.code(),
        out.stdout,
        out.stderr
    )
}

/// `virsh commands` on both daemons, compared whole (status, output and
/// errors); a difference counts only when the reference answered the same
/// before and after ours.
fn assert_same(reference_uri: &str, ours_uri: &str, commands: &str) -> CmdOutput {
    let mut last = String::new();
    for _ in 0..5 {
        let before = both(&virsh(reference_uri, commands));
        let ours = virsh(ours_uri, commands);
        let after = virsh(reference_uri, commands);
        if before != both(&after) {
            last = format!("{before}\n---\n{}", both(&after));
            continue;
        }
        assert_eq!(
            both(&ours),
            before,
            "virsh {commands}: ours (left) differs from libvirtd 9.0 (right)"
        );
        return ours;
    }
    panic!("virsh {commands}: no stable reference answer: {last}");
}

fn interface_uri(socket: &std::path::Path) -> String {
    format!("interface:///system?socket={}", socket.display())
}

#[test]
fn interfaces_match_libvirtd_9_in_a_namespace() {
    let mut host = NetHost::new();
    let names = build_links(&host);
    host.start_daemon();
    let reference = ReferenceDaemon::start_in_netns(host.netns());
    let run = host.root().join("run/libvirt");
    let ours = interface_uri(&run.join("libvirt-sock"));
    let theirs = interface_uri(&reference.socket());
    let ours_ro = interface_uri(&run.join("libvirt-sock-ro"));
    let theirs_ro = interface_uri(&reference.socket().with_file_name("libvirt-sock-ro"));

    let list = assert_same(&theirs, &ours, "iface-list --all");
    assert!(
        list.stdout.contains(" br0 ") && list.stdout.contains(MAC_A),
        "{list}"
    );
    assert!(
        !list.stdout.contains("vethB") && !list.stdout.contains("tap0"),
        "bridge ports and TAP devices are not listed: {list}"
    );
    assert_same(&theirs, &ours, "iface-list");
    assert_same(&theirs, &ours, "iface-list --inactive");
    assert_same(&theirs_ro, &ours_ro, "iface-list --all");
    let qemu_ours = format!(
        "qemu:///system?socket={}",
        run.join("libvirt-sock").display()
    );
    let qemu_theirs = format!("qemu:///system?socket={}", reference.socket().display());
    assert_same(&qemu_theirs, &qemu_ours, "iface-list --all");
    assert_same(&qemu_theirs, &qemu_ours, "iface-dumpxml br0");

    for name in &names {
        assert_same(&theirs, &ours, &format!("iface-dumpxml {name}"));
        assert_same(&theirs, &ours, &format!("iface-dumpxml --inactive {name}"));
        assert_same(&theirs, &ours, &format!("iface-mac {name}"));
    }
    let bridge = assert_same(&theirs_ro, &ours_ro, "iface-dumpxml br0");
    assert!(
        bridge
            .stdout
            .contains("<interface type='ethernet' name='vethB'>")
            && !bridge.stdout.contains("vnet7"),
        "{bridge}"
    );
    for mac in [
        MAC_A,
        "52:54:00:AA:00:01",
        "52:54:00:aa:00:0?",
        "'*'",
        "00:11:22:33:44:55",
    ] {
        assert_same(&theirs, &ours, &format!("iface-name {mac}"));
    }

    let xml = host.write(
        "eth9.xml",
        "<interface type='ethernet' name='eth9'><start mode='onboot'/>\
         <protocol family='ipv4'><dhcp/></protocol></interface>\n",
        0o644,
    );
    let define = format!("iface-define {}", xml.display());
    let refused = assert_same(&theirs, &ours, &define);
    assert!(
        refused
            .stderr
            .contains("not supported by the connection driver: virInterfaceDefineXML"),
        "{refused}"
    );
    assert_same(&theirs_ro, &ours_ro, &define);
    for change in [
        "iface-undefine vethA",
        "iface-start vethA",
        "iface-destroy vethA",
        "iface-begin",
        "iface-commit",
        "iface-rollback",
        "iface-bridge vethA br9",
        "iface-unbridge br0",
    ] {
        assert_same(&theirs, &ours, change);
        assert_same(&theirs_ro, &ours_ro, change);
    }

    // python3-libvirt: every call, errors with their codes and domains.
    let mut args = vec![];
    args.extend(names.iter().copied());
    let seen_by = |uri: &str| {
        let mut all = vec![uri];
        all.extend(args.iter().copied());
        let out = python("interfaces.py", &all).expect_success("interfaces.py");
        serde_json::from_str::<Value>(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"))
    };
    let theirs_seen = seen_by(&theirs_ro);
    let ours_seen = seen_by(&ours_ro);
    assert_eq!(
        ours_seen, theirs_seen,
        "python3-libvirt: ours (left) differs from libvirtd 9.0 (right)"
    );
    assert_eq!(ours_seen["vethA"]["mac"], MAC_A, "{ours_seen}");
    assert_eq!(ours_seen["vethA"]["active"]["ok"], 1, "{ours_seen}");
}

/// The host's own interfaces: a physical NIC (with the speed its driver
/// reports, unknown for virtio NICs) reads the same as from libvirtd 9.0.
#[test]
fn host_nic_matches_libvirtd_9() {
    let reference = ReferenceDaemon::start("");
    let daemon = Daemon::start();
    let ours = interface_uri(&daemon.rw_socket());
    let theirs = interface_uri(&reference.socket());
    let list = assert_same(&theirs, &ours, "iface-list --all");
    let names: Vec<&str> = list
        .stdout
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.contains(&"lo"), "{list}");
    if let Some(nic) = names
        .iter()
        .find(|n| n.starts_with("eth") || n.starts_with("en"))
    {
        let xml = assert_same(&theirs, &ours, &format!("iface-dumpxml {nic}"));
        assert!(xml.stdout.contains("<mac address="), "{xml}");
    }
}

/// Kills systemd-socket-activate (by then: virtinterfaced) on drop.
struct Activator(std::process::Child);

impl Drop for Activator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn virtinterfaced_by_socket_activation_alone_and_behind_other_daemons() {
    let tool = require_tool("systemd-socket-activate", "systemd");
    let mut host = NetHost::new();
    host.ns_ok(&[
        "ip", "link", "add", "vethA", "type", "veth", "peer", "name", "vethB",
    ]);
    host.ns_ok(&["ip", "link", "set", "vethA", "address", MAC_A]);
    // The program name picks the daemon: activate it through a link of that name.
    let bin = host.root().join("bin");
    std::fs::create_dir_all(&bin).expect("bin directory");
    let link = bin.join("virtinterfaced");
    std::os::unix::fs::symlink(libvirtd_bin(), &link).expect("link virtinterfaced");
    let run = host.root().join("run/libvirt");
    std::fs::create_dir_all(&run).expect("socket directory");
    let rw = run.join("virtinterfaced-sock");
    let ro = run.join("virtinterfaced-sock-ro");
    let child = Command::new(require_tool("ip", "iproute2"))
        .args(["netns", "exec", host.netns()])
        .arg(tool)
        .arg("-l")
        .arg(&rw)
        .arg("-l")
        .arg(&ro)
        .arg("--fdname=virtinterfaced.socket:virtinterfaced-ro.socket")
        .args(["-E", "LIBVIRTD_ROOT"])
        .arg(&link)
        .env("LIBVIRTD_ROOT", host.root())
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_FDNAMES")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(host.root().join("virtinterfaced.stdout")).expect("stdout"))
        .stderr(std::fs::File::create(host.root().join("virtinterfaced.stderr")).expect("stderr"))
        .spawn()
        .expect("spawn systemd-socket-activate");
    let _activator = Activator(child);
    assert!(
        wait_until(Duration::from_secs(30), || rw.exists() && ro.exists()),
        "systemd-socket-activate did not create the sockets\n{}",
        host.diagnostics()
    );
    let stderr = || std::fs::read_to_string(host.root().join("virtinterfaced.stderr"));

    // python3-libvirt straight to the activated read-only socket.
    let out = python("interfaces.py", &[&interface_uri(&ro), "vethA"])
        .expect_success("interfaces.py on virtinterfaced");
    let seen: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    let all = seen["all"].as_array().cloned().unwrap_or_default();
    assert!(
        all.contains(&serde_json::json!(["vethA", MAC_A])) && all.iter().any(|i| i[0] == "lo"),
        "{seen}\n{:?}",
        stderr()
    );
    assert_eq!(seen["inactive"], seen["all"], "all links are down: {seen}");
    let xml = seen["vethA"]["xml"]["ok"].as_str().unwrap_or_default();
    assert!(
        xml.starts_with("<interface type='ethernet' name='vethA'>")
            && xml.contains(&format!("<mac address='{MAC_A}'/>")),
        "{seen}"
    );
    assert_eq!(seen["define"]["code"], 29, "read-only: {seen}");
    assert_eq!(
        seen["mac_pattern"]["ok"],
        serde_json::json!([["vethA", MAC_A]]),
        "a MAC address pattern finds the interface and its address: {seen}"
    );
    let out = virsh(&interface_uri(&rw), "uri; iface-mac vethA")
        .expect_success("iface-mac on virtinterfaced");
    assert!(
        out.stdout.starts_with("interface:///system") && out.stdout.contains(MAC_A),
        "{out}"
    );
    let out = virsh(&format!("network:///system?socket={}", rw.display()), "uri");
    assert!(
        !out.success()
            && out
                .stderr
                .contains("no connection driver available for network:///system"),
        "{out}"
    );

    // virtproxyd forwards interface:///system to it; virtqemud hands a
    // hypervisor connection's interface calls to it.
    host.start_modular_with("virtproxyd", &[], "libvirt-sock");
    let proxied = interface_uri(&run.join("libvirt-sock"));
    let out = virsh(&proxied, "iface-name 52:54:00:aa:00:01").expect_success("through virtproxyd");
    assert_eq!(out.stdout.trim(), "vethA", "{out}");
    host.start_modular("virtqemud");
    let qemu = format!(
        "qemu:///system?socket={}",
        run.join("virtqemud-sock").display()
    );
    let out = virsh(&qemu, "iface-list --all").expect_success("through virtqemud");
    assert!(
        out.stdout.contains("vethA") && out.stdout.contains(MAC_A),
        "{out}"
    );
    assert!(UnixStream::connect(&rw).is_ok());
}
