//! qemu hook scripts that fail where no test looked before: a refusing `start` hook
//! (the launched QEMU goes away, `stopped` and `release` still run), a refusing
//! `restore` hook seen through `virsh restore` and through the start from a managed
//! save image, and a refusing `reconnect` hook after a daemon restart, which kills
//! the guest it refuses.

mod qemu_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use integration_tests::wait_until;
use qemu_support::QemuHost;

/// A host whose qemu hook appends `$1 $2 $3 $4` to `<root>/calls`, then fails
/// with `refusal` on stderr when `$2` is `op` and `<root>/refuse` exists.
fn host_with_refusing_hook(op: &str, refusal: &str) -> QemuHost {
    let mut host = QemuHost::start();
    let root = host.root().to_path_buf();
    let script = root.join("etc/libvirt/hooks/qemu");
    fs::create_dir_all(script.parent().expect("hooks dir")).expect("mkdir hooks");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             echo \"$1 $2 $3 $4\" >> '{calls}'\n\
             cat >/dev/null\n\
             if [ \"$2\" = {op} ] && [ -e '{refuse}' ]; then echo '{refusal}' >&2; exit 1; fi\n\
             exit 0\n",
            calls = root.join("calls").display(),
            refuse = root.join("refuse").display(),
        ),
    )
    .expect("write hook");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod hook");
    host.kill_daemon();
    host.start_daemon();
    host
}

fn refuse(host: &QemuHost, on: bool) {
    let flag = host.root().join("refuse");
    if on {
        fs::write(flag, "").expect("refuse flag");
    } else {
        let _ = fs::remove_file(flag);
    }
}

/// The hook calls recorded for `name`, without the name.
fn calls(host: &QemuHost, name: &str) -> Vec<String> {
    fs::read_to_string(host.root().join("calls"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{name} ")))
        .map(str::to_string)
        .collect()
}

fn forget_calls(host: &QemuHost) {
    let _ = fs::remove_file(host.root().join("calls"));
}

fn assert_no_guest(host: &QemuHost, what: &str) {
    let gone = wait_until(Duration::from_secs(30), || host.guest_pids().is_empty());
    assert!(gone, "{what}: QEMU still runs\n{}", host.diagnostics());
}

fn assert_hook_error(stderr: &str, refusal: &str) {
    assert!(stderr.contains("Hook script execution failed"), "{stderr}");
    assert!(
        stderr.contains(&format!("unexpected exit status 1: {refusal}")),
        "{stderr}"
    );
}

#[test]
fn refusing_start_hook_fails_the_start() {
    let host = host_with_refusing_hook("start", "no storage lease for this guest");
    host.define_guest("s1");
    refuse(&host, true);
    let out = host.virsh("start s1");
    assert!(!out.success(), "start succeeded: {out}");
    assert_hook_error(&out.stderr, "no storage lease for this guest");
    assert_eq!(host.domstate("s1"), "shut off (failed)");
    assert_no_guest(&host, "after a refused start");
    let seen = calls(&host, "s1");
    assert_eq!(seen[..2], ["prepare begin -", "start begin -"], "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("release end -"));
    assert!(!seen.iter().any(|c| c.starts_with("started ")), "{seen:?}");

    refuse(&host, false);
    host.virsh_ok("start s1");
    assert_eq!(host.domstate("s1"), "running (booted)");
    host.virsh_ok("destroy s1");
}

#[test]
fn refusing_restore_hook_fails_virsh_restore_and_the_managed_start() {
    let host = host_with_refusing_hook("restore", "restores are frozen");
    host.define_guest("r1");
    host.virsh_ok("start r1");
    host.wait_booted("r1", 1);
    let image = host.root().join("r1.img");
    host.virsh_ok(&format!("save r1 {}", image.display()));
    refuse(&host, true);
    forget_calls(&host);

    let out = host.virsh(&format!("restore {}", image.display()));
    assert!(!out.success(), "restore succeeded: {out}");
    assert_hook_error(&out.stderr, "restores are frozen");
    assert_eq!(host.domstate("r1"), "shut off (saved)");
    assert_no_guest(&host, "after a refused restore");
    let seen = calls(&host, "r1");
    assert_eq!(seen.first().map(String::as_str), Some("restore begin -"));
    assert!(
        !seen.iter().any(|c| c.starts_with("start ")),
        "the guest was started: {seen:?}"
    );
    assert!(image.is_file(), "the image of a refused restore is kept");

    // Allowed again, the same image restores the guest where it was.
    refuse(&host, false);
    host.virsh_ok(&format!("restore {}", image.display()));
    assert_eq!(host.domstate("r1"), "running (restored)");
    assert_eq!(host.boot_count("r1"), 1);

    // The start from a managed save image asks the same hook.
    host.virsh_ok("managedsave r1");
    refuse(&host, true);
    let out = host.virsh("start r1");
    assert!(!out.success(), "start from the image succeeded: {out}");
    assert_hook_error(&out.stderr, "restores are frozen");
    assert_eq!(host.domstate("r1"), "shut off (saved)");
    assert!(
        host.root()
            .join("var/lib/libvirt/qemu/save/r1.save")
            .is_file(),
        "the managed save image of a refused start is kept"
    );
    assert_no_guest(&host, "after a refused managed start");
}

fn process_gone(pid: i32) -> bool {
    // A zombie counts as gone: its reaper may be slow.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn refusing_reconnect_hook_kills_the_guest() {
    let mut host = host_with_refusing_hook("reconnect", "this guest must not outlive the daemon");
    host.define_guest("c1");
    host.virsh_ok("start c1");
    host.wait_booted("c1", 1);
    let pids = host.guest_pids();
    assert_eq!(pids.len(), 1, "{pids:?}");

    host.kill_daemon();
    refuse(&host, true);
    forget_calls(&host);
    host.start_daemon();

    let gone = wait_until(Duration::from_secs(30), || process_gone(pids[0]));
    assert!(gone, "the refused guest still runs\n{}", host.diagnostics());
    assert_eq!(host.domstate("c1"), "shut off (daemon)");
    assert_eq!(
        calls(&host, "c1"),
        vec!["reconnect begin -", "stopped end -", "release end -"]
    );
    // Nothing of the old run is left behind: the guest starts again normally.
    refuse(&host, false);
    host.virsh_ok("start c1");
    assert_eq!(host.domstate("c1"), "running (booted)");
    host.virsh_ok("destroy c1");
}
