//! More guest agent calls on the tiny guest running Debian's qemu-guest-agent:
//! `domfstrim` discards the unused blocks of the guest's ext4 disk (with
//! `discard='unmap'` the image file gives them back to the host), and `get-user-sshkeys` /
//! `set-user-sshkeys` read and change root's authorized_keys file in the guest,
//! and `dompmsuspend` puts the guest to sleep (ACPI S3, QEMU's SUSPEND event)
//! until `dompmwakeup`, with the pm-suspend / pm-wakeup events.

mod qemu_support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use integration_tests::tools::require_tool;
use integration_tests::{wait_until, EventListener};
use qemu_support::{QemuHost, BOOT_TIMEOUT, STATE_TIMEOUT};
use serde_json::{json, Value};

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

/// Defines and starts `name` with an agent channel and `disk` as vda, and
/// waits until its agent answers.
fn start_agent_guest(host: &QemuHost, name: &str, disk: &Path) {
    start_agent_guest_with(host, name, disk, "");
}

/// As [`start_agent_guest`], with `extra` (such as `<pm>`) in the definition.
fn start_agent_guest_with(host: &QemuHost, name: &str, disk: &Path, extra: &str) {
    let xml = host
        .guest_xml(name)
        .replace("</domain>", &format!("{extra}</domain>"));
    let xml = xml.replace(
        "<devices>",
        &format!(
            "<devices>\n    <disk type='file' device='disk'><driver name='qemu' type='raw' discard='unmap'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>\
             <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
            disk.display()
        ),
    );
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
    wait_agent(host, name);
}

fn wait_agent(host: &QemuHost, name: &str) {
    let ping = json!({"execute": "guest-ping"});
    assert!(
        wait_until(BOOT_TIMEOUT, || host
            .virsh(&format!("qemu-agent-command {name} '{ping}'"))
            .success()),
        "the guest agent of {name} never answered"
    );
}

/// Runs a program in the guest through the agent and tells whether it exited 0.
fn guest_exec_succeeds(host: &QemuHost, name: &str, path: &str, args: &[&str]) -> bool {
    let request = json!({
        "execute": "guest-exec",
        "arguments": {"path": path, "arg": args},
    });
    let started = host.virsh_ok(&format!("qemu-agent-command {name} '{request}'"));
    let reply: Value = serde_json::from_str(&started).expect("guest-exec reply");
    let pid = reply["return"]["pid"].as_i64().expect("guest-exec pid");
    let status = json!({"execute": "guest-exec-status", "arguments": {"pid": pid}});
    let mut exit = None;
    let done = wait_until(STATE_TIMEOUT, || {
        let out = host.virsh_ok(&format!("qemu-agent-command {name} '{status}'"));
        let reply: Value = serde_json::from_str(&out).expect("status reply");
        exit = reply["return"]["exitcode"].as_i64();
        reply["return"]["exited"].as_bool() == Some(true)
    });
    assert!(done, "{path} did not finish in the guest");
    exit == Some(0)
}

fn guest_sh(host: &QemuHost, name: &str, script: &str) -> bool {
    guest_exec_succeeds(host, name, "/bin/sh", &["-c", script])
}

/// Bytes the host file system holds for `image`.
fn allocated(image: &Path) -> u64 {
    fs::metadata(image).expect("stat disk image").blocks() * 512
}

#[test]
fn domfstrim_discards_the_guests_free_blocks() {
    let host = QemuHost::start();
    let name = "trimvm";
    let disk = host.root().join("data.img");
    ext4_disk(&disk);
    start_agent_guest(&host, name, &disk);

    // Blocks that were written and freed again: something to discard.
    assert!(guest_sh(
        &host,
        name,
        "dd if=/dev/zero of=/mnt/vda/junk bs=1024 count=4096 && sync && rm /mnt/vda/junk && sync"
    ));
    let before = allocated(&disk);
    assert!(
        before >= 4 << 20,
        "the written blocks are not allocated: {before}"
    );
    host.virsh_ok(&format!("domfstrim {name} --minimum 4096"));
    let after = allocated(&disk);
    assert!(
        after + (3 << 20) < before,
        "the freed blocks stayed allocated in the image: {before} -> {after}"
    );

    let err = virsh_err(&host, &format!("domfstrim {name} --mountpoint /mnt/vda"));
    assert!(
        err.contains("Specifying mount point is not supported for now"),
        "{err}"
    );
    host.virsh_ok(&format!("destroy {name}"));
    let err = virsh_err(&host, &format!("domfstrim {name}"));
    assert!(err.contains("domain is not running"), "{err}");
}

