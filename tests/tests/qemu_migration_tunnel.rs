//! Tunnelled peer-to-peer migration (`virsh migrate --live --p2p --tunnelled`)
//! between two of our daemons: the source daemon opens a stream on the
//! destination with `virDomainMigratePrepareTunnel3Params`, its QEMU writes the
//! guest into a descriptor the daemon relays as the stream's data, and the
//! destination's QEMU (started with `-incoming defer`) reads it from a
//! descriptor fed by the stream. No QEMU listens on a TCP port. An aborted
//! tunnelled migration leaves the guest running on the source and nothing on
//! the destination.

mod qemu_support;

use std::fs;
use std::time::Duration;

use integration_tests::wait_until;
use qemu_support::{expect_event, listen_events, QemuHost};

fn log(host: &QemuHost) -> String {
    fs::read_to_string(host.root().join("log")).unwrap_or_default()
}

fn cmdline(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// The bytes the source's log says went through the tunnel.
fn tunnelled_bytes(host: &QemuHost) -> u64 {
    log(host)
        .lines()
        .rev()
        .filter(|line| line.contains("guest sent through the migration tunnel"))
        .find_map(|line| {
            let (_, rest) = line.split_once("bytes=")?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// A daemon that also listens on plain TCP (`qemu+tcp://`) on loopback.
fn host_listening_on_tcp() -> (QemuHost, u16) {
    let mut host = QemuHost::start();
    host.kill_daemon();
    let port = integration_tests::daemon::free_tcp_port();
    let conf = host.root().join("etc/libvirt/libvirtd.conf");
    let mut text = fs::read_to_string(&conf).expect("read libvirtd.conf");
    text.push_str(&format!(
        "listen_tls = 0\nlisten_tcp = 1\nauth_tcp = \"none\"\ntcp_port = \"{port}\"\n\
         listen_addr = \"127.0.0.1\"\n"
    ));
    fs::write(&conf, text).expect("write libvirtd.conf");
    host.set_daemon_args(&["--listen"]);
    host.start_daemon();
    let listening = wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(listening, "no TCP listener\n{}", host.diagnostics());
    (host, port)
}

#[test]
fn tunnelled_migration_moves_the_guest_through_the_daemons_stream() {
    let src = QemuHost::start();
    // The source daemon reaches the destination over qemu+tcp.
    let (dst, port) = host_listening_on_tcp();
    let dst_tcp = format!("qemu+tcp://127.0.0.1:{port}/system");
    src.define_guest("t1");
    src.virsh_ok("start t1");
    src.wait_booted("t1", 1);
    let mut dst_events = listen_events(&dst);
    let src_qemu = src.guest_pids();
    assert_eq!(src_qemu.len(), 1);

    src.virsh_ok(&format!(
        "migrate --live --p2p --tunnelled --persistent --undefinesource t1 '{dst_tcp}'"
    ));
    assert_eq!(dst.domstate("t1"), "running (migrated)");
    assert!(
        src.virsh("domstate t1")
            .stderr
            .contains("failed to get domain 't1'"),
        "the source still knows t1"
    );
    expect_event(&mut dst_events, "t1", "Started Migrated");
    expect_event(&mut dst_events, "t1", "Resumed Migrated");
    let gone = wait_until(Duration::from_secs(30), || {
        !std::path::Path::new(&format!("/proc/{}", src_qemu[0])).exists()
    });
    assert!(gone, "QEMU still runs on the source");

    // The guest's state came through the stream: the destination's QEMU
    // waited for a descriptor rather than listening on a port, and the source
    // relayed the guest's memory (the tiny guest has 128 MiB, mostly zero).
    let dst_qemu = dst.guest_pids();
    assert_eq!(dst_qemu.len(), 1, "no QEMU on the destination");
    let args = cmdline(dst_qemu[0]);
    let incoming = args.iter().position(|a| a == "-incoming");
    assert_eq!(
        incoming.and_then(|i| args.get(i + 1)).map(String::as_str),
        Some("defer"),
        "{args:?}"
    );
    assert!(!args.iter().any(|a| a.starts_with("tcp:")), "{args:?}");
    assert!(
        log(&dst).contains("incoming migration through the tunnel"),
        "{}",
        dst.diagnostics()
    );
    assert!(
        tunnelled_bytes(&src) > 1 << 20,
        "the source relayed no guest\n{}",
        src.diagnostics()
    );

    // The same guest, not a new boot.
    dst.virsh_ok("shutdown t1");
    dst.wait_state("t1", "shut off (shutdown)");
    let serial = fs::read_to_string(src.serial_log("t1")).unwrap_or_default();
    assert!(serial.contains("TINY-GUEST-POWEROFF"), "{serial}");
    assert_eq!(src.boot_count("t1"), 1, "the guest rebooted");
}

#[test]
fn aborted_tunnelled_migration_leaves_the_guest_on_the_source() {
    let src = QemuHost::start();
    // Here the destination is reached over qemu+unix.
    let dst = QemuHost::start();
    src.define_guest("t2");
    src.virsh_ok("start t2");
    src.wait_booted("t2", 1);
    // Storage copy does not go through a tunnel.
    let out = src.virsh(&format!(
        "migrate --live --p2p --tunnelled --copy-storage-all t2 '{}'",
        dst.uri()
    ));
    assert!(!out.success(), "tunnelled storage copy succeeded");
    assert!(out.stderr.contains("not supported"), "{}", out.stderr);
    assert_eq!(src.domstate("t2"), "running (booted)");

    // Slow enough (1 MiB/s) that the abort comes first.
    src.virsh_ok("migrate-setspeed t2 1");
    let uri = src.uri();
    let dst_uri = dst.uri();
    let migrate = std::thread::spawn(move || {
        integration_tests::virsh(
            &uri,
            &format!("migrate --live --p2p --tunnelled t2 '{dst_uri}'"),
        )
    });
    let started = wait_until(Duration::from_secs(60), || {
        src.virsh("domjobinfo t2").stdout.contains("Unbounded")
    });
    assert!(started, "no migration job seen\n{}", src.diagnostics());
    let receiving = wait_until(Duration::from_secs(60), || dst.guest_pids().len() == 1);
    assert!(receiving, "no QEMU waits on the destination");
    src.virsh_ok("domjobabort t2");
    let out = migrate.join().expect("virsh thread");
    assert!(!out.success(), "the migration was not aborted");
    assert!(out.stderr.contains("operation aborted"), "{}", out.stderr);
    assert_eq!(src.domstate("t2"), "running (booted)");
    assert!(
        dst.virsh("domstate t2")
            .stderr
            .contains("failed to get domain 't2'"),
        "the destination kept t2"
    );
    let cleaned = wait_until(Duration::from_secs(30), || dst.guest_pids().is_empty());
    assert!(cleaned, "the destination's QEMU still runs");
    // The guest still runs here: it powers off on request.
    src.virsh_ok("shutdown t2");
    src.wait_state("t2", "shut off (shutdown)");
    assert_eq!(src.boot_count("t2"), 1, "the guest rebooted");
}
