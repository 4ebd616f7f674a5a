//! Keepalive is answered outside the worker threads: with every worker of
//! the `libvirtd` server held by a domain start whose qemu `prepare` hook
//! waits for the test, a client's PING is answered with a PONG, clients that
//! answer the daemon's PINGs stay connected, and a client that stops
//! answering is dropped. Only the wire is observed.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration_tests::raw::{encode, RawError};
use integration_tests::{virt_admin, wait_until, Daemon, RawClient};
use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::{keepalive, remote_proc, KEEPALIVE_PROGRAM, REMOTE_PROGRAM};
use protocol::xdr::Xdr;

/// The feature number of PROGRAM_KEEPALIVE in CONNECT_SUPPORTS_FEATURE.
const FEATURE_PROGRAM_KEEPALIVE: i32 = 10;
const GUESTS: [&str; 2] = ["busy-1", "busy-2"];
/// Silent for interval 1 s x (count 2 + 1): dropped after about 3 s.
const DROP_DEADLINE: Duration = Duration::from_secs(20);

/// The `prepare` hook reports that it runs, then blocks reading its guest's
/// fifo until the test writes to it, and refuses the start (no QEMU needed).
fn hook_script(state: &Path) -> String {
    format!(
        "#!/bin/sh\n\
         cat >/dev/null\n\
         if [ \"$2\" = prepare ]; then\n\
           touch '{dir}/waiting-'\"$1\"\n\
           read line < '{dir}/release-'\"$1\"\n\
           echo 'released by the test' >&2\n\
           exit 1\n\
         fi\n\
         exit 0\n",
        dir = state.display()
    )
}

fn guest_xml(name: &str) -> String {
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>\
         <vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
    )
}

/// Releases every waiting hook when the test ends, passed or not, so that
/// no hook outlives it.
struct Release(Vec<PathBuf>);

