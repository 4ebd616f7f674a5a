//! A QEMU guest agent client over the guest's `org.qemu.guest_agent.0` virtio
//! channel: one connection per command, synchronised first with
//! `guest-sync-delimited` (the agent answers after a 0xFF byte, so stale bytes
//! from an earlier, interrupted exchange are skipped), then one JSON line each way.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::{codes, domains, DriverError};

/// Bounds one reply (guest-get-fsinfo of a large guest stays far below).
const MAX_REPLY: usize = 16 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AgentError {
    #[error("QEMU guest agent is not connected")]
    NotConnected,
    #[error("Guest agent not available for now")]
    Timeout,
    #[error("unable to execute QEMU agent command '{command}': {desc}")]
    Command { command: String, desc: String },
    #[error("malformed reply from the guest agent: {0}")]
    Protocol(String),
}

impl From<AgentError> for DriverError {
    fn from(e: AgentError) -> Self {
        let code = match e {
            AgentError::NotConnected | AgentError::Timeout => codes::AGENT_UNRESPONSIVE,
            _ => codes::INTERNAL_ERROR,
        };
        DriverError::new(code, domains::QEMU, e.to_string())
    }
}

fn io_error(e: std::io::Error) -> AgentError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => AgentError::Timeout,
        _ => AgentError::NotConnected,
    }
}

/// Reads one line (without its newline), at most [`MAX_REPLY`] bytes, before `deadline`.
fn read_line(reader: &mut BufReader<UnixStream>, deadline: Instant) -> Result<Vec<u8>, AgentError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(AgentError::Timeout);
    }
    reader
        .get_ref()
        .set_read_timeout(Some(left))
        .map_err(io_error)?;
    let mut line = Vec::new();
    let read = reader
        .by_ref()
        .take(MAX_REPLY as u64)
        .read_until(b'\n', &mut line)
        .map_err(io_error)?;
    if read == 0 {
        return Err(AgentError::NotConnected);
    }
    if line.last() != Some(&b'\n') {
        return Err(AgentError::Protocol("reply too long".into()));
    }
    line.pop();
    Ok(line)
}

