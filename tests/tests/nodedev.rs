//! The node device driver against the real libvirtd 9.0 on this host: the
//! device lists and every PCI, disk and loopback device's XML read the same;
//! python3-libvirt's lookups, parents and capabilities; changes to the host
//! refused; `virtnodedevd` serving `nodedev:///system` alone.

mod activation_support;
mod qemu_reference;

use std::os::unix::net::UnixStream;

use activation_support::process::Launch;
use activation_support::{Root, START_TIMEOUT};
use integration_tests::{libvirtd_bin, python, virsh, wait_until, CmdOutput, Daemon};
use qemu_reference::ReferenceDaemon;
use serde_json::Value;

fn qemu_uri(daemon: &Daemon) -> String {
    format!("qemu:///system?socket={}", daemon.rw_socket().display())
}

/// `virsh commands` on both daemons; interfaces come and go on a busy host,
/// so a difference counts only when the reference answered the same before
/// and after ours.
fn assert_same_virsh(reference: &ReferenceDaemon, ours: &str, commands: &str) -> String {
    let mut last = String::new();
    for _ in 0..5 {
        let before = reference.virsh_ok(commands);
        let out: CmdOutput = virsh(ours, commands).expect_success(commands);
        let after = reference.virsh_ok(commands);
        if before != after {
            last = format!("the host changed during the comparison:\n{before}\n---\n{after}");
            continue;
        }
        assert_eq!(
            out.stdout.trim(),
            before,
            "virsh {commands}: ours (left) differs from libvirtd 9.0 (right)"
        );
        return before;
    }
    panic!("virsh {commands}: no stable reference answer: {last}");
}

#[test]
fn device_lists_and_xml_match_libvirtd_9() {
    let reference = ReferenceDaemon::start("");
    let daemon = Daemon::start();
    let ours = qemu_uri(&daemon);
    let net = assert_same_virsh(&reference, &ours, "nodedev-list --cap net");
    assert!(net.contains("net_lo_00_00_00_00_00_00"), "{net}");
    let listed = assert_same_virsh(&reference, &ours, "nodedev-list --cap system,pci,storage");
    assert!(
        listed.contains("computer") && listed.contains("pci_"),
        "{listed}"
    );
    for name in listed.lines().chain(["net_lo_00_00_00_00_00_00"]) {
        let xml = assert_same_virsh(&reference, &ours, &format!("nodedev-dumpxml {name}"));
        assert!(xml.contains(&format!("<name>{name}</name>")), "{xml}");
        assert_same_virsh(&reference, &ours, &format!("nodedev-info {name}"));
    }
    // A physical interface, when the host has one, with its parent and features.
    if let Some(nic) = net
        .lines()
        .find(|n| n.starts_with("net_eth") || n.starts_with("net_en"))
    {
        assert_same_virsh(&reference, &ours, &format!("nodedev-dumpxml {nic}"));
    }
    let out = virsh(&ours, "nodedev-dumpxml pci_9999_99_99_9");
    assert!(
        !out.success()
            && out.stderr.contains(
                "Node device not found: no node device with matching name 'pci_9999_99_99_9'"
            ),
        "{out}"
    );
}

#[test]
fn python_reads_devices_and_changes_are_refused() {
    let daemon = Daemon::start();
    let out = python("nodedev.py", &[&qemu_uri(&daemon)]).expect_success("nodedev.py");
    let seen: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(seen["net"], seen["old_net"], "{seen}");
    assert_eq!(
        seen["num_net"],
        seen["net"].as_array().map(Vec::len).unwrap_or(0)
    );
    assert_eq!(
        seen["num_all"],
        seen["all"].as_array().map(Vec::len).unwrap_or(0)
    );
    assert!(seen["all"]
        .as_array()
        .is_some_and(|a| a.iter().any(|n| n == "computer")));
    assert_eq!(seen["lo"]["parent"], "computer", "{seen}");
    assert_eq!(seen["lo"]["caps"], serde_json::json!(["net"]));
    assert_eq!(seen["lo"]["num_caps"], 1);
    assert_eq!(seen["lo"]["active"], 1);
    assert_eq!(seen["lo"]["persistent"], 0);
    assert_eq!(seen["missing"]["code"], 53, "{seen}");
    assert_eq!(seen["missing"]["domain"], 22, "{seen}");
    for call in ["detach", "reset", "create"] {
        assert_eq!(seen[call]["code"], 84, "{call}: {seen}");
        assert!(
            seen[call]["message"]
                .as_str()
                .is_some_and(|m| m.contains("node device driver is read-only")),
            "{call}: {seen}"
        );
    }
    let test = format!(
        "test+unix:///default?socket={}",
        daemon.rw_socket().display()
    );
    let out = virsh(&test, "nodedev-list");
    assert!(
        !out.success()
            && out.stderr.contains(
                "this function is not supported by the connection driver: virNodeNumOfDevices"
            ),
        "{out}"
    );
}

#[test]
fn virtnodedevd_serves_only_node_devices() {
    let root = Root::new();
    root.write_conf("virtnodedevd", &[], true);
    let bin = libvirtd_bin();
    let mut daemon = Launch {
        program: &bin,
        arg0: "virtnodedevd",
        args: Vec::new(),
        fds: Vec::new(),
        fdnames: None,
        env: root.env(),
        stdout: &root.stdout_file(),
        stderr: &root.stderr_file(),
    }
    .spawn();
    let rw = root.run_file("virtnodedevd-sock");
    let ready = wait_until(START_TIMEOUT, || {
        UnixStream::connect(&rw).is_ok() || daemon.try_wait().is_some()
    });
    assert!(
        ready && daemon.try_wait().is_none(),
        "{}",
        root.diagnostics()
    );
    let socket = rw.display();
    let out = virsh(
        &format!("nodedev:///system?socket={socket}"),
        "uri; nodedev-list --cap system",
    )
    .expect_success("nodedev:///system on virtnodedevd");
    assert!(
        out.stdout.starts_with("nodedev:///system") && out.stdout.contains("computer"),
        "{out}"
    );
    let out = virsh(&format!("secret:///system?socket={socket}"), "uri");
    assert!(
        !out.success()
            && out
                .stderr
                .contains("no connection driver available for secret:///system"),
        "{out}"
    );
    daemon.signal(libc::SIGTERM);
    let status = daemon
        .wait_timeout(START_TIMEOUT)
        .expect("exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", root.diagnostics());
}
