//! The line protocol between the daemon and a container's supervisor over the control
//! socket. Requests are one word; the supervisor answers each with one line and, to every
//! connected client, sends `exited CODE SIGNAL` once init is gone and cleaned up.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::error::LxcError;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A request to the supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Answered `running PID`.
    Info,
    /// SIGTERM to init.
    Shutdown,
    /// SIGKILL to every process of the container.
    Destroy,
    /// SIGHUP to init: what the kernel sends a namespace's init on reboot(2), so an init
    /// that handles it exits that way and the container is started again.
    Reboot,
    /// Only wait for the exit notice.
    Watch,
    /// Answered `console`; from then on the connection carries the console's
    /// bytes both ways (one console client at a time).
    Console,
}

impl Request {
    pub fn word(self) -> &'static str {
        match self {
            Request::Info => "info",
            Request::Shutdown => "shutdown",
            Request::Destroy => "destroy",
            Request::Reboot => "reboot",
            Request::Watch => "watch",
            Request::Console => "console",
        }
    }

    pub fn parse(word: &str) -> Option<Request> {
        match word.trim() {
            "info" => Some(Request::Info),
            "shutdown" => Some(Request::Shutdown),
            "destroy" => Some(Request::Destroy),
            "reboot" => Some(Request::Reboot),
            "watch" => Some(Request::Watch),
            "console" => Some(Request::Console),
            _ => None,
        }
    }
}

/// How init ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitNotice {
    pub code: i32,
    pub signal: i32,
}

impl ExitNotice {
    pub fn line(self) -> String {
        format!("exited {} {}\n", self.code, self.signal)
    }

    pub fn parse(line: &str) -> Option<ExitNotice> {
        let mut words = line.split_whitespace();
        if words.next()? != "exited" {
            return None;
        }
        Some(ExitNotice {
            code: words.next()?.parse().ok()?,
            signal: words.next()?.parse().ok()?,
        })
    }
}

/// Bounds both directions of a request: a stopped supervisor must not hold
/// the caller's worker thread.
fn set_timeouts(stream: &UnixStream, socket: &Path) -> Result<(), LxcError> {
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(REQUEST_TIMEOUT)))
        .map_err(|e| LxcError::io("cannot set timeout on", socket, e))
}

/// Sends one request and returns the answer line.
pub fn request(socket: &Path, req: Request) -> Result<String, LxcError> {
    let mut stream =
        UnixStream::connect(socket).map_err(|e| LxcError::io("cannot connect to", socket, e))?;
    set_timeouts(&stream, socket)?;
    stream
        .write_all(format!("{}\n", req.word()).as_bytes())
        .map_err(|e| LxcError::io("cannot write to", socket, e))?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| LxcError::io("no answer from", socket, e))?;
    if line.is_empty() {
        return Err(LxcError::Failed(format!(
            "the supervisor at '{}' closed the connection",
            socket.display()
        )));
    }
    Ok(line.trim_end().to_string())
}

/// Opens a console connection: after the supervisor's `console` answer the
/// stream carries the container console's bytes both ways.
pub fn console(socket: &Path) -> Result<UnixStream, LxcError> {
    let mut stream =
        UnixStream::connect(socket).map_err(|e| LxcError::io("cannot connect to", socket, e))?;
    set_timeouts(&stream, socket)?;
    stream
        .write_all(b"console\n")
        .map_err(|e| LxcError::io("cannot write to", socket, e))?;
    // Read the answer byte by byte: console data may follow right after it.
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.last() != Some(&b'\n') && line.len() < 256 {
        match std::io::Read::read(&mut stream, &mut byte) {
            Ok(1) => line.push(byte[0]),
            Ok(_) => break,
            Err(e) => return Err(LxcError::io("no answer from", socket, e)),
        }
    }
    let answer = String::from_utf8_lossy(&line).trim_end().to_string();
    if answer != "console" {
        return Err(LxcError::Failed(if answer.is_empty() {
            "the container has no console".to_string()
        } else {
            answer
        }));
    }
    stream
        .set_read_timeout(None)
        .and_then(|_| stream.set_write_timeout(None))
        .map_err(|e| LxcError::io("cannot set timeout on", socket, e))?;
    Ok(stream)
}

/// Opens a watch connection: the caller reads lines until the exit notice or EOF.
pub fn watch(socket: &Path) -> Result<BufReader<UnixStream>, LxcError> {
    let mut stream =
        UnixStream::connect(socket).map_err(|e| LxcError::io("cannot connect to", socket, e))?;
    stream
        .write_all(b"watch\n")
        .map_err(|e| LxcError::io("cannot write to", socket, e))?;
    Ok(BufReader::new(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_notices_round_trip() {
        for req in [
            Request::Info,
            Request::Shutdown,
            Request::Destroy,
            Request::Watch,
            Request::Console,
        ] {
            assert_eq!(Request::parse(req.word()), Some(req));
        }
        assert_eq!(Request::parse("reset"), None);
        let notice = ExitNotice { code: 0, signal: 9 };
        assert_eq!(notice.line(), "exited 0 9\n");
        assert_eq!(ExitNotice::parse(&notice.line()), Some(notice));
        assert_eq!(ExitNotice::parse("running 5"), None);
    }
}
