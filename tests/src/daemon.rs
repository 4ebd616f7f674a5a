//! Starting and stopping the real `libvirtd` under `LIBVIRTD_ROOT`.
//!
//! The daemon runs in its own process group so that dropping the handle
//! kills it and anything it spawned, even when a test panics half way.
//! When a test panics, the daemon's stderr and log are printed so the
//! failure can be understood from the test output alone.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a daemon may take to start listening.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The `libvirtd` binary under test: `LIBVIRTD_BIN` if set, else
/// `$CARGO_TARGET_DIR/debug/libvirtd`, else `<workspace>/target/debug/libvirtd`.
/// Panics when the file is missing, because the integration tests are
/// meaningless without it.
pub fn libvirtd_bin() -> PathBuf {
    let path = match std::env::var_os("LIBVIRTD_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("target"));
            let target = if target.is_relative() {
                workspace_root().join(target)
            } else {
                target
            };
            target.join("debug").join("libvirtd")
        }
    };
    assert!(
        path.is_file(),
        "the libvirtd binary {} does not exist: run `cargo build --bins` in the workspace \
         first (or set LIBVIRTD_BIN to the binary to test)",
        path.display()
    );
    path
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// A free TCP port on 127.0.0.1 (the kernel picks it; the listener is
/// closed again right away so the daemon can bind it).
pub fn free_tcp_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Raises this process's soft limit on open files to at least `wanted`
/// (tests that hold many connections need more than the usual 1024).
pub fn raise_own_nofile_limit(wanted: u64) {
    let (soft, hard) = nofile_limit();
    if soft >= wanted {
        return;
    }
    let rc = nix::sys::resource::setrlimit(
        nix::sys::resource::Resource::RLIMIT_NOFILE,
        wanted,
        hard.max(wanted),
    );
    assert!(
        rc.is_ok(),
        "setrlimit(RLIMIT_NOFILE, {wanted}) failed: {rc:?}"
    );
}

fn nofile_limit() -> (u64, u64) {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("getrlimit failed")
}

/// Describes a daemon to start. Configuration lines given with
/// [`DaemonBuilder::conf`] come first in the file, so they win over the
/// harness defaults (libvirt's config keeps the first occurrence of a key).
#[derive(Debug, Default)]
pub struct DaemonBuilder {
    conf_lines: Vec<String>,
    args: Vec<OsString>,
    tcp: bool,
    nofile: Option<u64>,
    no_log_file: bool,
    arg0: Option<OsString>,
    /// Files to place under the root before start: relative path, contents, mode.
    files: Vec<(PathBuf, Vec<u8>, u32)>,
    /// Extra environment variables for the daemon.
    envs: Vec<(OsString, OsString)>,
}

