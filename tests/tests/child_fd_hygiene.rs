//! Descriptors the daemon inherits from whoever started it (a service manager's
//! sockets, a shell's open files) never reach the processes it starts: a QEMU guest,
//! a hook script, an LXC supervisor and the container's init here. The test opens a file without close-on-exec before it
//! starts the daemon, checks the daemon holds it, and looks for it in the children's
//! descriptor tables.

mod lxc_common;
mod qemu_support;

use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use integration_tests::{virsh, Daemon};
use lxc_common::{
    container_name, domain_xml, lxc_uri_of, require_container_host, status_pids, ContainerCleanup,
    RootFs,
};
use qemu_support::QemuHost;

/// Opens `path` without close-on-exec, so every process spawned after this (the
/// daemon included) inherits it.
fn open_inheritable(path: &Path) -> OwnedFd {
    nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_RDONLY,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// What the descriptors of process `pid` point at.
fn fd_targets(pid: i32) -> Vec<PathBuf> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| fs::read_link(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// An inheritable descriptor on a fresh file, and the file's path.
fn inherited_marker(dir: &Path) -> (OwnedFd, PathBuf) {
    let marker = dir.join("inherited-by-the-daemon");
    fs::write(&marker, "x").expect("write marker");
    (open_inheritable(&marker), marker)
}

fn daemon_pid(root: &Path) -> i32 {
    fs::read_to_string(root.join("run/libvirtd.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid")
}

#[test]
fn guests_and_hooks_get_no_inherited_descriptor() {
    let marker_dir = tempfile::tempdir().expect("temporary directory");
    let (_inherited, marker) = inherited_marker(marker_dir.path());

    let mut host = QemuHost::start();
    let hook_fds = host.root().join("hook-fds");
    let script = host.root().join("etc/libvirt/hooks/qemu");
    fs::create_dir_all(script.parent().expect("hooks dir")).expect("mkdir hooks");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat >/dev/null\n\
             for f in /proc/$$/fd/*; do readlink \"$f\"; done >> {out}\n\
             echo \"-- $1 $2\" >> {out}\nexit 0\n",
            out = hook_fds.display()
        ),
    )
    .expect("write hook");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod hook");
    // The hook directory is read at start-up.
    host.kill_daemon();
    host.start_daemon();

    let daemon = daemon_pid(host.root());
    assert!(
        fd_targets(daemon).contains(&marker),
        "the daemon should hold the inherited descriptor: {:?}",
        fd_targets(daemon)
    );

    host.define_guest("fds");
    host.virsh_ok("start fds");
    let guests = host.guest_pids();
    assert_eq!(guests.len(), 1, "one guest runs: {guests:?}");
    let guest_fds = fd_targets(guests[0]);
    assert!(
        !guest_fds.is_empty(),
        "the guest's descriptors are readable"
    );
    assert!(
        !guest_fds.contains(&marker),
        "the guest inherited the daemon's descriptor: {guest_fds:?}"
    );

    let seen = fs::read_to_string(&hook_fds).expect("the hook ran");
    assert!(seen.contains("-- fds prepare"), "{seen}");
    assert!(
        !seen.contains(&marker.display().to_string()),
        "a hook inherited the daemon's descriptor:\n{seen}"
    );
    host.virsh_ok("destroy fds");
}

#[test]
fn container_supervisor_and_init_get_no_inherited_descriptor() {
    require_container_host();
    let marker_dir = tempfile::tempdir().expect("temporary directory");
    let (_inherited, marker) = inherited_marker(marker_dir.path());
    let daemon = Daemon::start();
    let held = fd_targets(daemon_pid(daemon.root()));
    assert!(
        held.contains(&marker),
        "the daemon should hold the inherited descriptor: {held:?}"
    );

    let uri = lxc_uri_of(&daemon);
    let name = container_name("fds");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(
        "trap 'exit 0' TERM\necho up > /out/.tmp; mv /out/.tmp /out/up\nsleep 100000 &\nwait",
    );
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 32, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");
    rootfs.wait_report("up");

    let (init, supervisor) =
        status_pids(&daemon.root().join(format!("run/libvirt/lxc/{name}.xml")))
            .expect("status file with pids");
    let marker_name = marker
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    for (who, pid) in [("supervisor", supervisor), ("init", init)] {
        let fds = fd_targets(pid);
        assert!(!fds.is_empty(), "the {who}'s descriptors are readable");
        assert!(
            !fds.iter()
                .any(|p| p.to_string_lossy().contains(&marker_name)),
            "the container's {who} inherited the daemon's descriptor: {fds:?}"
        );
    }
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}
