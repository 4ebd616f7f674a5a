//! Descriptors passed to and from containers: `virsh lxc-enter-namespace`
//! (the daemon passes the namespaces of the container's init, REPLY_WITH_FDS,
//! and virsh runs a command inside them) and `virsh create --pass-fds` (the
//! caller's descriptors reach the container's init, CALL_WITH_FDS).

mod lxc_common;

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;

use integration_tests::tools::{run_with_deadline, virsh_command, CLIENT_TIMEOUT};
use integration_tests::virsh;
use lxc_common::*;

/// Init reads what it got as descriptor 3 and the LISTEN_* variables.
const READ_PASSED_FD: &str = r#"
{ echo "fds=$LISTEN_FDS pid=$LISTEN_PID"; cat <&3; } > /out/.tmp 2>&1
mv /out/.tmp /out/passed
trap 'exit 0' TERM
sleep 100000 &
wait
"#;

#[test]
fn create_pass_fds_reaches_the_container_init() {
    require_container_host();
    let daemon = integration_tests::Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("pfd");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(READ_PASSED_FD);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    // A file outside the container's root: only the descriptor gets it in.
    let secret_dir = tempfile::tempdir().expect("temp dir");
    let secret = secret_dir.path().join("secret");
    fs::write(&secret, "outside-the-container\n").expect("write secret");
    let file = fs::File::open(&secret).expect("open secret");
    let raw = file.as_raw_fd();
    let mut command = virsh_command();
    command.args([
        "-c",
        &uri,
        "create",
        &xml_path.display().to_string(),
        "--pass-fds",
        "7",
    ]);
    // SAFETY: dup2 is async-signal-safe; it only places the file at 7.
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(raw, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run_with_deadline(&mut command, CLIENT_TIMEOUT);
    assert!(out.success(), "{out}");
    let passed = rootfs.wait_report("passed");
    assert_eq!(passed, "fds=1 pid=1\noutside-the-container\n");
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}

#[test]
fn a_command_runs_in_the_container_namespaces() {
    require_container_host();
    let daemon = integration_tests::Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("ns");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");
    let inside = rootfs.wait_report("hostname").trim().to_string();
    let host = nix::unistd::gethostname()
        .expect("host name")
        .to_string_lossy()
        .to_string();
    assert_ne!(inside, host, "the container has a host name of its own");

    // The command runs in the container's mount namespace too: its /bin
    // and /out are the container's root.
    let out = virsh(
        &uri,
        &format!("lxc-enter-namespace {name} --noseclabel -- /bin/sh -c 'hostname; cat /out/pid; echo $$'"),
    )
    .expect_success("lxc-enter-namespace");
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.first().copied(), Some(inside.as_str()), "{out}");
    // In the container's pid namespace init is 1, and the command is
    // another process of it.
    assert_eq!(lines.get(1).copied(), Some("1"), "{out}");
    let own_pid: u32 = lines
        .get(2)
        .and_then(|p| p.parse().ok())
        .expect("pid printed");
    assert!(own_pid > 1, "{out}");

    // Without --noseclabel virsh asks the security model first, as users run it.
    let out = virsh(
        &uri,
        &format!("lxc-enter-namespace {name} -- /bin/hostname"),
    )
    .expect_success("lxc-enter-namespace");
    assert_eq!(out.stdout.trim(), inside, "{out}");

    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
    let out = virsh(
        &uri,
        &format!("lxc-enter-namespace {name} -- /bin/hostname"),
    );
    assert!(
        !out.success() && out.stderr.contains("domain is not running"),
        "{out}"
    );
}