const KEY_A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKTQ1V9mjPZY31h55Jl6nl7VBxl6cQgag9 a@host";
const KEY_B: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDI2uDp51HMggnfz4Zn5ky4gb/XVdQiJR b@host";
const KEY_C: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC24o8thZsOoODoN12l7rMYVd0N9 c@host";

/// What `cat PATH` prints in the guest (run through the agent).
fn guest_file(host: &QemuHost, name: &str, path: &str) -> String {
    let request = json!({
        "execute": "guest-exec",
        "arguments": {"path": "/bin/cat", "arg": [path], "capture-output": true},
    });
    let started = host.virsh_ok(&format!("qemu-agent-command {name} '{request}'"));
    let reply: Value = serde_json::from_str(&started).expect("guest-exec reply");
    let pid = reply["return"]["pid"].as_i64().expect("guest-exec pid");
    let status = json!({"execute": "guest-exec-status", "arguments": {"pid": pid}});
    let mut done = Value::Null;
    assert!(
        wait_until(STATE_TIMEOUT, || {
            let out = host.virsh_ok(&format!("qemu-agent-command {name} '{status}'"));
            done = serde_json::from_str(&out).expect("status reply");
            done["return"]["exited"].as_bool() == Some(true)
        }),
        "cat {path} did not finish in the guest"
    );
    let data = done["return"]["out-data"].as_str().unwrap_or("");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64 output");
    String::from_utf8(bytes).expect("utf-8 output")
}

