//! `virsh console` of a container: DOMAIN_OPEN_CONSOLE opens an RPC stream
//! whose STREAM messages carry the console's bytes both ways, relayed by the
//! container's supervisor.

mod lxc_common;

use std::fs;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use integration_tests::{virsh, Daemon, RawClient};
use lxc_common::*;
use protocol::header::{Header, MessageType, Status};
use protocol::programs::{remote_proc, REMOTE_PROGRAM};

/// An init that answers each console line, so input and output are both seen.
const ECHO_INIT: &str = r#"
echo console-ready
while read line; do echo "got:$line"; done
sleep 100000
"#;

fn start_container(daemon: &Daemon, test: &str) -> (String, RootFs, ContainerCleanup) {
    let uri = lxc_uri_of(daemon);
    let name = container_name(test);
    let cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(ECHO_INIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");
    (name, rootfs, cleanup)
}

/// Reads stream data of `serial` until `want` appears in it.
fn read_stream_until(client: &mut RawClient, serial: u32, want: &str) -> String {
    let deadline = Instant::now() + CONTAINER_TIMEOUT;
    let mut seen = String::new();
    while !seen.contains(want) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "never saw {want:?} on the console; got {seen:?}"
        );
        let Ok(Some(message)) = client.next_message(left) else {
            panic!("stream ended before {want:?}; got {seen:?}");
        };
        let h = message.header;
        if h.message_type() == Some(MessageType::Stream) && h.serial == serial {
            assert_eq!(h.proc_, remote_proc::DOMAIN_OPEN_CONSOLE);
            assert_eq!(h.status, Status::Continue as u32);
            seen.push_str(&String::from_utf8_lossy(&message.body));
        }
    }
    seen
}

#[test]
fn console_stream_carries_bytes_both_ways() {
    require_container_host();
    let daemon = Daemon::start();
    let (name, _rootfs, _cleanup) = start_container(&daemon, "cons");

    let (mut client, serial) = send_open_console(&daemon.rw_socket(), &name);
    client
        .wait_reply(serial)
        .expect("reply")
        .expect_ok("open console");

    let mut data = Header::new(
        REMOTE_PROGRAM,
        remote_proc::DOMAIN_OPEN_CONSOLE,
        MessageType::Stream,
        serial,
    );
    data.status = Status::Continue as u32;
    client
        .send_bytes(&protocol::frame::encode_message(&data, b"hello-console\n"))
        .expect("send console input");
    let seen = read_stream_until(&mut client, serial, "got:hello-console");
    assert!(seen.contains("got:hello-console"), "{seen}");

    // Finish: the daemon answers with an empty OK on the same stream.
    let mut finish = data;
    finish.status = Status::Ok as u32;
    client
        .send_bytes(&protocol::frame::encode_message(&finish, &[]))
        .expect("finish");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = client
            .next_message(left)
            .expect("finish reply")
            .expect("connection open");
        let h = message.header;
        if h.message_type() == Some(MessageType::Stream) && h.status == Status::Ok as u32 {
            assert_eq!(h.serial, serial);
            assert!(message.body.is_empty());
            break;
        }
    }
    virsh(&lxc_uri_of(&daemon), &format!("destroy {name}")).expect_success("destroy");
}

#[test]
fn virsh_console_reaches_the_container() {
    require_container_host();
    assert!(
        Command::new("script").arg("--version").output().is_ok(),
        "`script` is missing: install the Debian package bsdutils"
    );
    let daemon = Daemon::start();
    let (name, _rootfs, _cleanup) = start_container(&daemon, "vcons");
    let uri = lxc_uri_of(&daemon);
    // virsh console wants a terminal: `script` gives it one; 0x1d (Ctrl+])
    // ends the session.
    let mut child = Command::new("script")
        .args([
            "-q",
            "-e",
            "-c",
            &format!("virsh -c '{uri}' console {name}"),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run script");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let wait_for = |want: &str, seen: &mut String| {
        let deadline = Instant::now() + CONTAINER_TIMEOUT;
        while !seen.contains(want) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => return false,
            }
        }
        true
    };
    let attached = wait_for("Escape character", &mut seen);
    // virsh switches the terminal to raw mode after that line and discards
    // what was typed before (TCSAFLUSH), so type again until the echo comes.
    let mut echoed = false;
    let deadline = Instant::now() + CONTAINER_TIMEOUT;
    while attached && !echoed && Instant::now() < deadline {
        stdin.write_all(b"via-virsh\r").expect("type a line");
        stdin.flush().expect("flush");
        let wait_until = Instant::now() + Duration::from_secs(1);
        while !seen.contains("got:via-virsh") {
            let left = wait_until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => break,
            }
        }
        echoed = seen.contains("got:via-virsh");
    }
    let _ = stdin.write_all(&[0x1d]);
    drop(stdin);
    let mut status = None;
    let exited = integration_tests::wait_until(Duration::from_secs(10), || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
    let exited = status;
    let _ = reader.join();
    while let Ok(chunk) = rx.try_recv() {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(attached, "virsh did not attach:\n{seen}");
    assert!(
        echoed,
        "the typed line never came back from the container:\n{seen}"
    );
    assert!(
        exited.is_some_and(|s| s.success()),
        "virsh did not leave on Ctrl+]: {exited:?}\n{seen}"
    );
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}
