//! Socket activation under `systemd-socket-activate` (Debian `systemd`):
//! the daemon serves the rw, ro, admin and tcp sockets it inherits, by
//! their names, creates none of its own, tells the `NOTIFY_SOCKET`
//! listener `READY=1` only once it answers calls, and `STOPPING=1` at
//! SIGTERM. The inherited socket files stay after it exits.

mod activation_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use activation_support::{NotifyListener, Root, START_TIMEOUT};
use integration_tests::tools::require_tool;
use integration_tests::{libvirtd_bin, virsh, virt_admin, wait_until, RawClient};

/// Kills the systemd-socket-activate process (by then: the daemon) on drop.
struct Activator(std::process::Child);

impl Drop for Activator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn virsh_and_virt_admin_work_over_every_activated_socket() {
    let tool = require_tool("systemd-socket-activate", "systemd");
    let root = Root::new();
    let conf = root.write_conf("libvirtd", &["auth_tcp = \"none\""], true);
    let mut notify = NotifyListener::bind(&root);
    let rw = root.path().join("activation/rw-sock");
    let ro = root.path().join("activation/ro-sock");
    let admin = root.path().join("activation/admin-sock");
    std::fs::create_dir_all(root.path().join("activation")).expect("socket directory");
    let port = integration_tests::daemon::free_tcp_port();

    let mut command = Command::new(tool);
    command
        .arg("-l")
        .arg(&rw)
        .arg("-l")
        .arg(&ro)
        .arg("-l")
        .arg(&admin)
        .arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .arg(
            "--fdname=libvirtd.socket:libvirtd-ro.socket:libvirtd-admin.socket:libvirtd-tcp.socket",
        )
        .args(["-E", "NOTIFY_SOCKET", "-E", "LIBVIRTD_ROOT"])
        .arg(libvirtd_bin())
        .arg("-f")
        .arg(&conf)
        .env("NOTIFY_SOCKET", &notify.path)
        .env("LIBVIRTD_ROOT", root.path())
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_FDNAMES")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(root.stdout_file()).expect("stdout file"))
        .stderr(std::fs::File::create(root.stderr_file()).expect("stderr file"));
    let mut activator = Activator(command.spawn().expect("spawn systemd-socket-activate"));

    // systemd-socket-activate binds the sockets, then waits for a client.
    assert!(
        wait_until(START_TIMEOUT, || [&rw, &ro, &admin]
            .iter()
            .all(|p| p.exists())),
        "systemd-socket-activate did not create its sockets\n{}",
        root.diagnostics()
    );
    assert!(
        notify.drain().is_empty(),
        "a notification arrived before any daemon was started"
    );

    // The first connection makes it exec the daemon; the call waits in the
    // backlog until the daemon serves it, and READY=1 means it does.
    let mut client = RawClient::unix(&rw);
    assert!(
        notify.wait_for("READY=1", START_TIMEOUT),
        "no READY=1 from the daemon (got {:?})\n{}",
        notify.received,
        root.diagnostics()
    );
    client.open("test:///default", 0);
    drop(client);

    let rw_uri = format!("test+unix:///default?socket={}", rw.display());
    let ro_uri = format!("test+unix:///default?socket={}", ro.display());
    let out = virsh(&rw_uri, "list --all").expect_success("virsh list over the rw socket");
    assert!(out.stdout.contains(" test "), "{out}");
    let out = virsh(&ro_uri, "dominfo test").expect_success("virsh over the ro socket");
    assert!(out.stdout.contains("running"), "{out}");
    let refused = virsh(&ro_uri, "suspend test");
    assert!(
        !refused.success() && refused.stderr.contains("read only access prevents"),
        "the activated ro socket must be read-only:\n{refused}"
    );
    let tcp_uri = format!("test+tcp://127.0.0.1:{port}/default");
    let out = virsh(&tcp_uri, "domstate test").expect_success("virsh over the tcp socket");
    assert_eq!(out.stdout.trim(), "running", "{out}");
    let admin_uri = format!("libvirtd:///system?socket={}", admin.display());
    let out = virt_admin(&admin_uri, "srv-list").expect_success("virt-admin srv-list");
    assert!(
        out.stdout.contains("libvirtd") && out.stdout.contains("admin"),
        "{out}"
    );

    // Socket activation: the daemon created none of its default sockets.
    for name in ["libvirt-sock", "libvirt-sock-ro", "libvirt-admin-sock"] {
        assert!(
            !root.run_file(name).exists(),
            "the daemon created {name} although it was activated"
        );
    }

    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(activator.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let ended = wait_until(START_TIMEOUT, || {
        matches!(activator.0.try_wait(), Ok(Some(_)))
    });
    assert!(ended, "the daemon ignored SIGTERM\n{}", root.diagnostics());
    let status = activator.0.wait().expect("exit status");
    assert_eq!(status.code(), Some(0), "{}", root.diagnostics());
    assert!(
        notify.wait_for("STOPPING=1", Duration::from_secs(5)),
        "no STOPPING=1 at SIGTERM (got {:?})",
        notify.received
    );
    for path in [&rw, &ro, &admin] {
        assert!(
            path.exists(),
            "the inherited socket {} was removed by the daemon",
            path.display()
        );
    }
}