impl Release {
    fn now(&self) {
        for fifo in &self.0 {
            // Non-blocking: fails when no hook is reading any more.
            if let Ok(mut f) = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(fifo)
            {
                let _ = f.write_all(b"go\n");
            }
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        self.now();
    }
}

fn ping() -> Vec<u8> {
    encode_message(
        &Header::new(KEEPALIVE_PROGRAM, keepalive::PING, MessageType::Message, 0),
        &[],
    )
}

fn pong() -> Vec<u8> {
    encode_message(
        &Header::new(KEEPALIVE_PROGRAM, keepalive::PONG, MessageType::Message, 0),
        &[],
    )
}

/// A client that asked for keepalive and opened `qemu:///system`.
fn keepalive_client(daemon: &Daemon) -> RawClient {
    let mut client = RawClient::unix(&daemon.rw_socket());
    client
        .remote(remote_proc::AUTH_LIST, &[])
        .expect_ok("AUTH_LIST");
    let supported = client
        .remote(
            remote_proc::CONNECT_SUPPORTS_FEATURE,
            &encode(&FEATURE_PROGRAM_KEEPALIVE),
        )
        .expect_ok("SUPPORTS_FEATURE(PROGRAM_KEEPALIVE)");
    assert_eq!(supported, encode(&1i32), "keepalive is supported");
    client
}

fn open_qemu(client: &mut RawClient) {
    let mut args = Vec::new();
    Some("qemu:///system".to_string()).encode(&mut args);
    0u32.encode(&mut args);
    client
        .remote(remote_proc::CONNECT_OPEN, &args)
        .expect_ok("CONNECT_OPEN qemu:///system");
}

/// A client holding a worker: its guest's start waits in the prepare hook.
struct Busy {
    client: RawClient,
    create_serial: u32,
    pongs: usize,
    pings_answered: usize,
}

impl Busy {
    /// Reads what arrived within `wait`: answers PINGs, counts PONGs. The
    /// start's reply must not come while the hooks wait.
    fn service(&mut self, wait: Duration, name: &str) {
        match self.client.next_message(wait) {
            Ok(Some(m)) => {
                let h = m.header;
                if h.prog == KEEPALIVE_PROGRAM && h.proc_ == keepalive::PING {
                    self.client.send_bytes(&pong()).expect("answer PING");
                    self.pings_answered += 1;
                } else if h.prog == KEEPALIVE_PROGRAM && h.proc_ == keepalive::PONG {
                    self.pongs += 1;
                } else {
                    panic!("{name}: unexpected message while its start waits: {h:?}");
                }
            }
            Ok(None) => panic!("{name}: dropped by the daemon while its start waits"),
            Err(RawError::Timeout(_)) => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn pings_are_answered_and_silent_peers_dropped_while_every_worker_is_busy() {
    let state = tempfile::Builder::new()
        .prefix("keepalive-busy-")
        .tempdir()
        .expect("state directory");
    let fifos: Vec<PathBuf> = GUESTS
        .iter()
        .map(|g| state.path().join(format!("release-{g}")))
        .collect();
    for fifo in &fifos {
        nix::unistd::mkfifo(fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    }
    let release = Release(fifos);
    let daemon = Daemon::builder()
        .conf("max_workers = 2")
        .conf("min_workers = 2")
        .conf("prio_workers = 0")
        .conf("keepalive_interval = 1")
        .conf("keepalive_count = 2")
        .file("etc/libvirt/hooks/qemu", hook_script(state.path()), 0o755)
        .start();

    // Two clients, each starting a guest: both workers wait in the hook.
    let mut busy: Vec<Busy> = GUESTS
        .iter()
        .map(|name| {
            let mut client = keepalive_client(&daemon);
            open_qemu(&mut client);
            let mut xml = Vec::new();
            guest_xml(name).encode(&mut xml);
            let dom = client
                .remote(remote_proc::DOMAIN_DEFINE_XML, &xml)
                .expect_ok("DOMAIN_DEFINE_XML");
            let mut args = dom;
            0u32.encode(&mut args);
            let create_serial = client
                .send_call(REMOTE_PROGRAM, remote_proc::DOMAIN_CREATE_WITH_FLAGS, &args)
                .expect("send DOMAIN_CREATE_WITH_FLAGS");
            Busy {
                client,
                create_serial,
                pongs: 0,
                pings_answered: 0,
            }
        })
        .collect();
    let all_waiting = wait_until(Duration::from_secs(60), || {
        GUESTS
            .iter()
            .all(|g| state.path().join(format!("waiting-{g}")).exists())
    });
    assert!(
        all_waiting,
        "the prepare hooks did not both start; daemon log:\n{}",
        fs::read_to_string(daemon.log_file()).unwrap_or_default()
    );

    // The admin server, which has workers of its own, says so too.
    let pool = virt_admin(&daemon.admin_uri(), "srv-threadpool-info libvirtd")
        .expect_success("srv-threadpool-info libvirtd");
    let free: Vec<&str> = pool
        .stdout
        .lines()
        .filter(|l| l.starts_with("freeWorkers"))
        .filter_map(|l| l.split(':').nth(1))
        .map(str::trim)
        .collect();
    assert_eq!(free, ["0"], "workers not all busy:\n{}", pool.stdout);

    // A third client asks for keepalive, then stops answering.
    let mut silent = keepalive_client(&daemon);
    for b in &mut busy {
        b.client.send_bytes(&ping()).expect("send PING");
    }
    let asked = Instant::now();
    let mut dropped = false;
    while !dropped {
        assert!(
            asked.elapsed() < DROP_DEADLINE,
            "the silent client was not dropped within {DROP_DEADLINE:?}"
        );
        for (b, name) in busy.iter_mut().zip(GUESTS) {
            b.service(Duration::from_millis(20), name);
        }
        match silent.next_message(Duration::from_millis(20)) {
            Ok(Some(m)) => {
                let h = m.header;
                assert_eq!(
                    (h.prog, h.proc_),
                    (KEEPALIVE_PROGRAM, keepalive::PING),
                    "the silent client got something else than a PING"
                );
                silent.pings_received += 1;
            }
            Ok(None) | Err(RawError::Closed) => dropped = true,
            Err(RawError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                dropped = true
            }
            Err(RawError::Timeout(_)) => {}
            Err(e) => panic!("silent client: {e}"),
        }
    }
    assert!(
        silent.pings_received >= 1,
        "the silent client was dropped without being PINGed"
    );
    // The busy clients outlived the silent one, which asked for keepalive
    // after them; each PING of theirs got its PONG.
    for (b, name) in busy.iter_mut().zip(GUESTS) {
        let answered = wait_until(Duration::from_secs(10), || {
            b.service(Duration::from_millis(20), name);
            b.pongs >= 1
        });
        assert!(answered, "{name}: no PONG while every worker is busy");
        b.client.send_bytes(&ping()).expect("send a second PING");
        let before = b.pongs;
        let answered = wait_until(Duration::from_secs(10), || {
            b.service(Duration::from_millis(20), name);
            b.pongs > before
        });
        assert!(answered, "{name}: no PONG to the second PING");
    }

    // Released, the starts fail with the hook's message and the clients
    // carry on.
    release.now();
    for (b, name) in busy.iter_mut().zip(GUESTS) {
        let err = b
            .client
            .wait_reply(b.create_serial)
            .unwrap_or_else(|e| panic!("{name}: no reply to the start: {e}"))
            .expect_err("start refused by the hook");
        assert!(
            err.message
                .as_deref()
                .is_some_and(|m| m.contains("released by the test")),
            "{name}: {err:?}"
        );
        let reply = b
            .client
            .remote(remote_proc::CONNECT_GET_HOSTNAME, &[])
            .expect_ok("GET_HOSTNAME after the start");
        assert!(!reply.is_empty());
    }
}
