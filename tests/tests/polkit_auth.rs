//! `polkit` authentication on the UNIX sockets, as libvirtd does it: root
//! is admitted by AUTH_LIST without asking anyone; any other user is checked
//! by a CheckAuthorization call to polkitd on the system bus
//! (`org.libvirt.unix.manage` on the rw socket, `org.libvirt.unix.monitor`
//! on the ro socket). The expected client-side texts, codes and domains were
//! recorded from libvirtd 9.0 against the same private bus and mock authority.

use std::path::Path;

use integration_tests::polkit::{
    as_nobody, nobody_home, open_path_for_others, virsh_as_nobody, PolkitBus, NOBODY,
};
use integration_tests::tools::{require_python_libvirt, CmdOutput};
use integration_tests::{data_file, virsh, Daemon, DaemonBuilder};

const MANAGE: &str = "org.libvirt.unix.manage";
const MONITOR: &str = "org.libvirt.unix.monitor";

/// A daemon with polkit on both sockets that talks to the bus at `address`.
fn polkit_daemon(address: &str) -> Daemon {
    let daemon = DaemonBuilder::new()
        .conf("auth_unix_rw = \"polkit\"")
        .conf("auth_unix_ro = \"polkit\"")
        .env("DBUS_SYSTEM_BUS_ADDRESS", address)
        .start();
    open_path_for_others(daemon.root(), &daemon.rw_socket());
    daemon
}

/// The python probe as `nobody`: (pid, start time, outcome line).
fn probe_as_nobody(home: &Path, uri: &str) -> (i64, i64, String) {
    let python = require_python_libvirt();
    let script = data_file("polkit_probe.py");
    let out = as_nobody(home, &python, &[script.to_str().expect("utf-8 path"), uri]);
    let mut lines = out.stdout.lines();
    let ids: Vec<i64> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(ids.len(), 2, "probe did not report itself:\n{out}");
    let outcome = lines.next().unwrap_or_default().to_string();
    (ids[0], ids[1], outcome)
}

fn assert_refused(out: &CmdOutput, message: &str) {
    assert!(!out.success(), "virsh should fail:\n{out}");
    let expected = format!("error: failed to connect to the hypervisor\nerror: {message}\n");
    assert!(
        out.stderr.contains(&expected),
        "expected libvirt's error {message:?}:\n{out}"
    );
}

#[test]
fn a_granted_user_gets_in_and_polkitd_sees_the_calling_process() {
    let bus = PolkitBus::start(&[MANAGE], &[]);
    let daemon = polkit_daemon(bus.address());
    let home = nobody_home(daemon.root());

    let listed = virsh_as_nobody(&home, &daemon.rw_uri(), "list --all");
    assert!(listed.success(), "{listed}");
    assert!(listed.stdout.contains(" Id   Name"), "{listed}");

    let (pid, start_time, outcome) = probe_as_nobody(&home, &daemon.rw_uri());
    assert_eq!(outcome, "OK");
    let requests = bus.requests();
    let last = requests.last().expect("the daemon asked polkitd");
    assert_eq!(last.subject_kind, "unix-process");
    assert_eq!(
        (last.pid, last.start_time, last.uid),
        (pid, start_time, NOBODY as i64)
    );
    assert_eq!(
        last.field_types,
        ("UInt32".into(), "UInt64".into(), "Int32".into()),
        "the subject's D-Bus types, as libvirtd sends them"
    );
    assert_eq!(last.action_id, MANAGE);
    assert!(last.details_empty);
    assert_eq!(last.flags, 1, "AllowUserInteraction, as libvirtd asks");
    assert_eq!(last.cancellation_id, "");
}

#[test]
fn a_denied_user_sees_libvirts_refusal() {
    let bus = PolkitBus::start(&[MONITOR], &[]);
    let daemon = polkit_daemon(bus.address());
    let home = nobody_home(daemon.root());

    let out = virsh_as_nobody(&home, &daemon.rw_uri(), "list --all");
    assert_refused(&out, "authentication failed: access denied by policy");
    let (_, _, outcome) = probe_as_nobody(&home, &daemon.rw_uri());
    assert_eq!(
        outcome,
        "ERR 45 60 authentication failed: access denied by policy"
    );
    assert!(bus.requests().iter().all(|r| r.action_id == MANAGE));

    // The read-only socket asks for the monitor action, which is granted.
    let ro = virsh_as_nobody(&home, &daemon.ro_uri(), "list --all");
    assert!(ro.success(), "{ro}");
    assert_eq!(
        bus.requests().last().map(|r| r.action_id.clone()),
        Some(MONITOR.to_string())
    );
}

#[test]
fn an_action_that_needs_an_agent_is_reported_as_unavailable() {
    let bus = PolkitBus::start(&[], &[MANAGE]);
    let daemon = polkit_daemon(bus.address());
    let home = nobody_home(daemon.root());
    let (_, _, outcome) = probe_as_nobody(&home, &daemon.rw_uri());
    assert_eq!(
        outcome,
        "ERR 94 60 authentication unavailable: no polkit agent available to \
         authenticate action 'org.libvirt.unix.manage'"
    );
}

#[test]
fn without_a_bus_non_root_users_get_libvirts_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let address = format!("unix:path={}/no_bus_here", dir.path().display());
    let daemon = polkit_daemon(&address);
    let home = nobody_home(daemon.root());
    let expected = "internal error: Unable to get system bus connection: \
                    Could not connect: No such file or directory";

    let out = virsh_as_nobody(&home, &daemon.rw_uri(), "list --all");
    assert_refused(&out, expected);
    let (_, _, outcome) = probe_as_nobody(&home, &daemon.ro_uri());
    assert_eq!(outcome, format!("ERR 1 47 {expected}"));

    // Root never needs the bus.
    virsh(&daemon.rw_uri(), "list --all").expect_success("virsh as root without a bus");
}

#[test]
fn a_bus_without_polkitd_is_a_service_error() {
    let bus = PolkitBus::start_without_authority();
    let daemon = polkit_daemon(bus.address());
    let home = nobody_home(daemon.root());
    let out = virsh_as_nobody(&home, &daemon.rw_uri(), "list --all");
    assert_refused(
        &out,
        "error from service: GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: \
         The name org.freedesktop.PolicyKit1 was not provided by any .service files",
    );
}

#[test]
fn root_is_admitted_without_asking_polkitd() {
    let bus = PolkitBus::start(&[], &[]);
    let daemon = polkit_daemon(bus.address());
    virsh(&daemon.rw_uri(), "list --all").expect_success("virsh as root, rw");
    virsh(&daemon.ro_uri(), "list --all").expect_success("virsh as root, ro");
    assert_eq!(bus.requests(), vec![], "root must not be checked");

    // A non-root user on the same daemon is checked, and refused.
    let home = nobody_home(daemon.root());
    let out = virsh_as_nobody(&home, &daemon.rw_uri(), "list --all");
    assert_refused(&out, "authentication failed: access denied by policy");
    assert!(!bus.requests().is_empty());
}
