//! Read-only virsh commands over the read-write unix socket print exactly
//! what libvirt's own test driver prints, and virt-admin reaches the admin
//! server.

use integration_tests::compare::assert_virsh_matches_reference;
use integration_tests::{virsh, virt_admin, Daemon};

/// One fresh daemon per command, so a failure names the command.
fn same_as_reference(commands: &str) {
    let daemon = Daemon::start();
    assert_virsh_matches_reference(&daemon.rw_uri(), commands);
}

#[test]
fn version_matches_reference() {
    same_as_reference("version");
}

#[test]
fn version_daemon_reports_9_0_0() {
    let daemon = Daemon::start();
    let ours = assert_virsh_matches_reference(&daemon.rw_uri(), "version --daemon");
    assert!(
        ours.stdout
            .lines()
            .any(|l| l == "Running against daemon: 9.0.0"),
        "no daemon version line:\n{ours}"
    );
}

#[test]
fn uri_is_the_one_connected_to() {
    let daemon = Daemon::start();
    let ours = virsh(&daemon.rw_uri(), "uri").expect_success("virsh uri");
    assert_eq!(ours.stdout, format!("{}\n\n", daemon.rw_uri()));
}

#[test]
fn hostname_matches_reference() {
    same_as_reference("hostname");
}

#[test]
fn nodeinfo_matches_reference() {
    same_as_reference("nodeinfo");
}

#[test]
fn capabilities_match_reference() {
    same_as_reference("capabilities");
}

#[test]
fn sysinfo_matches_reference() {
    same_as_reference("sysinfo");
}

#[test]
fn list_all_matches_reference() {
    same_as_reference("list --all");
}

#[test]
fn dominfo_matches_reference() {
    same_as_reference("dominfo test");
}

#[test]
fn dumpxml_matches_reference() {
    same_as_reference("dumpxml test");
}

#[test]
fn domstate_matches_reference() {
    same_as_reference("domstate test; domstate --reason test");
}

#[test]
fn missing_domain_error_matches_reference() {
    same_as_reference("dominfo no-such-domain");
}

#[test]
fn all_basic_commands_in_one_connection_match_reference() {
    same_as_reference(
        "version; hostname; nodeinfo; list --all; list --name; list --uuid; dominfo test; \
         domstate test; domid test; domuuid test; domname 1; dumpxml test; capabilities; sysinfo",
    );
}

#[test]
fn virt_admin_version_reports_daemon_9_0_0() {
    let daemon = Daemon::start();
    let out = virt_admin(&daemon.admin_uri(), "version").expect_success("virt-admin version");
    assert!(
        out.stdout
            .lines()
            .any(|l| l == "Running against daemon: 9.0.0"),
        "no daemon version line:\n{out}"
    );
}

#[test]
fn virt_admin_srv_list_names_both_servers() {
    let daemon = Daemon::start();
    let out = virt_admin(&daemon.admin_uri(), "srv-list").expect_success("virt-admin srv-list");
    // As printed by virt-admin against libvirtd 9.0 (capture virt-admin-srv-list).
    assert_eq!(
        out.stdout,
        " Id   Name\n----------------\n 0    libvirtd\n 1    admin\n\n"
    );
}
