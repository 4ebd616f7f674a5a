//! Display clients connected by the daemon over passed file descriptors:
//! `virDomainOpenGraphicsFD` returns a socket QEMU's VNC server already took
//! as a client (REPLY_WITH_FDS), `virDomainOpenGraphics` hands QEMU the
//! caller's socket (CALL_WITH_FDS). Both are checked by the RFB greeting the
//! VNC server sends on them, and the daemon keeps none of the descriptors.
//! `qemu-monitor-command --pass-fds` hands QEMU one descriptor with the
//! command; guests are not started with passed files, as in libvirt's qemu
//! driver.

mod qemu_support;

use std::fs;
use std::time::{Duration, Instant};

use integration_tests::python;
use qemu_support::QemuHost;

fn open_fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits until the daemon holds at most `baseline` descriptors.
fn wait_fds_at_most(pid: u32, baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = open_fds(pid);
        if now <= baseline || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// virsh with `/dev/null` open at each of `fds`.
fn virsh_passing(uri: &str, args: &[&str], fds: &[i32]) -> integration_tests::CmdOutput {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let null = fs::File::open("/dev/null").expect("open /dev/null");
    let raw = null.as_raw_fd();
    let targets = fds.to_vec();
    let mut command = integration_tests::tools::virsh_command();
    command.arg("-c").arg(uri).args(args);
    // SAFETY: only dup2, which is async-signal-safe, runs before exec.
    unsafe {
        command.pre_exec(move || {
            for target in &targets {
                if libc::dup2(raw, *target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    integration_tests::tools::run_with_deadline(
        &mut command,
        integration_tests::tools::CLIENT_TIMEOUT,
    )
}

#[test]
fn vnc_clients_over_passed_descriptors() {
    let host = QemuHost::start();
    let xml = host.guest_xml("g1").replace(
        "</devices>",
        "<graphics type='vnc' port='-1'/><video><model type='vga'/></video></devices>",
    );
    let file = host.root().join("g1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start g1");
    host.wait_booted("g1", 1);
    let pid = host.daemon_pid().expect("daemon runs");
    // One call first, so that lazily opened descriptors are in the baseline.
    let warm = python("graphics_fd.py", &[&host.uri(), "g1", "0"]);
    assert!(warm.success(), "{warm}");
    let baseline = open_fds(pid);

    let out = python("graphics_fd.py", &[&host.uri(), "g1", "40"]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("fd: RFB 003.008"), "{out}");
    assert!(out.stdout.contains("handed: RFB 003.008"), "{out}");
    assert!(
        out.stdout
            .contains("index 1: internal error: No graphics backend with index 1"),
        "{out}"
    );
    assert!(out.stdout.contains("repeated: 40"), "{out}");
    let after = wait_fds_at_most(pid, baseline);
    assert!(
        after <= baseline,
        "the daemon kept descriptors: {baseline} before, {after} after"
    );

    // qemu-monitor-command --pass-fds: QEMU gets the descriptor with the
    // command (add-fd puts it in an fd set that query-fdsets then lists).
    let add = virsh_passing(
        &host.uri(),
        &[
            "qemu-monitor-command",
            "g1",
            "--pass-fds",
            "7",
            r#"{"execute":"add-fd","arguments":{"fdset-id":5}}"#,
        ],
        &[7],
    );
    assert!(
        add.success() && add.stdout.contains("\"fdset-id\":5"),
        "{add}"
    );
    let sets = host.virsh_ok(r#"qemu-monitor-command g1 '{"execute":"query-fdsets"}'"#);
    assert!(sets.contains("\"fdset-id\":5"), "{sets}");
    let two = virsh_passing(
        &host.uri(),
        &[
            "qemu-monitor-command",
            "g1",
            "--pass-fds",
            "7,8",
            r#"{"execute":"query-fdsets"}"#,
        ],
        &[7, 8],
    );
    assert!(
        !two.success()
            && two
                .stderr
                .contains("at most 1 fd can be passed to qemu along with a command"),
        "{two}"
    );

    // libvirt's qemu driver starts no guest with passed files.
    let xml2 = host.guest_xml("g2");
    let file2 = host.root().join("g2.xml");
    fs::write(&file2, xml2).expect("write xml");
    let out = host.virsh(&format!("create {} --pass-fds 0", file2.display()));
    assert!(
        !out.success()
            && out.stderr.contains(
                "this function is not supported by the connection driver: virDomainCreateXMLWithFiles"
            ),
        "{out}"
    );
}
