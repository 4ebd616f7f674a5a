//! A console whose client does not read: the container's output is held
//! back (its writes to the console block) instead of growing the daemon,
//! being dropped, or getting the client disconnected; other clients are
//! served meanwhile, and once the client reads it gets every line in order.
//! The other way, console input a container does not read waits in the
//! client's socket, not in the daemon.

mod lxc_common;

use std::fs;
use std::time::{Duration, Instant};

use integration_tests::{virsh, wait_until, Daemon};
use lxc_common::*;
use protocol::header::{MessageType, Status};
use protocol::programs::{remote_proc, REMOTE_PROGRAM};

/// Numbered lines as fast as the console takes them; `/progress` says how
/// far the container got.
const FLOOD_INIT: &str = r#"
pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
i=0
while true; do
  i=$((i+1))
  echo "L$i $pad"
  echo $i > /progress
done
"#;

/// Growth of the daemon's memory allowed while the console is held back.
const RSS_GROWTH_MAX_KIB: u64 = 16 * 1024;

fn rss_kib(pid: i32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("daemon status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// The container's last line number; the file is rewritten in place, so a
/// read that catches it empty is retried.
fn progress(rootfs: &RootFs) -> u64 {
    let path = rootfs.path().join("progress");
    let mut value = None;
    wait_until(Duration::from_secs(5), || {
        value = fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        value.is_some()
    });
    value.unwrap_or(0)
}

/// Line numbers of the `L<n> ...` lines in `text` (console line ends are \r\n).
fn numbers(text: &str) -> Vec<u64> {
    text.split('\n')
        .filter_map(|l| l.trim_end_matches('\r').strip_prefix('L'))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn a_console_client_that_does_not_read_holds_the_container_back() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("bpcons");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(FLOOD_INIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");
    assert!(
        wait_until(CONTAINER_TIMEOUT, || progress(&rootfs) > 0),
        "the container never started writing"
    );

    let rss_before = rss_kib(daemon.pid());
    let (mut slow, serial) = send_open_console(&daemon.rw_socket(), &name);
    // From here the client reads nothing until the container is held back.

    // Held back: the container's progress stops (its console writes block).
    let deadline = Instant::now() + CONTAINER_TIMEOUT;
    let mut last = progress(&rootfs);
    loop {
        assert!(
            Instant::now() < deadline,
            "the container kept writing while its console client read nothing (at line {last})"
        );
        let moved = wait_until(Duration::from_secs(2), || progress(&rootfs) != last);
        if !moved {
            break;
        }
        last = progress(&rootfs);
    }
    let held_at = last;

    let grown = rss_kib(daemon.pid()).saturating_sub(rss_before);
    assert!(
        grown < RSS_GROWTH_MAX_KIB,
        "the daemon grew by {grown} KiB while the console was held back"
    );
    // Others are served meanwhile.
    let out = virsh(&uri, "list --all");
    assert!(out.success() && out.stdout.contains(&name), "{out}");

    // The slow client was not dropped: it reads the reply, then every line
    // from where it joined, in order, and the container moves on.
    let mut seen = Vec::new();
    let mut replied = false;
    let deadline = Instant::now() + CONTAINER_TIMEOUT;
    while seen.last().is_none_or(|n| *n <= held_at + 100) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the console never resumed past line {held_at}"
        );
        let message = slow
            .next_message(left)
            .expect("console data")
            .unwrap_or_else(|| panic!("the slow client was disconnected\n{}", daemon.log()));
        let h = message.header;
        if h.serial != serial {
            continue;
        }
        if h.message_type() == Some(MessageType::Reply) {
            assert_eq!(h.status, Status::Ok as u32, "open console");
            replied = true;
        } else if h.message_type() == Some(MessageType::Stream) {
            assert!(replied, "the reply comes before the console's bytes");
            seen.extend(numbers(&String::from_utf8_lossy(&message.body)));
        }
    }
    for pair in seen.windows(2) {
        assert_eq!(
            pair[1],
            pair[0] + 1,
            "console lines were lost between {} and {}",
            pair[0],
            pair[1]
        );
    }
    assert!(progress(&rootfs) > held_at, "the container moves on");
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}

/// An init that never reads its console.
const DEAF_INIT: &str = "sleep 100000\n";

/// Console input the test offers a container that never reads it.
const INPUT_OFFERED: usize = 64 * 1024 * 1024;

#[test]
fn console_input_a_container_does_not_read_waits_with_the_client() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("bpin");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(DEAF_INIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");

    let (mut pushy, serial) = send_open_console(&daemon.rw_socket(), &name);
    pushy
        .wait_reply(serial)
        .expect("reply")
        .expect_ok("open console");
    let rss_before = rss_kib(daemon.pid());

    // A thread offers the input; it blocks once the daemon stops reading.
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut data = protocol::header::Header::new(
        REMOTE_PROGRAM,
        remote_proc::DOMAIN_OPEN_CONSOLE,
        MessageType::Stream,
        serial,
    );
    data.status = Status::Continue as u32;
    let message = protocol::frame::encode_message(&data, &[b'a'; 64 * 1024]);
    let _sender = std::thread::spawn({
        let sent = sent.clone();
        move || {
            while sent.load(std::sync::atomic::Ordering::Relaxed) < INPUT_OFFERED {
                if pushy.send_bytes(&message).is_err() {
                    return;
                }
                sent.fetch_add(message.len(), std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    let sent_now = || sent.load(std::sync::atomic::Ordering::Relaxed);
    let deadline = Instant::now() + CONTAINER_TIMEOUT;
    let mut last = sent_now();
    loop {
        assert!(
            last < INPUT_OFFERED,
            "the daemon took all {INPUT_OFFERED} bytes of input the container never reads"
        );
        assert!(
            Instant::now() < deadline,
            "the input never stopped at {last}"
        );
        if !wait_until(Duration::from_secs(2), || sent_now() != last) {
            break;
        }
        last = sent_now();
    }
    let grown = rss_kib(daemon.pid()).saturating_sub(rss_before);
    assert!(
        grown < RSS_GROWTH_MAX_KIB,
        "the daemon grew by {grown} KiB holding console input"
    );
    let out = virsh(&uri, "list --all");
    assert!(out.success() && out.stdout.contains(&name), "{out}");
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}
