//! Hung guests do not freeze the daemon: with two real guests stopped
//! (SIGSTOP, so their QMP monitors never answer) and four monitor commands
//! waiting on them, other clients are still served and keepalive is still
//! answered; after SIGCONT the waiting commands complete.
//!
//! Why this fails when a call that waits on QEMU runs on the event loop: the
//! daemon runs here with two event-loop threads (TOKIO_WORKER_THREADS=2) and
//! four hung calls, so calls run on those threads would occupy both until the
//! monitor timeout (30 s), and nothing else could be answered before one of
//! them failed with "Timed out during operation". The test first waits until
//! the four calls hold workers of the pool (`virt-admin srv-threadpool-info`;
//! a call answered on the event loop never does, and virt-admin itself would
//! not be answered), then demands that `virsh list` (qemu and test driver) and
//! a keepalive PING are answered while all four calls are still pending, and
//! that all four succeed once the guests continue (a call that had timed out
//! would have failed). The worker pool (max_workers = 8) is larger than the
//! number of hung calls, so the hung calls wait on workers without delaying
//! anything else.

mod qemu_support;

use std::process::Child;
use std::time::Duration;

use integration_tests::tools::{virsh_command, virt_admin, wait_with_deadline, CLIENT_TIMEOUT};
use integration_tests::{wait_until, RawClient};
use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::{keepalive, KEEPALIVE_PROGRAM};
use qemu_support::{QemuHost, STATE_TIMEOUT};

/// Event-loop threads of the daemon under test: fewer than the hung calls.
const EVENT_LOOP_THREADS: &str = "2";
/// Monitor commands left waiting on the stopped guests (two per guest).
const HUNG_CALLS: usize = 4;

/// Continues the stopped guests however the test ends.
struct Frozen(Vec<i32>);

impl Frozen {
    fn stop(pids: Vec<i32>) -> Frozen {
        for pid in &pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGSTOP,
            );
        }
        Frozen(pids)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGCONT,
            );
        }
    }
}

/// Workers busy on the main server, from `virt-admin srv-threadpool-info`.
fn busy_workers(admin_uri: &str) -> usize {
    let out = virt_admin(admin_uri, "srv-threadpool-info libvirtd");
    assert!(out.success(), "srv-threadpool-info: {}", out.stderr);
    let field = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no {name} in {}", out.stdout))
    };
    field("nWorkers").saturating_sub(field("freeWorkers"))
}

fn assert_pong(socket: &std::path::Path) {
    let mut client = RawClient::unix(socket);
    let ping = Header::new(KEEPALIVE_PROGRAM, keepalive::PING, MessageType::Message, 0);
    client
        .send_bytes(&encode_message(&ping, &[]))
        .expect("send PING");
    let message = client
        .next_message(CLIENT_TIMEOUT)
        .expect("no PONG while guests hang")
        .expect("connection closed instead of PONG");
    assert_eq!(
        (message.header.prog, message.header.proc_),
        (KEEPALIVE_PROGRAM, keepalive::PONG),
        "not a PONG: {message:?}"
    );
}

#[test]
fn two_stopped_guests_do_not_freeze_the_daemon() {
    // Inherited by the daemon: a small event loop, smaller than the number
    // of hung calls (see the module comment). This test binary has no other
    // test, so nothing else reads the environment concurrently.
    std::env::set_var("TOKIO_WORKER_THREADS", EVENT_LOOP_THREADS);
    let mut host = QemuHost::start();
    let conf = host.root().join("etc/libvirt/libvirtd.conf");
    let mut text = std::fs::read_to_string(&conf).expect("read libvirtd.conf");
    text.push_str("min_workers = 1\nmax_workers = 8\n");
    std::fs::write(&conf, text).expect("write libvirtd.conf");
    host.kill_daemon();
    host.start_daemon();
    let admin_uri = format!(
        "libvirtd:///system?socket={}",
        host.root().join("run/libvirt/libvirt-admin-sock").display()
    );
    let test_uri = format!(
        "test+unix:///default?socket={}",
        host.root().join("run/libvirt/libvirt-sock").display()
    );

    for name in ["h1", "h2"] {
        host.define_guest(name);
        host.virsh_ok(&format!("start {name}"));
    }
    for name in ["h1", "h2"] {
        host.wait_booted(name, 1);
    }
    let pids = host.guest_pids();
    assert_eq!(pids.len(), 2, "expected two QEMU processes: {pids:?}");
    let frozen = Frozen::stop(pids);

    let hung: Vec<Child> = ["h1", "h2", "h1", "h2"]
        .iter()
        .map(|name| {
            virsh_command()
                .args([
                    "-c",
                    &host.uri(),
                    "qemu-monitor-command",
                    name,
                    r#"{"execute":"query-status"}"#,
                ])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn virsh qemu-monitor-command")
        })
        .collect();
    assert_eq!(hung.len(), HUNG_CALLS);
    let mut hung = hung;

    // All four calls reached the daemon and wait on QEMU.
    let waiting = wait_until(STATE_TIMEOUT, || busy_workers(&admin_uri) >= HUNG_CALLS);
    assert!(
        waiting,
        "the monitor commands never occupied {HUNG_CALLS} workers\n{}",
        host.diagnostics()
    );

    // Meanwhile the daemon serves everyone else.
    let listed = host.virsh_ok("list --all --name");
    assert!(
        listed.contains("h1") && listed.contains("h2"),
        "list: {listed}"
    );
    let test_list = integration_tests::virsh(&test_uri, "list --name");
    assert!(
        test_list.success() && test_list.stdout.contains("test"),
        "test driver list: {}{}",
        test_list.stdout,
        test_list.stderr
    );
    assert_pong(&host.root().join("run/libvirt/libvirt-sock"));
    for child in hung.iter_mut() {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "a monitor command ended while its guest was stopped"
        );
    }

    drop(frozen);
    for child in hung {
        let out = wait_with_deadline(child, CLIENT_TIMEOUT, "virsh qemu-monitor-command");
        assert!(
            out.success() && out.stdout.contains("\"running\""),
            "a monitor command did not complete after SIGCONT: {}{}",
            out.stdout,
            out.stderr
        );
    }
    let recovered = wait_until(Duration::from_secs(30), || busy_workers(&admin_uri) == 0);
    assert!(recovered, "workers stayed busy after the guests continued");
    for name in ["h1", "h2"] {
        assert_eq!(host.domstate(name), "running (booted)");
    }
}
