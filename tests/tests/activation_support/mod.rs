//! Shared by the `activation_*` and `systemd_*` tests: a private root for
//! one daemon, listening sockets held the way a service manager holds them,
//! a `NOTIFY_SOCKET` listener, and a supervisor that starts the daemon
//! again whenever one of its sockets becomes readable (what systemd does
//! for a socket-activated service that exited).
// Each test crate uses a different part of this module.
#![allow(dead_code)]

pub mod process;
pub mod supervisor;

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a daemon may take to start, or to stop after being told to.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A temporary `LIBVIRTD_ROOT` with the daemon's files in it.
pub struct Root {
    dir: TempDir,
}

impl Root {
    pub fn new() -> Root {
        let dir = tempfile::Builder::new()
            .prefix("libvirtd-activation-")
            .tempdir()
            .expect("create a temporary root");
        fs::create_dir_all(dir.path().join("run/libvirt")).expect("create run/libvirt");
        fs::create_dir_all(dir.path().join("etc/libvirt")).expect("create etc/libvirt");
        Root { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A file in the socket directory (`run/libvirt/NAME`).
    pub fn run_file(&self, name: &str) -> PathBuf {
        self.path().join("run/libvirt").join(name)
    }

    /// The daemon's log file when the config was written by [`Root::write_conf`].
    pub fn log_file(&self) -> PathBuf {
        self.path().join("daemon.log")
    }

    pub fn stdout_file(&self) -> PathBuf {
        self.path().join("daemon.stdout")
    }

    pub fn stderr_file(&self) -> PathBuf {
        self.path().join("daemon.stderr")
    }

    /// Writes `etc/libvirt/<daemon>.conf`: `lines` first (the first
    /// occurrence of a key wins), then logging to [`Root::log_file`] unless
    /// `log_to_file` is false (errors then reach stderr).
    pub fn write_conf(&self, daemon: &str, lines: &[&str], log_to_file: bool) -> PathBuf {
        let mut text = lines.join("\n");
        text.push('\n');
        if log_to_file {
            text.push_str(&format!(
                "log_level = 1\nlog_outputs = \"1:file:{}\"\n",
                self.log_file().display()
            ));
        }
        let path = self.path().join(format!("etc/libvirt/{daemon}.conf"));
        fs::write(&path, text).expect("write the configuration");
        path
    }

    /// Everything the daemon printed or logged, for failure messages.
    pub fn diagnostics(&self) -> String {
        let read = |p: PathBuf| fs::read_to_string(p).unwrap_or_default();
        let log = read(self.log_file());
        let start = (log.len().saturating_sub(8000)..=log.len())
            .find(|i| log.is_char_boundary(*i))
            .unwrap_or(0);
        format!(
            "--- stdout:\n{}--- stderr:\n{}--- log (tail):\n{}---",
            read(self.stdout_file()),
            read(self.stderr_file()),
            &log[start..]
        )
    }

    /// stderr and log together, to look for a message wherever it went.
    pub fn output(&self) -> String {
        let read = |p: PathBuf| fs::read_to_string(p).unwrap_or_default();
        format!("{}{}", read(self.stderr_file()), read(self.log_file()))
    }

    /// The environment of a daemon using this root.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(
            "LIBVIRTD_ROOT".to_string(),
            self.path().display().to_string(),
        )]
    }
}

/// A listening UNIX socket at `path`, as a `.socket` unit creates it.
pub fn unix_socket(path: &Path) -> OwnedFd {
    let _ = fs::remove_file(path);
    UnixListener::bind(path)
        .unwrap_or_else(|e| panic!("bind {}: {e}", path.display()))
        .into()
}

/// A listening TCP socket on 127.0.0.1 and a port the kernel picked.
pub fn tcp_socket() -> (OwnedFd, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    (listener.into(), port)
}

/// Raw fds of held sockets, in order.
pub fn raw_fds(sockets: &[&OwnedFd]) -> Vec<i32> {
    sockets.iter().map(|s| s.as_raw_fd()).collect()
}

/// The `NOTIFY_SOCKET` end a service manager listens on.
pub struct NotifyListener {
    socket: UnixDatagram,
    pub path: PathBuf,
    /// Every message received so far.
    pub received: Vec<String>,
}

impl NotifyListener {
    pub fn bind(root: &Root) -> NotifyListener {
        let path = root.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        NotifyListener {
            socket,
            path,
            received: Vec::new(),
        }
    }

    /// Waits for a message with a line equal to `line`; returns whether one
    /// arrived before `timeout`.
    pub fn wait_for(&mut self, line: &str, timeout: Duration) -> bool {
        if self.seen(line) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let message = self.receive(left);
            if message.is_some() && self.seen(line) {
                return true;
            }
        }
    }

    /// Messages already queued, without waiting.
    pub fn drain(&mut self) -> Vec<String> {
        let before = self.received.len();
        while self.receive(Duration::from_millis(1)).is_some() {}
        self.received[before..].to_vec()
    }

    fn seen(&self, line: &str) -> bool {
        self.received.iter().any(|m| m.lines().any(|l| l == line))
    }

    fn receive(&mut self, timeout: Duration) -> Option<String> {
        self.socket
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .expect("set a read timeout");
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        self.received.push(text.clone());
        Some(text)
    }
}
