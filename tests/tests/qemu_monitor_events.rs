//! QMP events of a running guest reach clients: `virsh qemu-monitor-event` gets
//! the raw events (name, timestamp, QEMU's data) filtered by name, case-blind
//! name or regular expression, and `virsh event` gets libvirt's graphics event
//! when a VNC client connects, completes its RFB handshake and leaves; both read
//! as under the real libvirtd 9.0 (which the second test runs for comparison).

mod qemu_reference;
mod qemu_support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use integration_tests::{virsh_command, EventListener};
use qemu_reference::{GuestReaper, ReferenceDaemon};
use qemu_support::{listen_events, QemuHost};

/// `virsh qemu-monitor-event --loop` with `args` on this daemon.
fn monitor_listener(host: &QemuHost, args: &[&str]) -> EventListener {
    monitor_listener_on(&host.uri(), args)
}

fn monitor_listener_on(uri: &str, args: &[&str]) -> EventListener {
    let mut command = virsh_command();
    command
        .args(["-c", uri, "qemu-monitor-event", "--loop"])
        .args(args);
    EventListener::spawn_command(command)
}

/// Pauses and resumes `name` until every listener printed a line containing
/// `wanted` (so their registrations are known to be in place).
fn cycle_until_seen(host: &QemuHost, name: &str, listeners: &mut [(&mut EventListener, &str)]) {
    cycle_on(
        &|c: &str| {
            host.virsh_ok(c);
        },
        name,
        listeners,
    )
}

fn cycle_on(virsh: &dyn Fn(&str), name: &str, listeners: &mut [(&mut EventListener, &str)]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pending: Vec<usize> = (0..listeners.len()).collect();
    while !pending.is_empty() {
        assert!(Instant::now() < deadline, "listeners saw no event");
        virsh(&format!("suspend {name}"));
        virsh(&format!("resume {name}"));
        pending.retain(|&i| {
            let (listener, wanted) = &mut listeners[i];
            assert!(
                listener.is_alive(),
                "listener exited:\n{}",
                listener.finish()
            );
            listener
                .wait_for_line(Duration::from_millis(500), |l| l.contains(*wanted))
                .is_none()
        });
    }
}

/// A VNC client that completes the RFB 3.8 handshake with no authentication
/// (version, security type 1, ClientInit) and reads the ServerInit.
fn rfb_handshake(port: u16) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to VNC");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut version = [0u8; 12];
    s.read_exact(&mut version).expect("server version");
    assert!(version.starts_with(b"RFB 003."), "{version:?}");
    s.write_all(b"RFB 003.008\n").expect("client version");
    let mut count = [0u8; 1];
    s.read_exact(&mut count).expect("security type count");
    let mut types = vec![0u8; usize::from(count[0])];
    s.read_exact(&mut types).expect("security types");
    assert!(types.contains(&1), "no 'None' security type: {types:?}");
    s.write_all(&[1]).expect("choose None");
    let mut result = [0u8; 4];
    s.read_exact(&mut result).expect("security result");
    assert_eq!(result, [0; 4], "security handshake failed");
    s.write_all(&[1]).expect("ClientInit (shared)");
    let mut server_init = [0u8; 24];
    s.read_exact(&mut server_init).expect("ServerInit");
}

