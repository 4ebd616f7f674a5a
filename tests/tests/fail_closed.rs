//! Settings that would open the host to more people than intended fail closed:
//! a root daemon without polkit keeps its read-write socket to root (also an
//! inherited one), access drivers it does not implement stop start-up, and no
//! refusal advises plain TCP without authentication.

mod activation_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use activation_support::process::Launch;
use activation_support::{raw_fds, unix_socket, NotifyListener, Root, START_TIMEOUT};
use integration_tests::tools::require_tool;
use integration_tests::{libvirtd_bin, run_with_deadline, virsh, wait_until, DaemonBuilder};

/// The system interpreter: one under root's home is out of `nobody`'s reach.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Whether user `nobody` can connect to the unix socket at `path` (the
/// directories above it are made traversable first).
fn nobody_connects(path: &Path) -> bool {
    require_tool("runuser", "util-linux");
    for dir in path.ancestors().skip(1) {
        let current = mode(dir);
        if current & 0o001 == 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(current | 0o001))
                .expect("make the directory traversable");
        }
    }
    let script = "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n";
    let out = run_with_deadline(
        Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(SYSTEM_PYTHON)
            .args(["-c", script])
            .arg(path),
        Duration::from_secs(30),
    );
    if !out.success() {
        assert!(
            out.stderr.contains("PermissionError"),
            "nobody failed for another reason: {}",
            out.stderr
        );
    }
    out.success()
}

#[test]
fn root_without_polkit_keeps_the_rw_socket_to_itself() {
    let daemon = DaemonBuilder::new().conf("auth_unix_rw = \"none\"").start();
    assert_eq!(mode(&daemon.rw_socket()), 0o700, "{}", daemon.diagnostics());
    assert!(
        !nobody_connects(&daemon.rw_socket()),
        "an unauthenticated rw socket is open to every user"
    );
    assert!(
        virsh(&daemon.rw_uri(), "list").success(),
        "root still connects"
    );
    // The ro socket keeps libvirt's mode: it grants no management.
    assert_eq!(mode(&daemon.ro_socket()), 0o777);
    // The socket directory stays reachable although the daemon's umask is 077.
    assert_eq!(
        mode(daemon.rw_socket().parent().expect("dir")) & 0o755,
        0o755
    );

    // An explicit mode is the administrator's choice and is kept.
    let open = DaemonBuilder::new()
        .conf("auth_unix_rw = \"none\"")
        .conf("unix_sock_rw_perms = \"0777\"")
        .start();
    assert_eq!(mode(&open.rw_socket()), 0o777);
    assert!(nobody_connects(&open.rw_socket()), "{}", open.diagnostics());
}

/// Starts the daemon on an inherited rw socket of `socket_mode` with
/// `auth_unix_rw = "none"`; returns the running process or the exit code.
fn activated_without_polkit(
    root: &Root,
    socket_mode: u32,
) -> Result<activation_support::process::Process, (Option<i32>, String)> {
    let path = root.run_file("libvirt-sock");
    let socket = unix_socket(&path);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(socket_mode)).expect("chmod");
    let conf = root.write_conf("libvirtd", &["auth_unix_rw = \"none\""], false);
    let mut notify = NotifyListener::bind(root);
    let mut env = root.env();
    env.push(("NOTIFY_SOCKET".into(), notify.path.display().to_string()));
    let bin = libvirtd_bin();
    let launch = Launch {
        program: &bin,
        arg0: "libvirtd",
        args: vec!["-f".into(), conf.display().to_string()],
        fds: raw_fds(&[&socket]),
        fdnames: Some("libvirtd.socket".into()),
        env,
        stdout: &root.stdout_file(),
        stderr: &root.stderr_file(),
    };
    let mut process = launch.spawn();
    // A client could connect to the held socket whether or not the daemon
    // serves it: wait for readiness or the exit instead.
    let settled = wait_until(START_TIMEOUT, || {
        process.try_wait().is_some() || notify.wait_for("READY=1", Duration::from_millis(50))
    });
    assert!(
        settled,
        "the daemon neither became ready nor exited\n{}",
        root.diagnostics()
    );
    if let Some(status) = process.try_wait() {
        return Err((status.code(), root.output()));
    }
    let uri = format!("qemu+unix:///system?socket={}", path.display());
    assert!(virsh(&uri, "list").success(), "{}", root.diagnostics());
    Ok(process)
}

#[test]
fn an_inherited_rw_socket_open_to_everyone_without_polkit_stops_start_up() {
    // What libvirtd.socket ships (SocketMode=0666), right for polkit only.
    let root = Root::new();
    let (code, output) = match activated_without_polkit(&root, 0o666) {
        Ok(_) => panic!("served an unauthenticated socket open to every user"),
        Err(exit) => exit,
    };
    assert_eq!(code, Some(6), "{output}");
    assert!(
        output.contains("(libvirtd.socket) has mode 0666, wider than unix_sock_rw_perms (0700)")
            && output.contains("SocketMode="),
        "{output}"
    );

    // A unit made private is served.
    let root = Root::new();
    let mut process = activated_without_polkit(&root, 0o600)
        .unwrap_or_else(|(code, output)| panic!("exit {code:?}: {output}"));
    process.signal(libc::SIGTERM);
    assert!(process.wait_timeout(START_TIMEOUT).is_some());
}

#[test]
fn unimplemented_access_drivers_stop_start_up() {
    for list in ["[ \"polkit\" ]", "[ \"none\", \"polkit\" ]"] {
        let mut daemon = DaemonBuilder::new()
            .log_to_stderr()
            .conf(format!("access_drivers = {list}"))
            .spawn();
        let status = daemon.wait_exit(Duration::from_secs(30));
        assert_eq!(status.code(), Some(1), "{}", daemon.diagnostics());
        assert!(
            daemon
                .stderr()
                .contains("Can't initialize access manager: access driver 'polkit' (access_drivers) is not supported by this daemon"),
            "{}",
            daemon.diagnostics()
        );
        assert!(!daemon.rw_socket().exists(), "no socket may be created");
    }
    // The explicit default is accepted.
    let daemon = DaemonBuilder::new()
        .conf("access_drivers = [ \"none\" ]")
        .start();
    assert!(virsh(&daemon.rw_uri(), "list").success());
}

#[test]
fn refusing_sasl_on_tcp_advises_tls_not_plain_tcp() {
    let mut daemon = DaemonBuilder::new()
        .log_to_stderr()
        .conf("listen_tcp = 1")
        .conf("listen_tls = 0")
        .arg("--listen")
        .spawn();
    let status = daemon.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(6), "{}", daemon.diagnostics());
    let stderr = daemon.stderr();
    assert!(
        stderr.contains("SASL authentication (auth_tcp = \"sasl\") is not supported")
            && stderr.contains("TLS with client certificates"),
        "{}",
        daemon.diagnostics()
    );
    assert!(
        !stderr.contains("auth_tcp = \"none\""),
        "advises plain TCP: {stderr}"
    );
}
