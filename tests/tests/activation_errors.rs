//! Start-up refusals under socket activation: each exits with status 6 and
//! says why, and the daemon creates no socket of its own.

mod activation_support;

use std::os::fd::OwnedFd;

use activation_support::process::Launch;
use activation_support::{raw_fds, unix_socket, Root, START_TIMEOUT};
use integration_tests::libvirtd_bin;

/// Starts `arg0` with `sockets` passed under `fdnames` and waits for its
/// exit; returns the exit code and everything it printed or logged.
fn run_activated(
    root: &Root,
    arg0: &str,
    extra_args: &[&str],
    sockets: &[&OwnedFd],
    fdnames: Option<&str>,
) -> (Option<i32>, String) {
    let conf = root.write_conf(arg0, &[], false);
    let mut args = vec!["-f".to_string(), conf.display().to_string()];
    args.extend(extra_args.iter().map(|a| a.to_string()));
    let bin = libvirtd_bin();
    let launch = Launch {
        program: &bin,
        arg0,
        args,
        fds: raw_fds(sockets),
        fdnames: fdnames.map(str::to_string),
        env: root.env(),
        stdout: &root.stdout_file(),
        stderr: &root.stderr_file(),
    };
    let mut process = launch.spawn();
    let status = process
        .wait_timeout(START_TIMEOUT)
        .unwrap_or_else(|| panic!("the daemon did not exit\n{}", root.diagnostics()));
    (status.code(), root.output())
}

/// No socket file appeared in the default socket directory.
fn assert_no_own_sockets(root: &Root) {
    let entries: Vec<String> = std::fs::read_dir(root.path().join("run/libvirt"))
        .expect("read run/libvirt")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        entries.is_empty(),
        "the daemon created sockets although activated: {entries:?}"
    );
}

fn held_socket(root: &Root, name: &str) -> OwnedFd {
    let dir = root.path().join("held");
    std::fs::create_dir_all(&dir).expect("socket directory");
    unix_socket(&dir.join(name))
}

#[test]
fn an_unknown_fd_name_exits_6() {
    let root = Root::new();
    let rw = held_socket(&root, "rw");
    let other = held_socket(&root, "other");
    let (code, output) = run_activated(
        &root,
        "libvirtd",
        &[],
        &[&rw, &other],
        Some("libvirtd.socket:bogus.socket"),
    );
    assert_eq!(code, Some(6), "{output}");
    assert!(
        output.contains("Some activation file descriptors are unclaimed")
            && output.contains("'bogus.socket' (fd 4)"),
        "{output}"
    );
    assert_no_own_sockets(&root);
}

#[test]
fn an_fd_the_daemon_does_not_serve_stays_unclaimed_and_exits_6() {
    // libvirtd's own name means nothing to virtqemud.
    let root = Root::new();
    let mine = held_socket(&root, "qemu");
    let theirs = held_socket(&root, "libvirtd");
    let (code, output) = run_activated(
        &root,
        "virtqemud",
        &[],
        &[&mine, &theirs],
        Some("virtqemud.socket:libvirtd.socket"),
    );
    assert_eq!(code, Some(6), "{output}");
    assert!(
        output.contains("Some activation file descriptors are unclaimed: 'libvirtd.socket'"),
        "{output}"
    );
    assert_no_own_sockets(&root);
}

#[test]
fn listen_option_with_activation_exits_6() {
    let root = Root::new();
    let rw = held_socket(&root, "rw");
    let (code, output) = run_activated(
        &root,
        "libvirtd",
        &["--listen"],
        &[&rw],
        Some("libvirtd.socket"),
    );
    assert_eq!(code, Some(6), "{output}");
    assert!(
        output.contains(
            "--listen parameter not permitted with systemd activation sockets, \
             see 'man libvirtd' for further guidance"
        ),
        "{output}"
    );
    assert_no_own_sockets(&root);
}

#[test]
fn missing_fd_names_is_an_error_not_a_fallback() {
    let root = Root::new();
    let rw = held_socket(&root, "rw");
    let (code, output) = run_activated(&root, "libvirtd", &[], &[&rw], None);
    assert_eq!(code, Some(6), "{output}");
    assert!(
        output.contains("Missing LISTEN_FDNAMES env from systemd socket activation")
            && output.contains("--fdname"),
        "{output}"
    );
    // libvirt 9.0 would have created its own sockets here.
    assert_no_own_sockets(&root);
}

#[test]
fn a_name_count_that_does_not_match_exits_6() {
    let root = Root::new();
    let rw = held_socket(&root, "rw");
    let ro = held_socket(&root, "ro");
    let (code, output) =
        run_activated(&root, "libvirtd", &[], &[&rw, &ro], Some("libvirtd.socket"));
    assert_eq!(code, Some(6), "{output}");
    assert!(
        output.contains("Expecting 2 FD names but got 1"),
        "{output}"
    );
    assert_no_own_sockets(&root);
}
