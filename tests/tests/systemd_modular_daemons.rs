//! The same binary run as `virtqemud` or `virtlxcd`: its own configuration
//! file, sockets, pid file and activation names, only its own driver, and
//! no `--listen`.

mod activation_support;

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::Command;

use activation_support::process::{Launch, Process};
use activation_support::{raw_fds, unix_socket, Root, START_TIMEOUT};
use integration_tests::tools::{run_with_deadline, CLIENT_TIMEOUT};
use integration_tests::{libvirtd_bin, virsh, virt_admin, wait_until};

/// Starts `name` on `root` without `-f` (so it reads its own default
/// configuration file) and waits for its read-write socket.
fn start_modular(root: &Root, name: &str, sockets: &[&OwnedFd], fdnames: Option<&str>) -> Process {
    let bin = libvirtd_bin();
    let launch = Launch {
        program: &bin,
        arg0: name,
        args: Vec::new(),
        fds: raw_fds(sockets),
        fdnames: fdnames.map(str::to_string),
        env: root.env(),
        stdout: &root.stdout_file(),
        stderr: &root.stderr_file(),
    };
    launch.spawn()
}

fn wait_connectable(root: &Root, process: &mut Process, socket: &std::path::Path) {
    let ready = wait_until(START_TIMEOUT, || {
        UnixStream::connect(socket).is_ok() || process.try_wait().is_some()
    });
    assert!(
        ready && process.try_wait().is_none(),
        "{} never accepted connections\n{}",
        socket.display(),
        root.diagnostics()
    );
}

/// `virsh -c URI uri` must fail with "no connection driver available for URI".
fn assert_no_driver(uri_with_socket: &str, uri: &str) {
    let out = virsh(uri_with_socket, "uri");
    assert!(
        !out.success()
            && out
                .stderr
                .contains(&format!("no connection driver available for {uri}")),
        "{uri} must be refused:\n{out}"
    );
}

#[test]
fn virtqemud_uses_its_own_files_and_refuses_other_drivers() {
    let root = Root::new();
    root.write_conf("virtqemud", &[], true);
    // Not read by virtqemud: a syntax error here must not matter.
    std::fs::write(
        root.path().join("etc/libvirt/libvirtd.conf"),
        "broken = [\n",
    )
    .expect("write libvirtd.conf");
    let mut daemon = start_modular(&root, "virtqemud", &[], None);
    let rw = root.run_file("virtqemud-sock");
    wait_connectable(&root, &mut daemon, &rw);
    // The read-only and admin sockets are bound just after the read-write one.
    for name in ["virtqemud-sock-ro", "virtqemud-admin-sock"] {
        let path = root.run_file(name);
        assert!(
            wait_until(START_TIMEOUT, || path.exists()),
            "{name} missing"
        );
    }
    for name in ["libvirt-sock", "libvirt-sock-ro", "libvirt-admin-sock"] {
        assert!(!root.run_file(name).exists(), "{name} created by virtqemud");
    }
    let pid = std::fs::read_to_string(root.path().join("run/virtqemud.pid"))
        .expect("read run/virtqemud.pid");
    assert_eq!(pid.trim(), daemon.pid().to_string());
    assert!(
        root.log_file().exists(),
        "virtqemud.conf was not read (its log output is missing)"
    );

    let socket = rw.display();
    assert_no_driver(&format!("lxc:///system?socket={socket}"), "lxc:///system");
    assert_no_driver(
        &format!("test+unix:///default?socket={socket}"),
        "test:///default",
    );
    // The qemu driver is the only one virtqemud serves (when the host can run it).
    let qemu = virsh(&format!("qemu:///system?socket={socket}"), "uri");
    let served = qemu.success() && qemu.stdout.starts_with("qemu:///system");
    let refused_as_unavailable = !qemu.success()
        && !qemu
            .stderr
            .contains("no connection driver available for qemu:///system");
    assert!(served || refused_as_unavailable, "{qemu}");

    let admin = format!(
        "virtqemud:///system?socket={}",
        root.run_file("virtqemud-admin-sock").display()
    );
    let out = virt_admin(&admin, "srv-list").expect_success("virt-admin srv-list");
    assert!(
        out.stdout.contains("virtqemud") && !out.stdout.contains("libvirtd"),
        "{out}"
    );

    daemon.signal(libc::SIGTERM);
    let status = daemon
        .wait_timeout(START_TIMEOUT)
        .expect("exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", root.diagnostics());
    assert!(!rw.exists(), "its own socket must be removed at exit");
}

