//! Containers outlive the daemon: after SIGKILL a new daemon on the same root finds the
//! container running, runs the reconnect hook and can destroy it. Also checks the lxc
//! hook sequence of a start and a destroy.

mod lxc_common;

use std::fs;

use integration_tests::{virsh, wait_until, Daemon};
use lxc_common::*;

/// Appends every call's arguments to `<root>/hook.log`.
const HOOK: &str =
    "#!/bin/sh\nroot=\"${0%/etc/libvirt/hooks/*}\"\necho \"$1 $2 $3 $4\" >> \"$root/hook.log\"\n";

#[test]
fn container_survives_daemon_sigkill_and_is_found_again() {
    require_container_host();
    let mut daemon = Daemon::builder()
        .file("etc/libvirt/hooks/lxc", HOOK, 0o755)
        .start();
    let root = daemon.root().to_path_buf();
    let uri = lxc_uri(&root);
    let name = container_name("recon");
    let _cleanup = ContainerCleanup::new(&root, &name);
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");
    rootfs.wait_report("ps");
    let status_file = root.join(format!("run/libvirt/lxc/{name}.xml"));
    let (init_pid, _) = status_pids(&status_file).expect("status pids");

    daemon.signal(libc::SIGKILL);
    daemon.wait_exit(CONTAINER_TIMEOUT);
    assert!(
        process_exists(init_pid),
        "the container died with the daemon"
    );

    let _second = SecondDaemon::start(&root);
    let state = virsh(&uri, &format!("domstate {name} --reason")).expect_success("domstate");
    assert_eq!(state.stdout.trim(), "running (booted)");
    let live = virsh(&uri, &format!("dumpxml {name}")).expect_success("dumpxml");
    assert!(
        live.stdout.contains("<console type='pty' tty='/dev/pts/"),
        "{live}"
    );
    assert_eq!(
        live.stdout.matches("<alias name='console0'/>").count(),
        1,
        "{live}"
    );
    let inactive = virsh(&uri, &format!("dumpxml --inactive {name}")).expect_success("dumpxml");
    assert!(!inactive.stdout.contains("tty="), "{inactive}");
    let id = virsh(&uri, &format!("domid {name}")).expect_success("domid");
    assert_eq!(id.stdout.trim(), init_pid.to_string());
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy after reconnect");
    let state = virsh(&uri, &format!("domstate {name} --reason")).expect_success("domstate");
    assert_eq!(state.stdout.trim(), "shut off (destroyed)");
    assert!(!process_exists(init_pid), "init survived destroy");

    let log = fs::read_to_string(root.join("hook.log")).expect("hook log");
    let calls: Vec<&str> = log.lines().collect();
    let expected: Vec<String> = [
        "prepare begin -",
        "start begin -",
        "started begin -",
        "reconnect begin -",
        "stopped end -",
        "release end -",
    ]
    .iter()
    .map(|call| format!("{name} {call}"))
    .collect();
    assert_eq!(calls, expected, "hook calls:\n{log}");
}

#[test]
fn a_container_that_died_while_the_daemon_was_away_is_shut_off() {
    require_container_host();
    let mut daemon = Daemon::start();
    let root = daemon.root().to_path_buf();
    let uri = lxc_uri(&root);
    let name = container_name("gone");
    let _cleanup = ContainerCleanup::new(&root, &name);
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");
    rootfs.wait_report("ps");
    let status_file = root.join(format!("run/libvirt/lxc/{name}.xml"));
    let (init_pid, supervisor_pid) = status_pids(&status_file).expect("status pids");
    daemon.signal(libc::SIGKILL);
    daemon.wait_exit(CONTAINER_TIMEOUT);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(init_pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(
        wait_until(CONTAINER_TIMEOUT, || !process_exists(supervisor_pid)),
        "the supervisor did not exit after its container died"
    );
    let _second = SecondDaemon::start(&root);
    let state = virsh(&uri, &format!("domstate {name}")).expect_success("domstate");
    assert_eq!(state.stdout.trim(), "shut off");
    assert!(!status_file.exists(), "stale status file kept");
}
