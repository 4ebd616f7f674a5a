//! lxc hook scripts that fail: a refusing `prepare` hook aborts the start and its
//! standard error reaches the client; a refusing `reconnect` hook, met by a daemon
//! restarted while a container runs, kills that container.

mod lxc_common;

use std::fs;
use std::path::Path;

use integration_tests::{virsh, wait_until, Daemon};
use lxc_common::*;

/// Records `$1 $2 $3 $4` in `<root>/hook.log`; fails with a message on stderr when
/// `$2` is the operation named in `<root>/refuse`.
const HOOK: &str = "#!/bin/sh\n\
    root=\"${0%/etc/libvirt/hooks/*}\"\n\
    echo \"$1 $2 $3 $4\" >> \"$root/hook.log\"\n\
    cat >/dev/null\n\
    if [ \"$2\" = \"$(cat \"$root/refuse\" 2>/dev/null)\" ]; then\n\
    echo \"container $1 may not $2 here\" >&2; exit 1; fi\n\
    exit 0\n";

fn hook_calls(root: &Path, name: &str) -> Vec<String> {
    fs::read_to_string(root.join("hook.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{name} ")))
        .map(str::to_string)
        .collect()
}

fn define(uri: &str, name: &str, rootfs: &RootFs) {
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(name, rootfs.path(), 64, "")).expect("write xml");
    virsh(uri, &format!("define {}", xml_path.display())).expect_success("define");
}

#[test]
fn refusing_prepare_hook_fails_the_start_with_its_message() {
    require_container_host();
    let daemon = Daemon::builder()
        .file("etc/libvirt/hooks/lxc", HOOK, 0o755)
        .start();
    let root = daemon.root().to_path_buf();
    let uri = lxc_uri(&root);
    let name = container_name("prep");
    let _cleanup = ContainerCleanup::new(&root, &name);
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    define(&uri, &name, &rootfs);
    fs::write(root.join("refuse"), "prepare").expect("refuse prepare");

    let out = virsh(&uri, &format!("start {name}"));
    assert!(!out.success(), "start succeeded: {out}");
    assert!(
        out.stderr.contains("Hook script execution failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "unexpected exit status 1: container {name} may not prepare here"
        )),
        "{}",
        out.stderr
    );
    let state = virsh(&uri, &format!("domstate {name}")).expect_success("domstate");
    assert_eq!(state.stdout.trim(), "shut off");
    assert!(
        !rootfs.path().join("out/pid").exists(),
        "the init of a refused container ran"
    );
    let calls = hook_calls(&root, &name);
    assert_eq!(calls.first().map(String::as_str), Some("prepare begin -"));
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("start ") || c.starts_with("started ")),
        "{calls:?}"
    );

    fs::remove_file(root.join("refuse")).expect("allow again");
    virsh(&uri, &format!("start {name}")).expect_success("start when allowed");
    rootfs.wait_report("ps");
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}

#[test]
fn refusing_reconnect_hook_kills_the_container() {
    require_container_host();
    let mut daemon = Daemon::builder()
        .file("etc/libvirt/hooks/lxc", HOOK, 0o755)
        .start();
    let root = daemon.root().to_path_buf();
    let uri = lxc_uri(&root);
    let name = container_name("reco");
    let _cleanup = ContainerCleanup::new(&root, &name);
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    define(&uri, &name, &rootfs);
    virsh(&uri, &format!("start {name}")).expect_success("start");
    rootfs.wait_report("ps");
    let status_file = root.join(format!("run/libvirt/lxc/{name}.xml"));
    let (init_pid, supervisor_pid) = status_pids(&status_file).expect("status pids");

    daemon.signal(libc::SIGKILL);
    daemon.wait_exit(CONTAINER_TIMEOUT);
    assert!(
        process_exists(init_pid),
        "the container died with the daemon"
    );
    fs::write(root.join("refuse"), "reconnect").expect("refuse reconnect");
    fs::remove_file(root.join("hook.log")).expect("forget earlier calls");

    let _second = SecondDaemon::start(&root);
    let gone = wait_until(CONTAINER_TIMEOUT, || {
        !process_exists(init_pid) && !process_exists(supervisor_pid)
    });
    assert!(gone, "the refused container still runs");
    let state = virsh(&uri, &format!("domstate {name} --reason")).expect_success("domstate");
    assert_eq!(state.stdout.trim(), "shut off (failed)");
    assert_eq!(
        hook_calls(&root, &name),
        vec!["reconnect begin -", "stopped end -", "release end -"]
    );
    assert!(
        !status_file.exists(),
        "the status file outlived the container"
    );

    fs::remove_file(root.join("refuse")).expect("allow again");
    fs::remove_file(rootfs.path().join("out/ps")).expect("forget the report");
    virsh(&uri, &format!("start {name}")).expect_success("start again");
    rootfs.wait_report("ps");
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}