#[test]
fn virtlxcd_serves_only_lxc() {
    let root = Root::new();
    root.write_conf("virtlxcd", &[], true);
    let mut daemon = start_modular(&root, "virtlxcd", &[], None);
    let rw = root.run_file("virtlxcd-sock");
    wait_connectable(&root, &mut daemon, &rw);
    assert!(root.path().join("run/virtlxcd.pid").exists());
    assert_no_driver(
        &format!("qemu:///system?socket={}", rw.display()),
        "qemu:///system",
    );
}

#[test]
fn virtnetworkd_serves_only_networks() {
    let root = Root::new();
    root.write_conf("virtnetworkd", &[], true);
    let mut daemon = start_modular(&root, "virtnetworkd", &[], None);
    let rw = root.run_file("virtnetworkd-sock");
    wait_connectable(&root, &mut daemon, &rw);
    assert!(root.path().join("run/virtnetworkd.pid").exists());
    assert_no_driver(
        &format!("qemu:///system?socket={}", rw.display()),
        "qemu:///system",
    );
    let out = virsh(
        &format!("network:///system?socket={}", rw.display()),
        "net-list --all --name",
    );
    assert!(out.success() && out.stdout.contains("default"), "{out}");
}

#[test]
fn modular_daemons_have_no_listen_option() {
    for (option, complaint) in [
        ("-l", "virtqemud: invalid option -- 'l'"),
        ("--listen", "virtqemud: unrecognized option '--listen'"),
    ] {
        let root = Root::new();
        let mut command = Command::new(libvirtd_bin());
        std::os::unix::process::CommandExt::arg0(&mut command, "virtqemud");
        command.arg(option).env("LIBVIRTD_ROOT", root.path());
        let out = run_with_deadline(&mut command, CLIENT_TIMEOUT);
        assert_eq!(out.code(), Some(1), "{out}");
        assert!(out.stderr.starts_with(complaint), "{out}");
        assert!(
            !out.stderr.contains("--listen ") && out.stderr.contains("virtqemud-sock"),
            "virtqemud's usage text:\n{out}"
        );
    }
}

#[test]
fn virtqemud_takes_its_activation_names() {
    let root = Root::new();
    root.write_conf("virtqemud", &[], true);
    let held = root.path().join("held");
    std::fs::create_dir_all(&held).expect("socket directory");
    let sockets: Vec<OwnedFd> = ["rw", "ro", "admin"]
        .iter()
        .map(|name| unix_socket(&held.join(name)))
        .collect();
    let refs: Vec<&OwnedFd> = sockets.iter().collect();
    let mut daemon = start_modular(
        &root,
        "virtqemud",
        &refs,
        Some("virtqemud.socket:virtqemud-ro.socket:virtqemud-admin.socket"),
    );
    let admin = format!(
        "virtqemud:///system?socket={}",
        held.join("admin").display()
    );
    let out = virt_admin(&admin, "srv-list").expect_success("virt-admin over the activated socket");
    assert!(out.stdout.contains("virtqemud"), "{out}");
    assert_no_driver(
        &format!("lxc:///system?socket={}", held.join("ro").display()),
        "lxc:///system",
    );
    assert!(
        !root.run_file("virtqemud-sock").exists(),
        "virtqemud created its own socket although activated"
    );
    assert!(daemon.try_wait().is_none(), "{}", root.diagnostics());
}
