//! The qemu hook script at the points of a guest's life, and a failing prepare hook
//! that aborts the start with the script's stderr in the client's error.

mod qemu_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use qemu_support::QemuHost;

#[test]
fn hook_points_and_refusing_prepare_hook() {
    let mut host = QemuHost::start();
    let calls = host.root().join("hook-calls");
    let script = host.root().join("etc/libvirt/hooks/qemu");
    fs::create_dir_all(script.parent().expect("hooks dir")).expect("mkdir hooks");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$1 $2 $3 $4\" >> {}\ncat >/dev/null\n\
             if [ \"$1\" = refused ] && [ \"$2\" = prepare ]; then echo 'not today' >&2; exit 1; fi\nexit 0\n",
            calls.display()
        ),
    )
    .expect("write hook");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod hook");
    host.kill_daemon();
    host.start_daemon();

    host.define_guest("h1");
    host.virsh_ok("start h1");
    host.virsh_ok("destroy h1");
    let seen = fs::read_to_string(&calls).expect("hook ran");
    let lines: Vec<&str> = seen.lines().filter(|l| l.starts_with("h1 ")).collect();
    assert_eq!(
        lines,
        vec![
            "h1 prepare begin -",
            "h1 start begin -",
            "h1 started begin -",
            "h1 stopped end -",
            "h1 release end -",
        ],
        "{seen}"
    );

    host.define_guest("refused");
    let out = host.virsh("start refused");
    assert!(!out.success());
    assert!(
        out.stderr.contains("Hook script execution failed"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("not today"), "{}", out.stderr);
    assert!(host.guest_pids().is_empty(), "a refused guest was started");
    assert!(host.domstate("refused").starts_with("shut off"));
}