impl DaemonBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one line to libvirtd.conf.
    pub fn conf(mut self, line: impl Into<String>) -> Self {
        self.conf_lines.push(line.into());
        self
    }

    /// Adds a command line argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Listens on TCP (127.0.0.1, a free port, no auth) with `--listen`.
    pub fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }

    /// Gives the daemon at least this many open files.
    pub fn nofile(mut self, limit: u64) -> Self {
        self.nofile = Some(limit);
        self
    }

    /// Sets the program name the daemon sees as `argv[0]` (libvirtd prints
    /// it in `--version` and in command line errors).
    pub fn arg0(mut self, name: impl AsRef<OsStr>) -> Self {
        self.arg0 = Some(name.as_ref().to_os_string());
        self
    }

    /// Places a file at `relative` under the daemon's root before it starts
    /// (hook scripts, for example), creating parent directories.
    pub fn file(
        mut self,
        relative: impl Into<PathBuf>,
        contents: impl Into<Vec<u8>>,
        mode: u32,
    ) -> Self {
        self.files.push((relative.into(), contents.into(), mode));
        self
    }

    /// Sets an environment variable for the daemon only (the test process's
    /// own environment is shared by tests running in parallel).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Leaves `log_outputs` unset so that errors go to stderr, where the
    /// command line and startup tests look for them.
    pub fn log_to_stderr(mut self) -> Self {
        self.no_log_file = true;
        self
    }

    /// Starts the daemon and waits until its sockets accept connections.
    pub fn start(self) -> Daemon {
        let mut daemon = self.spawn();
        daemon.wait_ready();
        daemon
    }

    /// Starts the daemon without waiting for it (for tests that expect it to
    /// exit, or to check what it does before it listens).
    pub fn spawn(self) -> Daemon {
        let root = tempfile::Builder::new()
            .prefix("libvirtd-itest-")
            .tempdir()
            .expect("create a temporary root directory");
        let tcp_port = self.tcp.then(free_tcp_port);
        let conf_file = root.path().join("etc/libvirt/libvirtd.conf");
        let log_file = root.path().join("log");
        let mut conf = self.conf_lines.join("\n");
        conf.push('\n');
        if !self.no_log_file {
            // log_level gates messages before they reach any output, so
            // the debug output needs it too.
            conf.push_str(&format!(
                "log_level = 1\nlog_outputs = \"1:file:{}\"\n",
                log_file.display()
            ));
        }
        if let Some(port) = tcp_port {
            conf.push_str(&format!(
                "listen_tcp = 1\nlisten_tls = 0\nauth_tcp = \"none\"\n\
                 tcp_port = \"{port}\"\nlisten_addr = \"127.0.0.1\"\n"
            ));
        }
        fs::create_dir_all(conf_file.parent().expect("config directory"))
            .expect("create etc/libvirt");
        fs::write(&conf_file, conf).expect("write libvirtd.conf");
        for (relative, contents, mode) in &self.files {
            let path = root.path().join(relative);
            fs::create_dir_all(path.parent().expect("file directory")).expect("create directory");
            fs::write(&path, contents).expect("write file under the root");
            fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(*mode))
                .expect("set file mode");
        }

        let mut command = Command::new(libvirtd_bin());
        if let Some(name) = &self.arg0 {
            command.arg0(name);
        }
        if tcp_port.is_some() {
            command.arg("--listen");
        }
        command
            .args(&self.args)
            .env("LIBVIRTD_ROOT", root.path())
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDS")
            .env_remove("LISTEN_FDNAMES")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(fs::File::create(root.path().join("daemon.stdout")).expect("stdout file"))
            .stderr(fs::File::create(root.path().join("daemon.stderr")).expect("stderr file"))
            .process_group(0);
        if let Some(wanted) = self.nofile {
            let (soft, hard) = nofile_limit();
            let limit = libc::rlimit {
                rlim_cur: soft.max(wanted),
                rlim_max: hard.max(wanted),
            };
            // SAFETY: the closure only calls setrlimit, which is async-signal-safe.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let daemonizes = self.args.iter().any(|a| a == "-d" || a == "--daemon");
        let child = command.spawn().expect("spawn libvirtd");
        Daemon {
            root,
            child,
            exit: None,
            tcp_port,
            daemonizes,
        }
    }
}

/// A running (or exited) daemon and its private root directory.
pub struct Daemon {
    root: TempDir,
    child: Child,
    exit: Option<ExitStatus>,
    tcp_port: Option<u16>,
    /// Started with `-d`: the real daemon is a grandchild in its own
    /// session, found through the pid file when cleaning up.
    daemonizes: bool,
}

impl Daemon {
    /// A daemon with the harness defaults.
    pub fn start() -> Daemon {
        DaemonBuilder::new().start()
    }

    pub fn builder() -> DaemonBuilder {
        DaemonBuilder::new()
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }
    pub fn conf_file(&self) -> PathBuf {
        self.root().join("etc/libvirt/libvirtd.conf")
    }
    pub fn log_file(&self) -> PathBuf {
        self.root().join("log")
    }
    pub fn rw_socket(&self) -> PathBuf {
        self.root().join("run/libvirt/libvirt-sock")
    }
    pub fn ro_socket(&self) -> PathBuf {
        self.root().join("run/libvirt/libvirt-sock-ro")
    }
    pub fn admin_socket(&self) -> PathBuf {
        self.root().join("run/libvirt/libvirt-admin-sock")
    }
    pub fn pid_file(&self) -> PathBuf {
        self.root().join("run/libvirtd.pid")
    }
    pub fn tcp_port(&self) -> u16 {
        self.tcp_port.expect("daemon was not built with .tcp()")
    }

