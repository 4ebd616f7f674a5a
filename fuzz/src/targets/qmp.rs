//! The QMP client reading what a QEMU monitor sends: the input is played
//! by a fake monitor on a unix socket, line by line in protocol order
//! (greeting, then the reply to the capability negotiation, then the reply
//! to one command), with events and junk anywhere in between.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use drivers::qemu::qmp::Monitor;

use super::{mutate_text, Features, Target};

pub const TARGET: Target = Target {
    name: "qmp",
    run,
    mutate: mutate_text,
    ci_iterations: 1_500,
};

/// How long the fake monitor waits for the client's next command.
const PEER_WAIT: Duration = Duration::from_secs(2);

fn run(input: &[u8]) -> Features {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("monitor.sock");
    let listener = UnixListener::bind(&path).expect("bind the fake monitor");
    let script = input.to_vec();
    let monitor = std::thread::spawn(move || play(listener, &script));

    let mut sig = Features::default();
    let events = Arc::new(AtomicUsize::new(0));
    let seen = events.clone();
    let on_event = Box::new(move |ev: Option<drivers::qemu::qmp::QmpEvent>| {
        if ev.is_some() {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    match Monitor::connect(&path, deadline, || true, on_event) {
        Ok(client) => match client.execute("query-status", None) {
            Ok(value) => sig.add(("return", value.is_object())),
            Err(e) => sig.add_kind("execute", &e),
        },
        Err(e) => sig.add_kind("connect", &e),
    }
    monitor.join().expect("the fake monitor does not panic");
    sig.add(("events", events.load(Ordering::Relaxed).min(4)));
    sig
}

/// Sends the greeting, waits for a command, sends lines up to the first
/// reply, waits for the next command, sends the rest and hangs up.
fn play(listener: UnixListener, script: &[u8]) {
    let Ok((stream, _)) = listener.accept() else {
        return;
    };
    let _ = stream.set_read_timeout(Some(PEER_WAIT));
    let mut writer = stream.try_clone().expect("clone the monitor socket");
    let mut reader = BufReader::new(stream);
    let mut lines = script.split_inclusive(|b| *b == b'\n').peekable();
    let mut command = Vec::new();
    if let Some(greeting) = lines.next() {
        let _ = writer.write_all(greeting);
    }
    for _ in 0..2 {
        // Nothing left, or a last line without its end: the client can only
        // be waiting for more, so hang up instead of waiting for a command.
        if lines.peek().is_none_or(|l| !l.ends_with(b"\n")) {
            break;
        }
        command.clear();
        if !matches!(reader.read_until(b'\n', &mut command), Ok(n) if n > 0) {
            break;
        }
        for line in lines.by_ref() {
            let _ = writer.write_all(line);
            if is_reply(line) {
                break;
            }
        }
    }
    for line in lines {
        let _ = writer.write_all(line);
    }
    let _ = writer.shutdown(std::net::Shutdown::Both);
}

fn is_reply(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    (text.contains("\"return\"") || text.contains("\"error\"")) && !text.contains("\"event\"")
}
