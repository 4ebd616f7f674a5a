//! A guest whose QEMU never answers holds a worker for one monitor timeout,
//! not for ever: the call fails with libvirt's "Timed out during operation",
//! the worker is free again, and once QEMU continues the monitor is in step
//! (the late reply to the abandoned command is not taken for the next one's).

mod qemu_support;

use std::time::Duration;

use integration_tests::tools::virt_admin;
use integration_tests::wait_until;
use qemu_support::QemuHost;

#[test]
fn an_unanswered_monitor_command_times_out_and_frees_its_worker() {
    let host = QemuHost::start();
    host.define_guest("mt");
    host.virsh_ok("start mt");
    host.wait_booted("mt", 1);
    let pids = host.guest_pids();
    assert_eq!(pids.len(), 1, "expected one QEMU process: {pids:?}");
    let pid = pids[0];

    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGSTOP,
    );
    let out = host.virsh(r#"qemu-monitor-command mt '{"execute":"query-name"}'"#);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGCONT,
    );
    assert!(!out.success(), "a stopped QEMU answered: {}", out.stdout);
    assert!(
        out.stderr.contains("Timed out during operation"),
        "unexpected error: {}",
        out.stderr
    );

    let admin_uri = format!(
        "libvirtd:///system?socket={}",
        host.root().join("run/libvirt/libvirt-admin-sock").display()
    );
    let freed = wait_until(Duration::from_secs(30), || {
        let info = virt_admin(&admin_uri, "srv-threadpool-info libvirtd").stdout;
        let field = |name: &str| {
            info.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split(':').nth(1))
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        field("nWorkers").is_some() && field("nWorkers") == field("freeWorkers")
    });
    assert!(freed, "the timed-out call kept its worker");

    // The next command gets its own answer, not the late one to query-name.
    let status = host.virsh_ok(r#"qemu-monitor-command mt '{"execute":"query-status"}'"#);
    assert!(status.contains(r#""status":"running""#), "{status}");
    assert_eq!(host.domstate("mt"), "running (booted)");
}