    /// The test driver over the read-write unix socket.
    pub fn rw_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.rw_socket().display())
    }
    /// The test driver over the read-only unix socket.
    pub fn ro_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.ro_socket().display())
    }
    /// The test driver over plain TCP.
    pub fn tcp_uri(&self) -> String {
        format!("test+tcp://127.0.0.1:{}/default", self.tcp_port())
    }
    /// The admin server, for virt-admin.
    pub fn admin_uri(&self) -> String {
        format!(
            "libvirtd:///system?socket={}",
            self.admin_socket().display()
        )
    }

    /// Process id of the process we spawned.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits until the three unix sockets (and the TCP port, if any)
    /// accept connections. Panics with the daemon's output if it exits or never
    /// gets there.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let unix_ok = [self.rw_socket(), self.ro_socket(), self.admin_socket()]
                .iter()
                .all(|socket| UnixStream::connect(socket).is_ok());
            let tcp_ok = match self.tcp_port {
                Some(port) => std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
                None => true,
            };
            if unix_ok && tcp_ok && answers_keepalive(&self.rw_socket()) {
                return;
            }
            if let Some(status) = self.poll_exit() {
                panic!(
                    "libvirtd exited with {status} before it was ready\n{}",
                    self.diagnostics()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "libvirtd did not accept connections within {READY_TIMEOUT:?}\n{}",
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The exit status if the spawned process has exited, without blocking.
    pub fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    pub fn is_running(&mut self) -> bool {
        self.poll_exit().is_none()
    }

    /// Waits for the spawned process to exit; panics (with diagnostics)
    /// when it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if !crate::wait_until(timeout, || self.poll_exit().is_some()) {
            panic!(
                "libvirtd still runs after {timeout:?}\n{}",
                self.diagnostics()
            );
        }
        self.exit.expect("exit status recorded")
    }

    /// Sends a signal to the spawned process.
    pub fn signal(&self, signal: i32) {
        let rc = match nix::sys::signal::Signal::try_from(signal) {
            Ok(signal) => nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal)
                .map_or(-1, |()| 0),
            Err(_) => -1,
        };
        assert_eq!(
            rc,
            0,
            "kill({}, {signal}): {}",
            self.pid(),
            std::io::Error::last_os_error()
        );
    }

    pub fn stdout(&self) -> String {
        fs::read_to_string(self.root().join("daemon.stdout")).unwrap_or_default()
    }
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.root().join("daemon.stderr")).unwrap_or_default()
    }
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    /// Replaces libvirtd.conf (for reload tests).
    pub fn rewrite_conf(&self, text: &str) {
        fs::write(self.conf_file(), text).expect("rewrite libvirtd.conf");
    }

    /// Exit status, stdout, stderr and the end of the log, for failure messages.
    pub fn diagnostics(&self) -> String {
        let log = self.log();
        let tail_start = log.len().saturating_sub(20_000);
        let tail_start = (tail_start..log.len())
            .find(|i| log.is_char_boundary(*i))
            .unwrap_or(0);
        format!(
            "--- libvirtd exit status: {:?}\n--- libvirtd stdout:\n{}\n--- libvirtd stderr:\n{}\n\
             --- libvirtd log ({}, last {} bytes):\n{}\n--- end of libvirtd output",
            self.exit.map(describe_status),
            self.stdout(),
            self.stderr(),
            self.log_file().display(),
            log.len() - tail_start,
            &log[tail_start..]
        )
    }

    /// The pid written in the pid file, if there is one.
    pub fn pid_from_file(&self) -> Option<i32> {
        fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether `pid` is a live process started for this daemon's root
    /// (checked through its environment, so a recycled pid is never hit).
    pub fn owns_process(&self, pid: i32) -> bool {
        let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
            return false;
        };
        let wanted = format!("LIBVIRTD_ROOT={}", self.root().display());
        environ
            .split(|b| *b == 0)
            .any(|var| var == wanted.as_bytes())
    }
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => format!("{status}"),
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.diagnostics());
        }
        let pgid = self.pid();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(-pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
        if self.daemonizes {
            if let Some(pid) = self.pid_from_file() {
                if self.owns_process(pid) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }
}

/// A socket accepts connections as soon as it is bound, before the daemon
/// serves it; a PONG to our PING proves the session loop runs (drivers are
/// loaded by then).
fn answers_keepalive(socket: &std::path::Path) -> bool {
    use protocol::programs::{keepalive, KEEPALIVE_PROGRAM};
    use protocol::{encode_message, Header, MessageType};
    let Ok(mut client) = client::Client::connect_unix(socket) else {
        return false;
    };
    let ping = Header::new(KEEPALIVE_PROGRAM, keepalive::PING, MessageType::Message, 0);
    if client.send_bytes(&encode_message(&ping, &[])).is_err() {
        return false;
    }
    matches!(
        client.recv(Some(Duration::from_millis(500))),
        Ok(Some(m)) if m.header.prog == KEEPALIVE_PROGRAM && m.header.proc_ == keepalive::PONG
    )
}
