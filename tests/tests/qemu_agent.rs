//! The QEMU guest agent: a tiny guest running Debian's qemu-guest-agent answers
//! libvirt's agent calls (clock, filesystem freeze and information, guest
//! information, addresses, host name, vCPUs, shutdown and reboot), the daemon
//! reports the agent's channel state in the live XML and as agent lifecycle
//! events, and guests without an agent get libvirt's errors.

mod qemu_support;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use integration_tests::tools::{require_python_libvirt, require_tool};
use integration_tests::{data_file, wait_until, EventListener};
use qemu_support::{QemuHost, BOOT_TIMEOUT, STATE_TIMEOUT};

fn virsh_err(host: &QemuHost, commands: &str) -> String {
    let out = host.virsh(commands);
    assert!(!out.success(), "virsh {commands} succeeded: {out}");
    out.stderr
}

/// A 16 MiB raw disk holding an ext4 filesystem (the guest mounts it at /mnt/vda).
fn ext4_disk(path: &Path) {
    let mkfs = require_tool("mkfs.ext4", "e2fsprogs");
    let file = fs::File::create(path).expect("create disk image");
    file.set_len(16 << 20).expect("size disk image");
    let made = Command::new(mkfs)
        .args(["-q", "-F"])
        .arg(path)
        .status()
        .expect("run mkfs.ext4");
    assert!(made.success(), "mkfs.ext4 failed");
}

