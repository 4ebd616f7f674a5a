//! Running the real clients (virsh, virt-admin, python3-libvirt) with a
//! deadline, and checking that they are installed.

use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// How long one client invocation may take before the test fails.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// libvirt's own in-process test driver: the reference behaviour.
pub fn reference_uri() -> &'static str {
    "test:///default"
}

/// The python interpreter that has python3-libvirt (not whatever is first
/// on PATH).
pub const PYTHON: &str = "/usr/bin/python3";

/// What a finished command printed and how it ended.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    /// The exit code, or `None` when killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    pub fn success(&self) -> bool {
        self.status.success()
    }
    /// Panics (showing everything) unless the command exited 0.
    pub fn expect_success(self, what: &str) -> CmdOutput {
        assert!(self.success(), "{what} failed:\n{self}");
        self
    }
}

impl fmt::Display for CmdOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match (self.status.code(), self.status.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!("signal {sig}"),
            _ => self.status.to_string(),
        };
        write!(
            f,
            "[{how}]\n--- stdout:\n{}--- stderr:\n{}---",
            self.stdout, self.stderr
        )
    }
}

/// Finds an executable (absolute path or a name looked up in PATH) or
/// panics naming the Debian package that provides it.
pub fn require_tool(name: &str, package: &str) -> PathBuf {
    let found = if name.contains('/') {
        Some(PathBuf::from(name)).filter(|p| p.is_file())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    };
    match found {
        Some(path) => path,
        None => panic!("{name} is not installed: install the Debian package {package}"),
    }
}

/// Checks that /usr/bin/python3 can import the libvirt module.
pub fn require_python_libvirt() -> PathBuf {
    let python = require_tool(PYTHON, "python3");
    let probe = run_with_deadline(
        Command::new(&python).args(["-c", "import libvirt"]),
        CLIENT_TIMEOUT,
    );
    assert!(
        probe.success(),
        "{PYTHON} cannot import libvirt: install the Debian package python3-libvirt\n{probe}"
    );
    python
}

/// A `virsh` command with a predictable environment (C locale, no default
/// URI or client logging from the caller's environment).
pub fn virsh_command() -> Command {
    let mut command = Command::new(require_tool("virsh", "libvirt-clients"));
    client_env(&mut command);
    command
}

fn client_env(command: &mut Command) {
    command
        .env("LC_ALL", "C")
        .env_remove("LANGUAGE")
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env_remove("VIRSH_DEFAULT_CONNECT_URI")
        .env_remove("LIBVIRT_ADMIN_DEFAULT_URI")
        .env_remove("LIBVIRT_LOG_OUTPUTS")
        .env_remove("LIBVIRT_LOG_FILTERS")
        .env_remove("LIBVIRT_DEBUG");
}

/// `virsh -c URI COMMANDS`, where COMMANDS may hold several commands
/// separated by `;` (run in one connection, like virsh's shell mode).
pub fn virsh(uri: &str, commands: &str) -> CmdOutput {
    virsh_args(&["-c", uri, commands])
}

/// `virsh ARGS...`.
pub fn virsh_args(args: &[&str]) -> CmdOutput {
    run_with_deadline(virsh_command().args(args), CLIENT_TIMEOUT)
}

/// `virt-admin -c URI COMMANDS`.
pub fn virt_admin(uri: &str, commands: &str) -> CmdOutput {
    let mut command = Command::new(require_tool("virt-admin", "libvirt-clients"));
    client_env(&mut command);
    command.args(["-c", uri, commands]);
    run_with_deadline(&mut command, CLIENT_TIMEOUT)
}

/// Runs `tests/data/<script>` with /usr/bin/python3 and the given arguments.
pub fn python(script: &str, args: &[&str]) -> CmdOutput {
    let python = require_python_libvirt();
    let mut command = Command::new(python);
    client_env(&mut command);
    command.arg(crate::data_file(script)).args(args);
    run_with_deadline(&mut command, CLIENT_TIMEOUT)
}

/// Runs a command with stdin from /dev/null, collecting its output; kills
/// it and panics if it is not done within `timeout`.
pub fn run_with_deadline(command: &mut Command, timeout: Duration) -> CmdOutput {
    let program = describe(command);
    // Its own process group, so that a deadline also kills what it started
    // (a script's virsh would otherwise hold the output pipes open).
    let child = command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    wait_with_deadline(child, timeout, &program)
}

/// Like [`run_with_deadline`], with `input` written to the command's stdin
/// (which is then closed).
pub fn run_with_stdin(command: &mut Command, input: &[u8], timeout: Duration) -> CmdOutput {
    let program = describe(command);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    wait_with_deadline(child, timeout, &program)
}

/// Collects the output of a spawned child with piped stdout and stderr.
pub fn wait_with_deadline(mut child: Child, timeout: Duration, what: &str) -> CmdOutput {
    let stdout = child.stdout.take().map(read_in_thread);
    let stderr = child.stderr.take().map(read_in_thread);
    let mut status = None;
    let finished = crate::wait_until(timeout, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if !finished {
        kill_group_of(&child);
        let _ = child.kill();
        let _ = child.wait();
    }
    let collect = |reader: Option<std::thread::JoinHandle<String>>| {
        reader
            .map(|r| r.join().unwrap_or_default())
            .unwrap_or_default()
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    match status {
        Some(status) if finished => CmdOutput {
            status,
            stdout,
            stderr,
        },
        _ => panic!(
            "{what} did not finish within {timeout:?}\n--- stdout:\n{stdout}--- stderr:\n{stderr}"
        ),
    }
}

/// Kills the process group `child` leads, if it leads one (children started by
/// [`run_with_deadline`] do): what it started goes with it.
fn kill_group_of(child: &Child) {
    let Ok(pid) = i32::try_from(child.id()) else {
        return;
    };
    // The group is signalled only when the child leads it, never the test's own group.
    let pid = nix::unistd::Pid::from_raw(pid);
    if nix::unistd::getpgid(Some(pid)) == Ok(pid) {
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
    }
}

fn read_in_thread(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program()).display().to_string();
    let args: Vec<String> = command
        .get_args()
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    format!("{program} {}", args.join(" "))
}
