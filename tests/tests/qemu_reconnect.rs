//! Guests outlive the daemon: a daemon killed with SIGKILL leaves them running, the next
//! one re-attaches (same id, working destroy), a QEMU killed behind the daemon's back
//! becomes "shut off (crashed)" with an event, and autostart runs once per host boot.

mod qemu_support;

use std::fs;

use qemu_support::{expect_event, listen_events, QemuHost};

#[test]
fn guest_survives_daemon_sigkill_and_crash_is_noticed() {
    let mut host = QemuHost::start();
    host.define_guest("r1");
    host.virsh_ok("start r1");
    host.wait_booted("r1", 1);
    let id = host.virsh_ok("domid r1");
    let pids = host.guest_pids();
    assert_eq!(pids.len(), 1);

    host.kill_daemon();
    assert_eq!(host.guest_pids(), pids, "guest died with the daemon");
    host.start_daemon();
    assert_eq!(host.domstate("r1"), "running (booted)");
    assert_eq!(host.virsh_ok("domid r1"), id);
    let status = host.virsh_ok("qemu-monitor-command --hmp r1 'info status'");
    assert!(status.contains("running"), "{status}");

    // A paused guest is found paused, for the reason it had.
    host.virsh_ok("suspend r1");
    host.kill_daemon();
    host.start_daemon();
    assert_eq!(host.domstate("r1"), "paused (user)");
    host.virsh_ok("resume r1");
    assert_eq!(host.domstate("r1"), "running (unpaused)");

    // A new start after the restart keeps counting ids up.
    host.virsh_ok("destroy r1");
    assert_eq!(host.domstate("r1"), "shut off (destroyed)");
    host.virsh_ok("start r1");
    let next_id = host.virsh_ok("domid r1");
    assert!(next_id.parse::<i32>().unwrap_or(0) > id.parse::<i32>().unwrap_or(0));

    let mut events = listen_events(&host);
    for pid in host.guest_pids() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    host.wait_state("r1", "shut off (crashed)");
    expect_event(&mut events, "r1", "Stopped Failed");
}

#[test]
fn autostart_runs_once_per_host_boot() {
    let mut host = QemuHost::start();
    host.define_guest("a1");
    host.virsh_ok("autostart a1");
    host.kill_daemon();
    // A new host boot empties the run directory, and with it the autostart marker.
    fs::remove_file(host.root().join("run/libvirt/qemu/autostarted")).expect("marker existed");
    host.start_daemon();
    host.wait_state("a1", "running (booted)");
    host.wait_booted("a1", 1);

    host.virsh_ok("destroy a1");
    host.kill_daemon();
    host.start_daemon();
    // The marker is still there: the restarted daemon does not start it again.
    assert_eq!(host.domstate("a1"), "shut off (unknown)");
}
