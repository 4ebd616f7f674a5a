//! A QMP client: connect to QEMU's monitor socket, negotiate, run commands (replies
//! matched by id) and hand asynchronous events to a callback on a reader thread.
//!
//! Commands block the caller until the reply arrives, so they must never be issued from
//! the event callback itself (that thread delivers the replies).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long a command may take before the caller gives up on it: a stopped or
/// hung QEMU must not hold a worker thread (and the domain's job) for ever. A
/// reply that arrives later is dropped (replies are matched by id).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    #[error("cannot talk to the monitor: {0}")]
    Io(#[from] std::io::Error),
    #[error("monitor connection closed")]
    Closed,
    #[error("timed out waiting for the monitor")]
    Timeout,
    #[error("the QEMU process exited before its monitor was ready")]
    ProcessGone,
    #[error("{0}")]
    Command(String),
    #[error("malformed monitor data: {0}")]
    BadJson(String),
}

/// An asynchronous QMP event.
#[derive(Clone, Debug, PartialEq)]
pub struct QmpEvent {
    pub name: String,
    pub data: Value,
    /// QEMU's timestamp (-1 and 0 when the event carries none, as libvirt reports it).
    pub seconds: i64,
    pub micros: u32,
    /// The `data` member as QEMU sent it (key order kept), without whitespace:
    /// what `qemu-monitor-event` clients receive.
    pub details: Option<String>,
}

impl QmpEvent {
    /// The event of one monitor line, or `None` when the line is no event.
    pub fn parse(line: &str) -> Option<QmpEvent> {
        let value: Value = serde_json::from_str(line).ok()?;
        let name = value.get("event")?.as_str()?.to_string();
        let raw: HashMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_str(line).ok()?;
        let stamp = value.get("timestamp");
        let seconds = stamp
            .and_then(|t| t.get("seconds"))
            .and_then(Value::as_i64)
            .unwrap_or(-1);
        let micros = stamp
            .and_then(|t| t.get("microseconds"))
            .and_then(Value::as_u64)
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(0);
        Some(QmpEvent {
            name,
            data: value.get("data").cloned().unwrap_or(Value::Null),
            seconds,
            micros,
            details: raw.get("data").map(|d| compact_json(d.get())),
        })
    }
}

/// JSON text without the whitespace between tokens (strings kept as they are).
pub fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Receives the monitor's events; `None` once the connection is gone.
pub type EventHandler = Box<dyn Fn(Option<QmpEvent>) + Send + Sync>;

/// A reply line, parsed and as received.
struct Reply {
    raw: String,
    value: Value,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<HashMap<String, mpsc::Sender<Reply>>>,
    closed: AtomicBool,
}