/// Runs `command` (a JSON object with `execute`) and returns the agent's whole
/// reply text, as `virDomainQemuAgentCommand` does; an `error` reply is an error.
pub fn run_command(socket: &Path, command: &str, timeout: Duration) -> Result<String, AgentError> {
    let request: Value = serde_json::from_str(command)
        .map_err(|e| AgentError::Protocol(format!("cannot parse the command: {e}")))?;
    let line = exchange(socket, &request, timeout, Some(timeout))?.unwrap_or_default();
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Runs `request` and returns its `return` member; an `error` reply is an error.
pub fn call(
    socket: &Path,
    request: &Value,
    sync_wait: Duration,
    reply_wait: Duration,
) -> Result<Value, AgentError> {
    let line = exchange(socket, request, sync_wait, Some(reply_wait))?.unwrap_or_default();
    let mut reply: Value =
        serde_json::from_slice(&line).map_err(|e| AgentError::Protocol(e.to_string()))?;
    reply
        .get_mut("return")
        .map(Value::take)
        .ok_or_else(|| AgentError::Protocol("missing 'return' member".into()))
}

/// Sends `request` after the synchronisation and waits for no answer (commands such
/// as `guest-shutdown` have none).
pub fn send(socket: &Path, request: &Value, sync_wait: Duration) -> Result<(), AgentError> {
    exchange(socket, request, sync_wait, None).map(|_| ())
}

/// Synchronises (within `sync_wait`), sends `request` and, with `reply_wait`, reads
/// the reply line; an `error` reply becomes [`AgentError::Command`].
fn exchange(
    socket: &Path,
    request: &Value,
    sync_wait: Duration,
    reply_wait: Option<Duration>,
) -> Result<Option<Vec<u8>>, AgentError> {
    let name = request
        .get("execute")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let deadline = Instant::now() + sync_wait;
    let stream = UnixStream::connect(socket).map_err(|_| AgentError::NotConnected)?;
    stream
        .set_write_timeout(Some(sync_wait.max(Duration::from_millis(1))))
        .map_err(io_error)?;
    let mut writer = stream.try_clone().map_err(io_error)?;
    let mut reader = BufReader::new(stream);
    // A fresh id per exchange: an answer to an older sync cannot be mistaken for ours.
    let id = u64::from(std::process::id()) << 32
        | u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default(),
        );
    let sync = json!({"execute": "guest-sync-delimited", "arguments": {"id": id}});
    writer
        .write_all(format!("{sync}\n").as_bytes())
        .map_err(io_error)?;
    loop {
        let line = read_line(&mut reader, deadline)?;
        let start = line.iter().rposition(|b| *b == 0xFF).map_or(0, |p| p + 1);
        let Ok(reply) = serde_json::from_slice::<Value>(&line[start..]) else {
            continue;
        };
        if reply.get("return").and_then(Value::as_u64) == Some(id) {
            break;
        }
    }
    writer
        .write_all(format!("{request}\n").as_bytes())
        .map_err(io_error)?;
    let Some(reply_wait) = reply_wait else {
        return Ok(None);
    };
    let line = read_line(&mut reader, Instant::now() + reply_wait)?;
    let reply: Value =
        serde_json::from_slice(&line).map_err(|e| AgentError::Protocol(e.to_string()))?;
    if let Some(error) = reply.get("error") {
        let desc = error
            .get("desc")
            .and_then(Value::as_str)
            .unwrap_or("unknown error")
            .to_string();
        return Err(AgentError::Command {
            command: name,
            desc,
        });
    }
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// Plays the guest side of the real protocol on `listener` for one connection:
    /// a stale line first, then the 0xFF-delimited sync answer, then `answer`.
    fn serve_once(listener: UnixListener, answer: &'static str) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut writer = stream.try_clone().expect("clone");
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line).expect("sync line");
            let sync: Value = serde_json::from_str(&line).expect("sync json");
            assert_eq!(sync["execute"], "guest-sync-delimited");
            let id = sync["arguments"]["id"].as_u64().expect("id");
            writer.write_all(b"{\"return\": 12}\n").expect("stale");
            writer.write_all(b"garbage\xff").expect("sentinel");
            writer
                .write_all(format!("{{\"return\": {id}}}\n").as_bytes())
                .expect("sync reply");
            line.clear();
            reader.read_line(&mut line).expect("command line");
            writer.write_all(answer.as_bytes()).expect("answer");
            writer.write_all(b"\n").expect("newline");
            line
        })
    }

    #[test]
    fn a_command_is_synchronised_then_answered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.sock");
        let guest = serve_once(
            UnixListener::bind(&path).expect("bind"),
            r#"{"return": {"version": "7.2.0"}}"#,
        );
        let reply = run_command(&path, r#"{"execute":"guest-info"}"#, Duration::from_secs(5))
            .expect("reply");
        assert_eq!(reply, r#"{"return": {"version": "7.2.0"}}"#);
        let sent: Value = serde_json::from_str(&guest.join().expect("guest")).expect("json");
        assert_eq!(sent["execute"], "guest-info");
    }

    #[test]
    fn an_error_reply_becomes_libvirts_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.sock");
        let guest = serve_once(
            UnixListener::bind(&path).expect("bind"),
            r#"{"error": {"class": "CommandNotFound", "desc": "The command guest-nope has not been found"}}"#,
        );
        let err = run_command(&path, r#"{"execute":"guest-nope"}"#, Duration::from_secs(5))
            .expect_err("error reply");
        guest.join().expect("guest");
        let err = DriverError::from(err);
        assert_eq!(
            err.message,
            "internal error: unable to execute QEMU agent command 'guest-nope': The command guest-nope has not been found"
        );
    }

    #[test]
    fn a_silent_or_absent_agent_is_unresponsive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.sock");
        let err = run_command(&path, r#"{"execute":"guest-ping"}"#, Duration::from_secs(1))
            .expect_err("nobody listens");
        assert_eq!(err, AgentError::NotConnected);
        assert_eq!(
            DriverError::from(err).message,
            "Guest agent is not responding: QEMU guest agent is not connected"
        );
        let _listener = UnixListener::bind(&path).expect("bind");
        let err = run_command(
            &path,
            r#"{"execute":"guest-ping"}"#,
            Duration::from_millis(200),
        )
        .expect_err("nobody answers");
        assert_eq!(err, AgentError::Timeout);
    }
}
