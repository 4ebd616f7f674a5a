//! Helpers shared by the `admin_*` tests: virt-admin with a fixed time zone,
//! parsing of its tables, a long-lived virsh session, and raw admin calls.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use integration_tests::raw::{encode, Reply};
use integration_tests::tools::{require_tool, run_with_deadline, CLIENT_TIMEOUT};
use integration_tests::{wait_until, CmdOutput, Daemon, RawClient};
use protocol::admin::{AdminServerRef, ConnectOpenArgs};
use protocol::programs::{admin_proc, ADMIN_PROGRAM};

/// How long a state change may take to become visible.
pub const SETTLE: Duration = Duration::from_secs(15);

/// `virt-admin -c <admin uri> COMMANDS` in the C locale and UTC, so that
/// connection times print as `... +0000` like the recordings.
pub fn admin(daemon: &Daemon, commands: &str) -> CmdOutput {
    let mut command = Command::new(require_tool("virt-admin", "libvirt-clients"));
    command
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env_remove("LANGUAGE")
        .env_remove("LIBVIRT_ADMIN_DEFAULT_URI")
        .env_remove("LIBVIRT_LOG_OUTPUTS")
        .env_remove("LIBVIRT_LOG_FILTERS")
        .env_remove("LIBVIRT_DEBUG")
        .args(["-c", &daemon.admin_uri(), commands]);
    run_with_deadline(&mut command, CLIENT_TIMEOUT)
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `YYYY-MM-DD HH:MM:SS+0000`, the form virt-admin prints in UTC.
pub fn utc(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}+0000",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// One row of `srv-clients-list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    pub id: u64,
    pub transport: String,
    pub since: String,
}

/// The rows of a `srv-clients-list` table (after its two header lines).
pub fn client_rows(stdout: &str) -> Vec<ClientRow> {
    stdout
        .lines()
        .skip(2)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let id = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            let transport = words.next().unwrap_or_default().to_string();
            let since = words.collect::<Vec<_>>().join(" ");
            ClientRow {
                id,
                transport,
                since,
            }
        })
        .collect()
}

/// The clients of `server` as virt-admin lists them.
pub fn clients_of(daemon: &Daemon, server: &str) -> Vec<ClientRow> {
    let out = admin(daemon, &format!("srv-clients-list {server}"))
        .expect_success("virt-admin srv-clients-list");
    client_rows(&out.stdout)
}

/// `key : value` lines of a virt-admin info command, in order.
pub fn fields(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// An interactive virsh holding one connection open until dropped.
pub struct VirshSession {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: PathBuf,
}

impl VirshSession {
    pub fn start(uri: &str, dir: &Path) -> VirshSession {
        let stderr = dir.join(format!("virsh-{}.stderr", now_nanos()));
        let mut child = Command::new(require_tool("virsh", "libvirt-clients"))
            .env("LC_ALL", "C")
            .env_remove("LIBVIRT_DEFAULT_URI")
            .env_remove("VIRSH_DEFAULT_CONNECT_URI")
            .args(["-q", "-c", uri])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).expect("virsh stderr file"))
            .spawn()
            .expect("start virsh");
        let stdin = child.stdin.take();
        VirshSession {
            child,
            stdin,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends one command line to the interactive shell.
    pub fn send(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}");
        }
    }
}

impl Drop for VirshSession {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// The id of the `libvirtd` client whose peer process is `pid`, once it is
/// registered.
pub fn client_id_of_pid(daemon: &Daemon, pid: u32) -> u64 {
    let mut found = None;
    let registered = wait_until(SETTLE, || {
        found = clients_of(daemon, "libvirtd").into_iter().find_map(|row| {
            let info = admin(daemon, &format!("client-info libvirtd {}", row.id));
            let wanted = ("unix_process_id".to_string(), pid.to_string());
            fields(&info.stdout).contains(&wanted).then_some(row.id)
        });
        found.is_some()
    });
    assert!(registered, "no libvirtd client with pid {pid}");
    found.unwrap_or_default()
}

/// A raw connection to the admin socket, opened as virt-admin opens it.
pub fn raw_admin(daemon: &Daemon) -> RawClient {
    let mut client = RawClient::unix(&daemon.admin_socket());
    admin_call(
        &mut client,
        admin_proc::CONNECT_OPEN,
        &encode(&ConnectOpenArgs { flags: 0 }),
    )
    .expect_ok("admin CONNECT_OPEN");
    client
}

pub fn admin_call(client: &mut RawClient, proc_: i32, body: &[u8]) -> Reply {
    client.call(ADMIN_PROGRAM, proc_, body)
}

pub fn server(name: &str) -> AdminServerRef {
    AdminServerRef {
        name: name.to_string(),
    }
}
