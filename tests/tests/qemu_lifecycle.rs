//! Real guests under TCG through virsh: boot, ACPI shutdown, destroy, suspend/resume,
//! the fake reboot that never leaves the running state, and a start that QEMU refuses.

mod qemu_support;

use std::fs;
use std::time::{Duration, Instant};

use qemu_support::{expect_event, listen_events, QemuHost, BOOT_TIMEOUT};

#[test]
fn boot_acpi_shutdown_then_destroy() {
    let host = QemuHost::start();
    host.define_guest("g1");
    let mut events = listen_events(&host);

    host.virsh_ok("start g1");
    assert_eq!(host.domstate("g1"), "running (booted)");
    expect_event(&mut events, "g1", "Started Booted");
    host.wait_booted("g1", 1);
    let id = host.virsh_ok("domid g1");
    assert!(id.parse::<i32>().is_ok_and(|n| n > 0), "id {id}");

    host.virsh_ok("shutdown g1");
    host.wait_state("g1", "shut off (shutdown)");
    expect_event(&mut events, "g1", "Shutdown Finished");
    expect_event(&mut events, "g1", "Stopped Shutdown");
    assert!(
        host.guest_pids().is_empty(),
        "qemu still running after shutdown"
    );
    assert!(
        !host.root().join("run/libvirt/qemu/g1.xml").exists(),
        "status file left"
    );

    host.virsh_ok("start g1");
    let second_id = host.virsh_ok("domid g1");
    assert!(second_id.parse::<i32>().unwrap_or(0) > id.parse::<i32>().unwrap_or(0));
    host.virsh_ok("destroy g1");
    assert_eq!(host.domstate("g1"), "shut off (destroyed)");
    expect_event(&mut events, "g1", "Stopped Destroyed");
    assert!(
        host.guest_pids().is_empty(),
        "qemu still running after destroy"
    );
    let log = fs::read_to_string(host.root().join("var/log/libvirt/qemu/g1.log")).expect("log");
    assert!(log.contains("starting up libvirt version: 9.0.0"), "{log}");
    assert!(log.contains("-name \\\nguest=g1,debug-threads=on"), "{log}");
}

#[test]
fn suspend_resume_and_fake_reboot_stay_running() {
    let host = QemuHost::start();
    host.define_guest("g2");
    host.virsh_ok("start g2");
    host.wait_booted("g2", 1);
    let mut events = listen_events(&host);

    host.virsh_ok("suspend g2");
    assert_eq!(host.domstate("g2"), "paused (user)");
    expect_event(&mut events, "g2", "Suspended Paused");
    host.virsh_ok("resume g2");
    assert_eq!(host.domstate("g2"), "running (unpaused)");
    expect_event(&mut events, "g2", "Resumed Unpaused");

    let status = host.virsh_ok("qemu-monitor-command g2 '{\"execute\":\"query-status\"}'");
    assert!(status.contains("\"status\":\"running\""), "{status}");

    host.virsh_ok("reboot g2");
    let deadline = Instant::now() + BOOT_TIMEOUT;
    let mut polls = 0;
    while host.boot_count("g2") < 2 {
        let state = host.virsh_ok("domstate g2");
        assert_eq!(state, "running", "state left running during reboot");
        polls += 1;
        assert!(Instant::now() < deadline, "guest did not boot again");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(polls > 0);
    let rebooted = events.wait_for_line(Duration::from_secs(30), |l| {
        l.contains("event 'reboot' for domain 'g2'")
    });
    assert!(rebooted.is_some(), "no reboot event\n{}", events.finish());
    let text = events.finish();
    let after_resume = text.split("Resumed Unpaused").nth(1).unwrap_or("");
    for unwanted in ["Stopped", "Shutdown", "Suspended"] {
        assert!(
            !after_resume.contains(unwanted),
            "unexpected {unwanted} event:\n{text}"
        );
    }
    assert_eq!(host.domstate("g2"), "running (unpaused)");
    host.virsh_ok("destroy g2");
}

#[test]
fn qemu_failure_leaves_domain_failed_with_qemu_message() {
    let host = QemuHost::start();
    let xml = host.guest_xml("g3").replace(
        &format!(
            "<kernel>{}</kernel>",
            qemu_support::tiny_guest().0.display()
        ),
        "<kernel>/nonexistent/vmlinuz</kernel>",
    );
    let file = host.root().join("g3.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    let out = host.virsh("start g3");
    assert!(!out.success());
    assert!(
        out.stderr.contains("/nonexistent/vmlinuz"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("process exited while connecting to monitor"),
        "{}",
        out.stderr
    );
    assert_eq!(host.domstate("g3"), "shut off (failed)");
    assert!(host.guest_pids().is_empty());
}

#[test]
fn vnc_autoport_appears_in_live_xml_only() {
    let host = QemuHost::start();
    let xml = host
        .guest_xml("v1")
        .replace("<devices>", "<devices>\n    <graphics type='vnc'/>");
    let file = host.root().join("v1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start v1");
    let live = host.virsh_ok("dumpxml v1");
    let port = live
        .split("<graphics type='vnc' port='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(0);
    assert!(port >= 5900, "{live}");
    assert!(live.contains("<domain type='qemu' id='"), "{live}");
    let inactive = host.virsh_ok("dumpxml --inactive v1");
    assert!(
        inactive.contains("<graphics type='vnc' port='-1' autoport='yes'>"),
        "{inactive}"
    );
    assert!(inactive.starts_with("<domain type='qemu'>"), "{inactive}");
    host.virsh_ok("destroy v1");
}
