//! Mutated traffic against the running daemon: recorded client
//! conversations from the dispatcher's fuzz corpus, mutated, sent on fresh
//! connections to the read-write, read-only and admin sockets, while virsh
//! keeps working on the read-write socket. Afterwards the daemon is alive,
//! answers, and its resident memory stays bounded.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fuzz::mutate::{frames, split_frames};
use fuzz::rng::Rng;
use integration_tests::{virsh, virt_admin, Daemon};
use protocol::programs::{admin_proc, ADMIN_PROGRAM};

/// Mutated conversations sent, at most, and the time they may take.
const INPUTS: usize = 400;
const BUDGET: Duration = Duration::from_secs(30);
/// Resident memory the daemon may use after the run (it starts near 10 MiB).
const RSS_BOUND_KIB: u64 = 256 * 1024;

/// Admin calls that would change what the test observes (shut the daemon
/// down, drop or refuse clients, move its logs); every other admin call is
/// fair game.
fn admin_call_allowed(proc_: i32) -> bool {
    let name = admin_proc::name(proc_).unwrap_or("");
    !["SET", "SHUTDOWN", "CLOSE", "UPDATE"]
        .iter()
        .any(|word| name.contains(word))
}

/// On the admin socket only whole messages of allowed calls are sent, so
/// that no mutation can turn into a forbidden call.
fn admin_safe(stream: &[u8]) -> Vec<u8> {
    split_frames(stream)
        .into_iter()
        .filter(|m| {
            m.len() >= 28 && m.len() == u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize
        })
        .filter(|m| {
            let prog = u32::from_be_bytes([m[4], m[5], m[6], m[7]]);
            let proc_ = i32::from_be_bytes([m[12], m[13], m[14], m[15]]);
            prog != ADMIN_PROGRAM || admin_call_allowed(proc_)
        })
        .flat_map(|m| m.to_vec())
        .collect()
}

/// Sends `bytes` on a new connection and reads whatever comes back until
/// the daemon closes or goes quiet.
fn send(socket: &Path, bytes: &[u8]) {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        panic!("{}: the daemon refused a connection", socket.display());
    };
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .expect("write timeout");
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("read timeout");
    // The daemon may close early on a broken frame: write errors are expected.
    let _ = stream.write_all(bytes);
    let mut buf = [0u8; 65536];
    let mut total = 0usize;
    while total < 4 << 20 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("daemon status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

#[test]
fn mutated_traffic_on_every_socket_while_virsh_keeps_working() {
    let mut daemon = Daemon::start();
    let corpus = fuzz::corpus::load(&fuzz::corpus::dir("dispatch")).expect("dispatch corpus");
    assert!(corpus.len() >= 10, "the dispatch corpus is nearly empty");

    // The well-behaved client: virsh over and over until the fuzzing ends.
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let uri = daemon.rw_uri();
    let client = std::thread::spawn(move || {
        let mut runs = 0usize;
        while !stop.load(Ordering::Relaxed) || runs == 0 {
            let out = virsh(&uri, "list --all; dominfo test");
            assert!(
                out.success() && out.stdout.contains("test"),
                "virsh failed during the fuzzing (run {runs}): {}",
                out.stderr
            );
            runs += 1;
        }
        runs
    });

    let sockets = [
        daemon.rw_socket(),
        daemon.ro_socket(),
        daemon.admin_socket(),
    ];
    let mut rng = Rng::new(0x11fe_f022);
    let started = Instant::now();
    let mut sent = 0;
    while sent < INPUTS && started.elapsed() < BUDGET {
        let base = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let (selector, stream) = base.split_first().unwrap_or((&0, &[]));
        let mutated = frames(&mut rng, stream, other.get(1..).unwrap_or(&[]), 256 * 1024);
        let which = usize::from(*selector % 3);
        let bytes = if which == 2 {
            admin_safe(&mutated)
        } else {
            mutated
        };
        send(&sockets[which], &bytes);
        sent += 1;
        assert!(
            daemon.is_running(),
            "the daemon exited after input {sent}; log:\n{}",
            std::fs::read_to_string(daemon.log_file()).unwrap_or_default()
        );
    }
    done.store(true, Ordering::Relaxed);
    let runs = client.join().expect("the virsh loop did not fail");
    assert!(runs >= 1);
    assert!(sent >= 50, "only {sent} inputs were sent");

    assert!(daemon.is_running(), "the daemon exited");
    let out = virsh(&daemon.rw_uri(), "list --all");
    assert!(out.success(), "virsh after the fuzzing: {}", out.stderr);
    virt_admin(&daemon.admin_uri(), "srv-list").expect_success("virt-admin srv-list");
    let rss = rss_kib(daemon.pid());
    assert!(
        rss < RSS_BOUND_KIB,
        "the daemon's resident memory is {rss} KiB after the fuzzing"
    );
}