pub struct Monitor {
    writer: Mutex<UnixStream>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl Monitor {
    /// Connects to `path` (retrying until `deadline` while `alive()` says the process is
    /// still there), reads the greeting, negotiates capabilities and starts the reader.
    pub fn connect(
        path: &Path,
        deadline: Instant,
        alive: impl Fn() -> bool,
        on_event: EventHandler,
    ) -> Result<Monitor, QmpError> {
        let mut pause = Duration::from_millis(1);
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(stream) => break stream,
                Err(e) => {
                    if !alive() {
                        return Err(QmpError::ProcessGone);
                    }
                    if Instant::now() >= deadline {
                        return Err(QmpError::Io(e));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
            }
        };
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        stream.set_read_timeout(Some(remaining))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut writer = stream;
        let greeting = read_value(&mut reader)?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::BadJson("no QMP greeting".into()));
        }
        writer.write_all(b"{\"execute\":\"qmp_capabilities\",\"id\":\"libvirt-0\"}\n")?;
        loop {
            let reply = read_value(&mut reader)?;
            if reply.get("event").is_some() {
                continue;
            }
            if let Some(err) = reply.get("error") {
                return Err(QmpError::Command(error_text(err)));
            }
            break;
        }
        writer.set_read_timeout(None)?;
        // A QEMU that stopped reading must not block a writer either.
        writer.set_write_timeout(Some(COMMAND_TIMEOUT))?;
        let shared = Arc::new(Shared::default());
        let reader_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("qemu-monitor".into())
            .spawn(move || read_loop(reader, reader_shared, on_event))?;
        Ok(Monitor {
            writer: Mutex::new(writer),
            shared,
            next_id: AtomicU64::new(1),
        })
    }

    /// Runs `command` with optional arguments; returns its `return` value.
    pub fn execute(&self, command: &str, arguments: Option<Value>) -> Result<Value, QmpError> {
        self.execute_passing(command, arguments, None)
    }

    /// Like [`Monitor::execute`], with `fd` passed along the command (`getfd`,
    /// `add-fd`): QEMU then writes to a file the daemon opened itself, rather
    /// than opening a path it could be tricked about.
    pub fn execute_with_fd(
        &self,
        command: &str,
        arguments: Option<Value>,
        fd: BorrowedFd<'_>,
    ) -> Result<Value, QmpError> {
        self.execute_passing(command, arguments, Some(fd))
    }

    fn execute_passing(
        &self,
        command: &str,
        arguments: Option<Value>,
        fd: Option<BorrowedFd<'_>>,
    ) -> Result<Value, QmpError> {
        let mut message = json!({ "execute": command });
        if let Some(arguments) = arguments {
            message["arguments"] = arguments;
        }
        let reply = self.send(message, fd)?;
        match reply.value.get("error") {
            Some(err) => Err(QmpError::Command(error_text(err))),
            None => Ok(reply.value.get("return").cloned().unwrap_or(Value::Null)),
        }
    }

    /// Sends a client-written QMP command and returns QEMU's reply text unchanged
    /// (`virsh qemu-monitor-command`).
    pub fn execute_raw(&self, command: &str) -> Result<String, QmpError> {
        self.execute_raw_passing(command, None)
    }

    /// [`Monitor::execute_raw`] with `fd` passed along the command.
    pub fn execute_raw_passing(
        &self,
        command: &str,
        fd: Option<BorrowedFd<'_>>,
    ) -> Result<String, QmpError> {
        let message: Value =
            serde_json::from_str(command).map_err(|e| QmpError::BadJson(e.to_string()))?;
        if !message.is_object() {
            return Err(QmpError::BadJson(
                "a QMP command must be a JSON object".into(),
            ));
        }
        Ok(self.send(message, fd)?.raw)
    }

    /// Runs a human monitor command and returns its output.
    pub fn execute_hmp(&self, command_line: &str) -> Result<String, QmpError> {
        self.execute_hmp_passing(command_line, None)
    }

    /// [`Monitor::execute_hmp`] with `fd` passed along the command.
    pub fn execute_hmp_passing(
        &self,
        command_line: &str,
        fd: Option<BorrowedFd<'_>>,
    ) -> Result<String, QmpError> {
        let output = self.execute_passing(
            "human-monitor-command",
            Some(json!({ "command-line": command_line })),
            fd,
        )?;
        Ok(output.as_str().unwrap_or_default().to_string())
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    fn send(&self, mut message: Value, fd: Option<BorrowedFd<'_>>) -> Result<Reply, QmpError> {
        if self.is_closed() {
            return Err(QmpError::Closed);
        }
        let started = Instant::now();
        let id = format!("libvirt-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        message["id"] = Value::String(id.clone());
        let (tx, rx) = mpsc::channel();
        lock(&self.shared.pending).insert(id.clone(), tx);
        // The reader marks the monitor closed before it drops the waiting
        // senders: a close that came between the check above and the insert
        // is seen here, instead of waiting out the whole command timeout.
        if self.is_closed() {
            lock(&self.shared.pending).remove(&id);
            return Err(QmpError::Closed);
        }
        let mut line = message.to_string();
        line.push('\n');
        let written = {
            let mut writer = lock(&self.writer);
            match fd {
                Some(fd) => write_with_fd(&writer, line.as_bytes(), fd)
                    .and_then(|sent| writer.write_all(&line.as_bytes()[sent..])),
                None => writer.write_all(line.as_bytes()),
            }
        };
        if let Err(e) = written {
            lock(&self.shared.pending).remove(&id);
            return Err(QmpError::Io(e));
        }
        match rx.recv_timeout(COMMAND_TIMEOUT) {
            Ok(reply) => {
                // The command's name only: arguments may carry secrets.
                tracing::debug!(
                    "QMP {} {id} answered in {} us",
                    message["execute"].as_str().unwrap_or_default(),
                    started.elapsed().as_micros()
                );
                Ok(reply)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                lock(&self.shared.pending).remove(&id);
                Err(QmpError::Timeout)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(QmpError::Closed),
        }
    }
}

/// Sends the start of `data` with `fd` attached (SCM_RIGHTS); returns how many
/// bytes went out, the rest follows as plain data.
fn write_with_fd(stream: &UnixStream, data: &[u8], fd: BorrowedFd<'_>) -> std::io::Result<usize> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    let fds = [fd.as_raw_fd()];
    let sent = sendmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &[std::io::IoSlice::new(data)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    Ok(sent)
}

impl From<QmpError> for super::error::QemuError {
    /// A timeout is libvirt's "Timed out during operation"; the rest are
    /// internal errors with the monitor's text.
    fn from(e: QmpError) -> Self {
        match e {
            QmpError::Timeout => super::error::QemuError::Timeout(format!(
                "the QEMU monitor did not answer within {} seconds",
                COMMAND_TIMEOUT.as_secs()
            )),
            QmpError::Io(ref io) if is_timeout(io) => QmpError::Timeout.into(),
            other => super::error::QemuError::Monitor(other.to_string()),
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn error_text(err: &Value) -> String {
    err.get("desc")
        .and_then(Value::as_str)
        .unwrap_or("unknown monitor error")
        .to_string()
}

/// The longest monitor line accepted. A QEMU that never ends a line (a
/// compromised guest's emulator, say) would otherwise grow the daemon's memory
/// without bound; the largest real replies (the QMP schema) are far smaller.
const MAX_LINE: u64 = 16 * 1024 * 1024;

/// Reads one line of at most [`MAX_LINE`] bytes; `Ok(false)` at end of file.
fn read_bounded_line(reader: &mut impl BufRead, line: &mut String) -> std::io::Result<bool> {
    let n = std::io::Read::take(reader, MAX_LINE + 1).read_line(line)?;
    if n as u64 > MAX_LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("monitor line longer than {MAX_LINE} bytes"),
        ));
    }
    Ok(n > 0)
}

fn read_value(reader: &mut impl BufRead) -> Result<Value, QmpError> {
    let mut line = String::new();
    if !read_bounded_line(reader, &mut line)? {
        return Err(QmpError::Closed);
    }
    serde_json::from_str(&line).map_err(|e| QmpError::BadJson(e.to_string()))
}

fn read_loop(mut reader: BufReader<UnixStream>, shared: Arc<Shared>, on_event: EventHandler) {
    let mut line = String::new();
    loop {
        line.clear();
        match read_bounded_line(&mut reader, &mut line) {
            Ok(false) | Err(_) => break,
            Ok(true) => {}
        }
        let Ok(value) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if value.get("event").is_some() {
            if let Some(event) = QmpEvent::parse(&line) {
                on_event(Some(event));
            }
            continue;
        }
        let id = value.get("id").and_then(Value::as_str).map(str::to_string);
        if let Some(id) = id {
            if let Some(tx) = lock(&shared.pending).remove(&id) {
                let _ = tx.send(Reply {
                    raw: line.trim_end().to_string(),
                    value,
                });
            }
        }
    }
    shared.closed.store(true, Ordering::SeqCst);
    // Dropping the senders wakes every waiting caller with "closed".
    lock(&shared.pending).clear();
    on_event(None);
}

#[cfg(test)]
mod line_limit_tests {
    use super::*;

    #[test]
    fn a_line_past_the_limit_is_an_error_not_memory() {
        let endless = std::io::repeat(b'x');
        let mut reader = std::io::BufReader::new(endless);
        let mut line = String::new();
        let err = read_bounded_line(&mut reader, &mut line).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(line.len() as u64 <= MAX_LINE + 1);
    }

    #[test]
    fn events_keep_qemus_data_text_and_timestamp() {
        let line = "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 12}, \
            \"event\": \"VNC_CONNECTED\", \"data\": {\"server\": {\"host\": \"a b\"}, \
            \"client\": {\"service\": \"5\"}}}\n";
        let ev = QmpEvent::parse(line).expect("an event");
        assert_eq!(ev.name, "VNC_CONNECTED");
        assert_eq!((ev.seconds, ev.micros), (1_700_000_000, 12));
        assert_eq!(
            ev.details.as_deref(),
            Some("{\"server\":{\"host\":\"a b\"},\"client\":{\"service\":\"5\"}}")
        );
        let bare = QmpEvent::parse("{\"event\": \"STOP\"}").expect("an event");
        assert_eq!((bare.seconds, bare.micros, bare.details), (-1, 0, None));
        assert!(QmpEvent::parse("{\"return\": {}}").is_none());
    }

    #[test]
    fn ordinary_lines_pass() {
        let mut reader = std::io::BufReader::new(&b"{\"return\": {}}\nrest"[..]);
        let mut line = String::new();
        assert!(read_bounded_line(&mut reader, &mut line).unwrap());
        assert_eq!(line, "{\"return\": {}}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A fake QEMU: greets, accepts capabilities, answers one command after an event.
    #[test]
    fn negotiates_runs_commands_and_delivers_events() {
        let dir = std::env::temp_dir().join(format!("qmp-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("m.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind");
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut out = stream;
            out.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
                .expect("greet");
            let mut line = String::new();
            reader.read_line(&mut line).expect("caps");
            assert!(line.contains("qmp_capabilities"));
            out.write_all(b"{\"return\": {}, \"id\": \"libvirt-0\"}\n")
                .expect("ok");
            line.clear();
            reader.read_line(&mut line).expect("command");
            let cmd: Value = serde_json::from_str(&line).expect("json");
            assert_eq!(cmd["execute"], "query-status");
            let id = cmd["id"].as_str().expect("id").to_string();
            out.write_all(b"{\"event\": \"STOP\", \"data\": {}}\n")
                .expect("event");
            let reply = format!("{{\"return\": {{\"status\": \"paused\"}}, \"id\": \"{id}\"}}\n");
            out.write_all(reply.as_bytes()).expect("reply");
        });
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let monitor = Monitor::connect(
            &path,
            Instant::now() + Duration::from_secs(5),
            || true,
            Box::new(move |ev| {
                let _ = lock(&tx).send(ev.map(|e| e.name));
            }),
        )
        .expect("connects");
        let status = monitor.execute("query-status", None).expect("answer");
        assert_eq!(status["status"], "paused");
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).expect("event"),
            Some("STOP".to_string())
        );
        server.join().expect("server");
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).expect("eof"), None);
        assert!(matches!(
            monitor.execute("cont", None),
            Err(QmpError::Closed) | Err(QmpError::Io(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
