//! Hostile local clients: 22 connections that flood keepalive PINGs and never
//! read, and 30 that connect and never authenticate. The daemon keeps
//! serving: a fresh `virsh list` and a new authenticating client get in,
//! `virt-admin client-disconnect` removes a flooder whose writes are stuck,
//! and memory stays bounded because a client's outgoing queue is bounded
//! (the daemon stops reading a client that does not read its replies).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use integration_tests::tools::CLIENT_TIMEOUT;
use integration_tests::{virsh, virt_admin, wait_until, Daemon, DaemonBuilder, RawClient};
use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::{keepalive, remote_proc, KEEPALIVE_PROGRAM, REMOTE_PROGRAM};

const FLOODERS: usize = 22;
const PINGS_EACH: usize = 20_000;
const SILENT: usize = 30;
/// How much the daemon's RSS may grow under the whole flood. Bounded
/// queues hold at most ~64 KiB of PONGs per flooder (~1.4 MiB in all);
/// an unbounded queue would hold every PONG, 22 × 20,000 × 28 B ≈ 12 MiB.
const RSS_GROWTH_BOUND_KIB: u64 = 6 * 1024;
/// A flooder whose send blocks this long is stuck: the daemon stopped
/// reading it.
const STUCK_AFTER: Duration = Duration::from_secs(3);

fn vm_rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("daemon status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// Client IDs `virt-admin srv-clients-list libvirtd` shows.
fn client_ids(daemon: &Daemon) -> Vec<u64> {
    let out = virt_admin(&daemon.admin_uri(), "srv-clients-list libvirtd");
    assert!(out.success(), "srv-clients-list: {out}");
    out.stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Connects, sends AUTH_LIST (which authenticates root on the local
/// socket) and then PINGs without ever reading. Returns the socket and
/// whether every PING went out.
fn flood(daemon: &Daemon) -> thread::JoinHandle<(UnixStream, bool)> {
    let mut stream = UnixStream::connect(daemon.rw_socket()).expect("connect flooder");
    let auth = Header::new(REMOTE_PROGRAM, remote_proc::AUTH_LIST, MessageType::Call, 0);
    stream
        .write_all(&encode_message(&auth, &[]))
        .expect("send AUTH_LIST");
    thread::spawn(move || {
        stream
            .set_write_timeout(Some(STUCK_AFTER))
            .expect("send timeout");
        let ping = Header::new(KEEPALIVE_PROGRAM, keepalive::PING, MessageType::Message, 0);
        let pings = encode_message(&ping, &[]).repeat(PINGS_EACH);
        let done = stream.write_all(&pings).is_ok();
        (stream, done)
    })
}

#[test]
fn flooding_and_silent_clients_do_not_shut_out_others() {
    let daemon = DaemonBuilder::new()
        // Silent clients stay until something closes them.
        .conf("auth_timeout = 0")
        .start();
    let pid = daemon.pid();
    let warm_up = virsh(&daemon.rw_uri(), "list --all");
    assert!(warm_up.success(), "{warm_up}");
    assert!(
        wait_until(CLIENT_TIMEOUT, || client_ids(&daemon).is_empty()),
        "warm-up client still listed"
    );
    let rss_before = vm_rss_kib(pid);

    let flooders: Vec<_> = (0..FLOODERS).map(|_| flood(&daemon)).collect();
    assert!(
        wait_until(CLIENT_TIMEOUT, || client_ids(&daemon).len() == FLOODERS),
        "flooders not all connected: {:?}",
        client_ids(&daemon)
    );
    let flooder_ids = client_ids(&daemon);
    let silent: Vec<UnixStream> = (0..SILENT)
        .map(|_| UnixStream::connect(daemon.rw_socket()).expect("connect silent client"))
        .collect();
    let flooders: Vec<(UnixStream, bool)> = flooders
        .into_iter()
        .map(|f| f.join().expect("flooder thread"))
        .collect();
    let stuck = flooders.iter().filter(|(_, done)| !done).count();

    let rss_during = vm_rss_kib(pid);
    eprintln!("daemon RSS {rss_before} KiB before, {rss_during} KiB during the flood ({stuck} flooders stopped)");
    assert!(
        rss_during < rss_before + RSS_GROWTH_BOUND_KIB,
        "RSS grew from {rss_before} KiB to {rss_during} KiB under the flood \
         ({stuck} of {FLOODERS} flooders were stopped)"
    );

    // A fresh client that authenticates gets in although
    // max_anonymous_clients (20) silent clients are connected.
    let out = virsh(&daemon.rw_uri(), "list --all");
    assert!(out.success(), "virsh list during the flood: {out}");
    assert!(out.stdout.contains(" test "), "{out}");
    let mut newcomer = RawClient::unix(&daemon.rw_socket());
    newcomer
        .remote(remote_proc::AUTH_LIST, &[])
        .expect_ok("AUTH_LIST of a new client while silent clients hold every anonymous slot");

    // The stuck flooder is removed on request although its writes block.
    let victim = flooder_ids[0];
    let out = virt_admin(
        &daemon.admin_uri(),
        &format!("client-disconnect libvirtd {victim}"),
    );
    assert!(out.success(), "client-disconnect {victim}: {out}");
    assert!(
        wait_until(CLIENT_TIMEOUT, || !client_ids(&daemon).contains(&victim)),
        "client {victim} still listed after client-disconnect: {:?}",
        client_ids(&daemon)
    );
    assert!(
        daemon
            .log()
            .contains("closing the longest silent unauthenticated client"),
        "silent clients were not the ones closed:\n{}",
        daemon.log()
    );
    let others = client_ids(&daemon);
    assert!(
        flooder_ids[1..].iter().all(|id| others.contains(id)),
        "authenticated flooders must stay until disconnected: {others:?}"
    );
    drop(silent);
    drop(flooders);
}
