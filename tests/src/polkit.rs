//! A private system-like message bus with a stand-in polkit authority, and
//! clients run as an unprivileged user, for the polkit tests.
//!
//! The bus is a real `dbus-daemon` (Debian `dbus`) with its own config; the
//! authority is `tests/data/mock_polkit_authority.py` (python3-dbus and
//! python3-gi), which answers per action id and records every request.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use tempfile::TempDir;

use crate::tools::{require_tool, run_with_deadline, CmdOutput, CLIENT_TIMEOUT, PYTHON};
use crate::{data_file, virsh_command};

/// `nobody` on Debian.
pub const NOBODY: u32 = 65534;

/// A running bus (and authority, unless started without one).
pub struct PolkitBus {
    dir: TempDir,
    address: String,
    bus: Child,
    authority: Option<Child>,
}

/// One CheckAuthorization request as the mock authority recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub subject_kind: String,
    pub pid: i64,
    pub start_time: i64,
    pub uid: i64,
    /// D-Bus type names of the pid, start-time and uid fields.
    pub field_types: (String, String, String),
    pub action_id: String,
    pub details_empty: bool,
    pub flags: i64,
    pub cancellation_id: String,
}

impl PolkitBus {
    /// A bus whose authority grants the actions in `allow`, answers "needs an
    /// agent" for those in `challenge`, and denies everything else.
    pub fn start(allow: &[&str], challenge: &[&str]) -> PolkitBus {
        let mut bus = PolkitBus::start_without_authority();
        require_python_dbus();
        let mut child = Command::new(PYTHON)
            .arg(data_file("mock_polkit_authority.py"))
            .arg(&bus.address)
            .arg(bus.record_file())
            .arg(allow.join(","))
            .arg(challenge.join(","))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the mock polkit authority");
        let line = first_line(child.stdout.take());
        assert_eq!(line.trim(), "ready", "the mock authority did not start");
        bus.authority = Some(child);
        bus
    }

    /// A bus on which nobody owns org.freedesktop.PolicyKit1.
    pub fn start_without_authority() -> PolkitBus {
        let dbus_daemon = require_tool("dbus-daemon", "dbus");
        let dir = tempfile::Builder::new()
            .prefix("polkit-bus-")
            .tempdir()
            .expect("bus directory");
        let socket = dir.path().join("system_bus_socket");
        let config = dir.path().join("bus.conf");
        std::fs::write(&config, bus_config(&socket)).expect("write bus config");
        let mut bus = Command::new(dbus_daemon)
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nosyslog", "--print-address"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let address = first_line(bus.stdout.take()).trim().to_string();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon did not print its address: {address:?}"
        );
        PolkitBus {
            dir,
            address,
            bus,
            authority: None,
        }
    }

    /// The value for `DBUS_SYSTEM_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn record_file(&self) -> PathBuf {
        self.dir.path().join("requests.jsonl")
    }

    /// Every CheckAuthorization request so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        let text = std::fs::read_to_string(self.record_file()).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("request record");
                let field = |k: &str| v["fields"][k].as_i64().unwrap_or(-1);
                let kind = |k: &str| v["field_types"][k].as_str().unwrap_or("").to_string();
                Request {
                    subject_kind: v["subject_kind"].as_str().unwrap_or("").into(),
                    pid: field("pid"),
                    start_time: field("start-time"),
                    uid: field("uid"),
                    field_types: (kind("pid"), kind("start-time"), kind("uid")),
                    action_id: v["action_id"].as_str().unwrap_or("").into(),
                    details_empty: v["details"].as_object().is_some_and(|d| d.is_empty()),
                    flags: v["flags"].as_i64().unwrap_or(-1),
                    cancellation_id: v["cancellation_id"].as_str().unwrap_or("?").into(),
                }
            })
            .collect()
    }
}

impl Drop for PolkitBus {
    fn drop(&mut self) {
        for child in self
            .authority
            .iter_mut()
            .chain(std::iter::once(&mut self.bus))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn first_line(stdout: Option<ChildStdout>) -> String {
    let mut line = String::new();
    if let Some(out) = stdout {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    line
}

/// A bus like the system bus (EXTERNAL auth only) that lets anyone own and
/// call anything: the policy is the mock authority's business.
fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

fn require_python_dbus() {
    let ok = Command::new(PYTHON)
        .args([
            "-c",
            "import dbus, dbus.service; from gi.repository import GLib",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the mock polkit authority needs the Debian packages python3-dbus and python3-gi"
    );
}

/// Lets `nobody` reach the sockets under a daemon root: every directory from
/// the root down to the socket directory becomes searchable.
pub fn open_path_for_others(root: &Path, socket: &Path) {
    let mut dir = socket.parent();
    while let Some(d) = dir {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        if d == root {
            break;
        }
        dir = d.parent();
    }
}

/// A home directory `nobody` can write (virsh keeps history and cache there).
pub fn nobody_home(root: &Path) -> PathBuf {
    let home = root.join("nobody-home");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    home
}

/// `program args...` as uid/gid `nobody` with no supplementary groups.
pub fn as_nobody(home: &Path, program: &Path, args: &[&str]) -> CmdOutput {
    let setpriv = require_tool("setpriv", "util-linux");
    let mut command = Command::new(setpriv);
    command
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg(program)
        .args(args)
        .env("LC_ALL", "C")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .env_remove("LIBVIRT_DEFAULT_URI");
    run_with_deadline(&mut command, CLIENT_TIMEOUT)
}

/// `virsh -c URI COMMANDS` as `nobody`.
pub fn virsh_as_nobody(home: &Path, uri: &str, commands: &str) -> CmdOutput {
    let virsh = virsh_command();
    as_nobody(home, Path::new(virsh.get_program()), &["-c", uri, commands])
}