/// Root's authorized_keys in the guest, one key a line.
fn guest_keys(host: &QemuHost, name: &str) -> Vec<String> {
    guest_file(host, name, "/root/.ssh/authorized_keys")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn user_ssh_keys_are_read_and_changed_in_the_guest() {
    let host = QemuHost::start();
    let name = "sshvm";
    let disk = host.root().join("data.img");
    ext4_disk(&disk);
    start_agent_guest(&host, name, &disk);

    let info = host.virsh_ok(&format!(
        "qemu-agent-command {name} '{{\"execute\":\"guest-info\"}}'"
    ));
    let info: Value = serde_json::from_str(&info).expect("guest-info reply");
    let supported = info["return"]["supported_commands"]
        .as_array()
        .expect("supported_commands");
    for command in [
        "guest-ssh-get-authorized-keys",
        "guest-ssh-add-authorized-keys",
        "guest-ssh-remove-authorized-keys",
    ] {
        assert!(
            supported
                .iter()
                .any(|c| c["name"] == command && c["enabled"] == true),
            "the guest agent lacks {command}: {info}"
        );
    }
    // The tiny guest's root has no home directory yet.
    assert!(guest_sh(&host, name, "mkdir -p /root && chmod 700 /root"));

    let write_keys = |file: &str, keys: &[&str]| {
        let path = host.root().join(file);
        // virsh sends every line, so a final newline would add an empty key.
        let text = keys.join("\n");
        fs::write(&path, text).expect("write key file");
        path
    };
    let ab = write_keys("ab.pub", &[KEY_A, KEY_B]);
    let c = write_keys("c.pub", &[KEY_C]);
    let a = write_keys("a.pub", &[KEY_A]);

    host.virsh_ok(&format!(
        "set-user-sshkeys {name} root --reset --file {}",
        ab.display()
    ));
    assert_eq!(guest_keys(&host, name), [KEY_A, KEY_B]);
    assert!(guest_sh(
        &host,
        name,
        "test \"$(stat -c %a /root/.ssh/authorized_keys)\" = 600"
    ));

    host.virsh_ok(&format!(
        "set-user-sshkeys {name} root --file {}",
        c.display()
    ));
    assert_eq!(guest_keys(&host, name), [KEY_A, KEY_B, KEY_C]);

    host.virsh_ok(&format!(
        "set-user-sshkeys {name} root --remove --file {}",
        a.display()
    ));
    assert_eq!(guest_keys(&host, name), [KEY_B, KEY_C]);

    // The keys come back as the agent lists them (last line first); virsh 9.0
    // prints them without separators.
    let request = json!({
        "execute": "guest-ssh-get-authorized-keys",
        "arguments": {"username": "root"},
    });
    let reply = host.virsh_ok(&format!("qemu-agent-command {name} '{request}'"));
    let reply: Value = serde_json::from_str(&reply).expect("agent reply");
    let agent_keys: Vec<&str> = reply["return"]["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut sorted = agent_keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [KEY_B, KEY_C]);
    let listed = host.virsh_ok(&format!("get-user-sshkeys {name} root"));
    assert_eq!(listed.trim(), agent_keys.concat());

    // Replacing drops the keys not given.
    host.virsh_ok(&format!(
        "set-user-sshkeys {name} root --reset --file {}",
        a.display()
    ));
    assert_eq!(guest_keys(&host, name), [KEY_A]);

    // The agent's own refusal comes back as libvirt reports agent errors.
    let err = virsh_err(&host, &format!("get-user-sshkeys {name} nosuchuser"));
    assert!(err.contains("nosuchuser"), "{err}");
}

#[test]
fn dompmsuspend_puts_the_guest_to_sleep_until_dompmwakeup() {
    let host = QemuHost::start();
    let name = "pmvm";
    let disk = host.root().join("data.img");
    ext4_disk(&disk);
    let mut events = EventListener::spawn(&host.uri());
    start_agent_guest_with(
        &host,
        name,
        &disk,
        "<pm><suspend-to-mem enabled='yes'/><suspend-to-disk enabled='no'/></pm>",
    );

    // libvirt's refusals before the guest is asked.
    let err = virsh_err(&host, &format!("dompmsuspend {name} --target disk"));
    assert!(
        err.contains("S4 state is disabled for this domain"),
        "{err}"
    );
    let err = virsh_err(
        &host,
        &format!("dompmsuspend {name} --target mem --duration 5"),
    );
    assert!(
        err.contains("Duration not supported. Use 0 for now"),
        "{err}"
    );
    assert_eq!(host.domstate(name), "running (booted)");

    host.virsh_ok(&format!("dompmsuspend {name} --target mem"));
    assert!(
        wait_until(STATE_TIMEOUT, || host
            .domstate(name)
            .starts_with("pmsuspended")),
        "the guest did not suspend: {}",
        host.domstate(name)
    );
    let suspended = format!("event 'pm-suspend' for domain '{name}'");
    assert!(
        events
            .wait_for_line(STATE_TIMEOUT, |l| l.starts_with(&suspended))
            .is_some(),
        "{}",
        events.finish()
    );
    // A sleeping guest runs no agent.
    let err = virsh_err(&host, &format!("domtime {name}"));
    assert!(err.contains("domain is not running"), "{err}");

    host.virsh_ok(&format!("dompmwakeup {name}"));
    assert!(
        wait_until(STATE_TIMEOUT, || host.domstate(name)
            == "running (event wakeup)"),
        "the guest did not wake up: {}",
        host.domstate(name)
    );
    let woken = format!("event 'pm-wakeup' for domain '{name}'");
    assert!(
        events
            .wait_for_line(STATE_TIMEOUT, |l| l.starts_with(&woken))
            .is_some(),
        "{}",
        events.finish()
    );
    let lifecycle: Vec<&String> = events
        .seen
        .iter()
        .filter(|l| l.starts_with(&format!("event 'lifecycle' for domain '{name}'")))
        .collect();
    assert!(
        lifecycle.iter().any(|l| l.ends_with("PMSuspended Memory"))
            && lifecycle
                .iter()
                .any(|l| l.ends_with("Started Event wakeup")),
        "{lifecycle:?}"
    );
    // The guest runs on: its agent answers again.
    wait_agent(&host, name);
}