/// The guest's clock in seconds, as `virsh domtime` prints it.
fn guest_time(host: &QemuHost, name: &str) -> i64 {
    let out = host.virsh_ok(&format!("domtime {name}"));
    out.trim()
        .strip_prefix("Time:")
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected domtime output: {out}"))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Runs a program in the guest through the agent and tells whether it exited 0.
fn guest_exec_succeeds(host: &QemuHost, name: &str, path: &str, args: &[&str]) -> bool {
    let request = serde_json::json!({
        "execute": "guest-exec",
        "arguments": {"path": path, "arg": args},
    });
    let started = host.virsh_ok(&format!("qemu-agent-command {name} '{request}'"));
    let reply: serde_json::Value = serde_json::from_str(&started).expect("guest-exec reply");
    let pid = reply["return"]["pid"].as_i64().expect("guest-exec pid");
    let status = serde_json::json!({"execute": "guest-exec-status", "arguments": {"pid": pid}});
    let mut exit = None;
    let done = wait_until(STATE_TIMEOUT, || {
        let out = host.virsh_ok(&format!("qemu-agent-command {name} '{status}'"));
        let reply: serde_json::Value = serde_json::from_str(&out).expect("status reply");
        exit = reply["return"]["exitcode"].as_i64();
        reply["return"]["exited"].as_bool() == Some(true)
    });
    assert!(done, "{path} did not finish in the guest");
    exit == Some(0)
}

fn serial(host: &QemuHost, name: &str) -> String {
    fs::read_to_string(host.serial_log(name)).unwrap_or_default()
}

#[test]
fn the_guest_agent_answers_libvirts_agent_calls() {
    let host = QemuHost::start();
    let name = "agentvm";
    let root = host.root().to_path_buf();
    let disk = root.join("data.img");
    ext4_disk(&disk);
    // no_timer_check: a reboot on a loaded host must not stop at the kernel's
    // IO-APIC timer check, which TCG can be too slow for.
    let xml = host
        .guest_xml(name)
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check")
        .replace(
            "<devices>",
            &format!(
                "<devices>\n    <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>\
             <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
                disk.display()
            ),
        );
    let file = root.join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.define_guest("plain");
    // A guest with the channel whose agent never starts.
    let silent = host
        .guest_xml("silent")
        .replace(
            "console=ttyS0 quiet",
            "console=ttyS0 quiet no_timer_check tiny_guest_no_agent",
        )
        .replace(
            "<devices>",
            "<devices>\n    <channel type='unix'>\
             <target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
        );
    let silent_file = root.join("silent.xml");
    fs::write(&silent_file, silent).expect("write guest xml");
    host.virsh_ok(&format!("define {}", silent_file.display()));

    // Agent lifecycle events through python3-libvirt.
    let mut command = Command::new(require_python_libvirt());
    command
        .arg(data_file("agent_lifecycle_events.py"))
        .arg(host.uri());
    let mut events = EventListener::spawn_command(command);
    assert!(
        events
            .wait_for_line(STATE_TIMEOUT, |l| l == "registered")
            .is_some(),
        "{}",
        events.finish()
    );

    host.virsh_ok(&format!("start {name}"));
    host.virsh_ok("start plain");
    host.wait_booted(name, 1);
    let connected = format!("agent-lifecycle {name} state=1 reason=2");
    assert!(
        events
            .wait_for_line(BOOT_TIMEOUT, |l| l == connected)
            .is_some(),
        "no agent connected event\n{}",
        events.finish()
    );
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live.contains("name='org.qemu.guest_agent.0' state='connected'"),
        "{live}"
    );

    // The raw command channel.
    let ping = host.virsh_ok(&format!(
        "qemu-agent-command {name} '{{\"execute\":\"guest-ping\"}}'"
    ));
    assert_eq!(ping, "{\"return\":{}}");

    // Clock: moved back in the guest alone (its RTC keeps the host's time), read,
    // synchronised from the RTC, then set.
    host.virsh_ok(&format!(
        "qemu-agent-command {name} '{{\"execute\":\"guest-exec\",\"arguments\":\
         {{\"path\":\"/bin/date\",\"arg\":[\"-u\",\"-s\",\"2000-01-01 00:00:00\"]}}}}'"
    ));
    assert!(
        wait_until(STATE_TIMEOUT, || guest_time(&host, name)
            < 946_684_800 + 600),
        "the guest clock did not go back: {}",
        guest_time(&host, name)
    );
    host.virsh_ok(&format!("domtime {name} --sync"));
    let synced = guest_time(&host, name);
    assert!(
        (synced - now()).abs() < 120,
        "synced to {synced}, host {}",
        now()
    );
    host.virsh_ok(&format!("domtime {name} --time 1900000000"));
    let set = guest_time(&host, name);
    assert!((1_900_000_000..1_900_000_600).contains(&set), "{set}");

    // Filesystems: the ext4 disk the guest mounted.
    let info = host.virsh_ok(&format!("domfsinfo {name}"));
    let row = info
        .lines()
        .find(|l| l.contains("/mnt/vda"))
        .unwrap_or_else(|| panic!("{info}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols, ["/mnt/vda", "vda", "ext4", "vda"], "{info}");
    let status = |host: &QemuHost| {
        host.virsh_ok(&format!(
            "qemu-agent-command {name} '{{\"execute\":\"guest-fsfreeze-status\"}}'"
        ))
    };
    let hook_lines = |host: &QemuHost, what: &str| {
        serial(host, name)
            .matches(&format!("TINY-GUEST-FSFREEZE {what}"))
            .count()
    };
    let out = host.virsh_ok(&format!("domfsfreeze {name}"));
    assert!(out.contains("Froze 1 filesystem(s)"), "{out}");
    assert_eq!(status(&host), "{\"return\":\"frozen\"}");
    assert!(wait_until(STATE_TIMEOUT, || hook_lines(&host, "freeze") == 1));
    let err = virsh_err(&host, &format!("domfsthaw {name} --mountpoint /mnt/vda"));
    assert!(
        err.contains("specifying mountpoints is not supported"),
        "{err}"
    );
    let out = host.virsh_ok(&format!("domfsthaw {name}"));
    assert!(out.contains("Thawed 1 filesystem(s)"), "{out}");
    assert_eq!(status(&host), "{\"return\":\"thawed\"}");
    let out = host.virsh_ok(&format!("domfsfreeze {name} --mountpoint /mnt/vda"));
    assert!(out.contains("Froze 1 filesystem(s)"), "{out}");
    host.virsh_ok(&format!("domfsthaw {name}"));

    // A quiesced disk-only snapshot freezes and thaws the guest around it.
    let err = virsh_err(&host, &format!("snapshot-create-as {name} q0 --quiesce"));
    assert!(err.contains("quiesce requires disk-only"), "{err}");
    let (froze, thawed) = (hook_lines(&host, "freeze"), hook_lines(&host, "thaw"));
    let out = host.virsh_ok(&format!(
        "snapshot-create-as {name} q1 --disk-only --quiesce --no-metadata"
    ));
    assert!(out.contains("q1"), "{out}");
    assert!(
        wait_until(STATE_TIMEOUT, || hook_lines(&host, "freeze") == froze + 1
            && hook_lines(&host, "thaw") == thawed + 1),
        "no freeze and thaw around the snapshot:\n{}",
        serial(&host, name)
    );
    assert_eq!(status(&host), "{\"return\":\"thawed\"}");
    assert!(root.join("data.q1").exists(), "no overlay");
    let err = virsh_err(&host, "snapshot-create-as plain q2 --disk-only --quiesce");
    assert!(err.contains("QEMU guest agent is not configured"), "{err}");

    // Guest information, addresses, host name, vCPUs.
    let info = host.virsh_ok(&format!("guestinfo {name}"));
    for (key, value) in [
        ("hostname", "tiny-guest"),
        ("os.id", "tinyguest"),
        ("os.pretty-name", "Tiny Guest 5"),
        ("timezone.offset", "0"),
        ("fs.count", "1"),
        ("fs.0.mountpoint", "/mnt/vda"),
        ("fs.0.fstype", "ext4"),
        ("fs.0.disk.0.alias", "vda"),
        ("user.count", "0"),
    ] {
        assert!(
            info.lines()
                .any(|l| l.split(':').next().map(str::trim) == Some(key)
                    && l.split_once(':').map(|(_, v)| v.trim()) == Some(value)),
            "{key}: {value} missing:\n{info}"
        );
    }
    let only = host.virsh_ok(&format!("guestinfo {name} --hostname"));
    assert_eq!(
        only.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{only}"
    );
    let addrs = host.virsh_ok(&format!("domifaddr {name} --source agent"));
    assert!(
        addrs
            .lines()
            .any(|l| l.contains("lo") && l.contains("127.0.0.1/8")),
        "{addrs}"
    );
    assert_eq!(
        host.virsh_ok(&format!("domhostname {name} --source agent")),
        "tiny-guest"
    );
    let vcpus = host.virsh_ok(&format!("guestvcpus {name}"));
    assert!(
        vcpus
            .lines()
            .any(|l| l.starts_with("vcpus") && l.ends_with(": 0")),
        "{vcpus}"
    );
    host.virsh_ok(&format!("set-user-password {name} root s3cret"));
    assert!(
        guest_exec_succeeds(
            &host,
            name,
            "/bin/grep",
            &["-q", "^root:[$]6[$]", "/etc/shadow"]
        ),
        "root's password was not set in the guest"
    );
    host.virsh_ok(&format!("guest-agent-timeout {name} --timeout 30"));
    let err = virsh_err(&host, &format!("guest-agent-timeout {name} --timeout -5"));
    assert!(
        err.contains("guest agent timeout '-5' is less than the minimum '-2'"),
        "{err}"
    );

    // Guests without an agent: none configured, or one that never connects.
    let err = virsh_err(&host, "domtime plain");
    assert!(err.contains("QEMU guest agent is not configured"), "{err}");
    let err = virsh_err(&host, "domfsfreeze plain");
    assert!(err.contains("QEMU guest agent is not configured"), "{err}");
    host.virsh_ok("start silent");
    host.wait_booted("silent", 1);
    for command in [
        "domtime silent",
        "guestinfo silent",
        "qemu-agent-command silent '{\"execute\":\"guest-ping\"}'",
    ] {
        let err = virsh_err(&host, command);
        assert!(
            err.contains("Guest agent is not responding: QEMU guest agent is not connected"),
            "{command}: {err}"
        );
    }
    let live = host.virsh_ok("dumpxml silent");
    assert!(
        live.contains("name='org.qemu.guest_agent.0' state='disconnected'"),
        "{live}"
    );
    host.virsh_ok("destroy silent");
    host.virsh_ok("destroy plain");

    // Shutdown through the agent, then a reboot through it: the guest resets itself
    // (QEMU closes the agent's port) and the domain stays running.
    host.virsh_ok(&format!("shutdown {name} --mode agent"));
    host.wait_state(name, "shut off (shutdown)");
    assert!(serial(&host, name).contains("TINY-GUEST-AGENT-poweroff"));
    let err = virsh_err(&host, &format!("domtime {name}"));
    assert!(err.contains("domain is not running"), "{err}");
    let inactive = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(!inactive.contains("state='connected'"), "{inactive}");

    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 2);
    assert!(
        events
            .wait_for_line(BOOT_TIMEOUT, |l| l == connected)
            .is_some(),
        "no agent connected event after the restart\n{}",
        events.finish()
    );
    host.virsh_ok(&format!("reboot {name} --mode agent"));
    let disconnected = format!("agent-lifecycle {name} state=2 reason=2");
    assert!(
        events
            .wait_for_line(BOOT_TIMEOUT, |l| l == disconnected)
            .is_some(),
        "no agent disconnected event at the reboot\n{}",
        events.finish()
    );
    assert!(serial(&host, name).contains("TINY-GUEST-AGENT-reboot"));
    assert_eq!(host.domstate(name), "running (booted)");
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live.contains("name='org.qemu.guest_agent.0' state='disconnected'"),
        "{live}"
    );
}