#[test]
fn qmp_events_reach_monitor_and_graphics_listeners() {
    let host = QemuHost::start();
    let xml = host.guest_xml("g").replace(
        "</devices>",
        "<graphics type='vnc' port='-1' listen='127.0.0.1'/></devices>",
    );
    let file = host.root().join("g.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start g");

    let mut exact = monitor_listener(&host, &["--domain", "g", "--event", "STOP"]);
    let mut nocase = monitor_listener(&host, &["--event", "resume", "--no-case"]);
    let mut pattern = monitor_listener(&host, &["--event", "^(RESUME|VNC_[A-Z]+)$", "--regex"]);
    let mut all = monitor_listener(&host, &[]);
    cycle_until_seen(
        &host,
        "g",
        &mut [
            (&mut exact, "event STOP at "),
            (&mut nocase, "event RESUME at "),
            (&mut pattern, "event RESUME at "),
            (&mut all, "event STOP at "),
        ],
    );
    // virsh prints "event NAME at SECONDS.MICROS for domain 'g': DETAILS".
    let line = all
        .seen
        .iter()
        .find(|l| l.contains("event STOP at "))
        .expect("STOP");
    let stamp = line["event STOP at ".len()..]
        .split(' ')
        .next()
        .unwrap_or("");
    let (secs, micros) = stamp.split_once('.').expect("seconds.micros");
    assert!(
        secs.parse::<i64>().is_ok_and(|s| s > 1_600_000_000) && micros.len() == 6,
        "{line}"
    );
    assert!(line.contains("for domain 'g'"), "{line}");

    let mut graphics = listen_events(&host);
    let display = host.virsh_ok("vncdisplay g");
    let display: u16 = display
        .trim()
        .rsplit(':')
        .next()
        .and_then(|d| d.parse().ok())
        .expect("display number");
    rfb_handshake(5900 + display);

    // virsh prints "event 'graphics' for domain 'g': PHASE local[IPv4 HOST PORT]
    // remote[IPv4 HOST PORT] AUTH".
    let local = format!("local[IPv4 127.0.0.1 {}]", 5900 + display);
    for phase in ["connect", "initialize", "disconnect"] {
        let prefix = format!("event 'graphics' for domain 'g': {phase} ");
        let seen = graphics.wait_for_line(Duration::from_secs(30), |l| l.starts_with(&prefix));
        let line = seen.unwrap_or_else(|| panic!("no graphics {phase}\n{}", graphics.finish()));
        assert!(
            line.contains(&local)
                && line.contains("remote[IPv4 127.0.0.1 ")
                && line.ends_with("] none"),
            "{line}"
        );
    }

    let vnc = pattern.wait_for_line(Duration::from_secs(30), |l| {
        l.contains("event VNC_INITIALIZED at ")
    });
    let vnc = vnc.unwrap_or_else(|| panic!("no VNC_INITIALIZED\n{}", pattern.finish()));
    assert!(
        vnc.contains("\"server\":{") && vnc.contains("\"client\":{"),
        "{vnc}"
    );

    // Each filter let through only its own events.
    for (listener, forbidden) in [
        (&mut exact, "RESUME"),
        (&mut nocase, "STOP"),
        (&mut pattern, "STOP"),
    ] {
        let _ = listener.wait_for_line(Duration::from_millis(200), |_| false);
        assert!(
            !listener
                .seen
                .iter()
                .any(|l| l.contains(&format!("event {forbidden} "))),
            "{forbidden} passed the filter:\n{}",
            listener.finish()
        );
    }
    assert!(
        !exact.seen.iter().any(|l| l.contains("VNC_")),
        "{}",
        exact.finish()
    );

    // A registration that times out is deregistered (virsh reports an error when
    // that fails).
    let out = host.virsh("qemu-monitor-event --domain g --event NO_SUCH_EVENT --timeout 1");
    assert!(
        out.stdout.contains("events received: 0") && !out.stderr.contains("error"),
        "{out}"
    );

    // A pattern that does not compile is refused as libvirt refuses it.
    let out = host.virsh("qemu-monitor-event --event '(' --regex --timeout 1");
    assert!(
        !out.success() && out.stderr.contains("failed to compile regex '('"),
        "{out}"
    );
    host.virsh_ok("destroy g");
}

/// The graphics and monitor events of one guest under one daemon, for
/// comparison: digits (timestamps, ports) become `N`, the guest's name `D`.
fn event_transcript(
    uri: &str,
    virsh: &dyn Fn(&str) -> String,
    events: &mut EventListener,
    name: &str,
) -> Vec<String> {
    let mut monitor = monitor_listener_on(uri, &["--domain", name]);
    cycle_on(
        &|c: &str| {
            virsh(c);
        },
        name,
        &mut [(&mut monitor, "event RESUME at "), (events, "Resumed")],
    );
    let display: u16 = virsh(&format!("vncdisplay {name}"))
        .trim()
        .rsplit(':')
        .next()
        .and_then(|d| d.parse().ok())
        .expect("display number");
    rfb_handshake(5900 + display);
    let graphics_done = events.wait_for_line(Duration::from_secs(30), |l| {
        l.contains("graphics") && l.contains(": disconnect ")
    });
    assert!(graphics_done.is_some(), "{}", events.finish());
    let monitor_done = monitor.wait_for_line(Duration::from_secs(30), |l| {
        l.contains("event VNC_DISCONNECTED ")
    });
    assert!(monitor_done.is_some(), "{}", monitor.finish());
    let normal = |l: &str| {
        let l = l.replace(&format!("'{name}'"), "'D'");
        let mut out = String::new();
        for c in l.chars() {
            if c.is_ascii_digit() {
                if !out.ends_with('N') {
                    out.push('N');
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    let mut lines: Vec<String> = monitor
        .seen
        .iter()
        .filter(|l| l.contains("event VNC_"))
        .map(|l| normal(l))
        .collect();
    lines.extend(
        events
            .seen
            .iter()
            .filter(|l| l.contains("'graphics'"))
            .map(|l| normal(l)),
    );
    lines
}

#[test]
fn monitor_and_graphics_events_read_as_with_libvirtd() {
    let host = QemuHost::start();
    let vnc = |xml: String| {
        xml.replace(
            "</devices>",
            "<graphics type='vnc' port='-1' listen='127.0.0.1'/></devices>",
        )
    };
    let file = host.root().join("ours.xml");
    fs::write(&file, vnc(host.guest_xml("ours"))).expect("write xml");
    host.virsh_ok(&format!("create {}", file.display()));
    let mut our_events = EventListener::spawn(&host.uri());
    let ours = event_transcript(
        &host.uri(),
        &|c: &str| host.virsh_ok(c),
        &mut our_events,
        "ours",
    );

    let real = ReferenceDaemon::start("");
    let theirs = format!("monref{}", std::process::id());
    let _reaper = GuestReaper(theirs.clone());
    let file = host.root().join("theirs.xml");
    fs::write(&file, vnc(host.guest_xml(&theirs))).expect("write xml");
    real.virsh_ok(&format!("create {}", file.display()));
    let mut their_events = EventListener::spawn(&real.uri());
    let reference = event_transcript(
        &real.uri(),
        &|c: &str| real.virsh_ok(c),
        &mut their_events,
        &theirs,
    );
    assert_eq!(ours, reference);
    assert_eq!(ours.len(), 6, "{ours:#?}");
}
