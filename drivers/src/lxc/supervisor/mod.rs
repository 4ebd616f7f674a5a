//! The per-container supervisor (`libvirt_lxc`): a process of its own, detached from the
//! daemon, that builds the container, stays its parent, owns its console, reaps its init,
//! cleans up the cgroup and tells the daemon over the control socket when it is gone.
//! Because it outlives the daemon, containers survive daemon restarts and crashes.
//!
//! Start-up contract with the daemon: the first line on stdout is
//! `ok INITPID SUPERVISORPID CONSOLEPTY` once init runs and the control socket listens, or `error MESSAGE`.

pub mod capabilities;
mod console_log;
mod container;
mod event_loop;
mod idmap;
mod log;
mod mounts;
mod network;
mod proc_mounts;
mod pty;

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use nix::sys::signal::{signal, SigHandler, Signal};
use std::path::{Path, PathBuf};

use super::cgroup::{devices, ContainerCgroup};
use super::cgroup_layout::CgroupLayout;
use super::status::parse_status;
use super::xml::{parse_lxc_status_xml, ContainerSpec};
use container::{run_child, ChildSetup};

/// Errors of the supervisor; they end up in the daemon's error message and the log.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Lxc(#[from] super::error::LxcError),
}

impl SupervisorError {
    pub fn io(what: &str, source: std::io::Error) -> Self {
        SupervisorError::Io {
            what: what.to_string(),
            source,
        }
    }

    pub fn io_at(what: &str, path: &Path, source: std::io::Error) -> Self {
        SupervisorError::Io {
            what: format!("{what} '{}'", path.display()),
            source,
        }
    }
}

/// Command line of the supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorArgs {
    pub name: String,
    /// The status file holding the live definition.
    pub status: PathBuf,
    pub socket: PathBuf,
    pub staging: PathBuf,
    /// Descriptors passed for init, at 3 and up (`virsh create --pass-fds`).
    pub pass_fds: u32,
}

impl SupervisorArgs {
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args = vec![
            "--name".into(),
            self.name.clone().into(),
            "--status".into(),
            self.status.clone().into(),
            "--socket".into(),
            self.socket.clone().into(),
            "--staging".into(),
            self.staging.clone().into(),
        ];
        if self.pass_fds > 0 {
            args.push("--pass-fds".into());
            args.push(self.pass_fds.to_string().into());
        }
        args
    }

    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Self, SupervisorError> {
        let mut name = None;
        let mut status = None;
        let mut socket = None;
        let mut staging = None;
        let mut pass_fds = 0;
        let mut iter = args.into_iter();
        while let Some(flag) = iter.next() {
            let value = iter
                .next()
                .ok_or_else(|| SupervisorError::Failed(format!("{flag:?} needs a value")))?;
            match flag.to_str() {
                Some("--name") => name = Some(value.to_string_lossy().into_owned()),
                Some("--status") => status = Some(PathBuf::from(value)),
                Some("--socket") => socket = Some(PathBuf::from(value)),
                Some("--staging") => staging = Some(PathBuf::from(value)),
                Some("--pass-fds") => {
                    pass_fds = value
                        .to_str()
                        .and_then(|v| v.parse().ok())
                        .filter(|n| *n <= protocol_fd_limit())
                        .ok_or_else(|| SupervisorError::Failed("bad --pass-fds".into()))?
                }
                _ => return Err(SupervisorError::Failed(format!("unknown option {flag:?}"))),
            }
        }
        let missing = |what: &str| SupervisorError::Failed(format!("--{what} is required"));
        Ok(SupervisorArgs {
            name: name.ok_or_else(|| missing("name"))?,
            status: status.ok_or_else(|| missing("status"))?,
            socket: socket.ok_or_else(|| missing("socket"))?,
            staging: staging.ok_or_else(|| missing("staging"))?,
            pass_fds,
        })
    }
}

/// The most descriptors one call can pass (libvirt's RPC limit).
fn protocol_fd_limit() -> u32 {
    32
}

/// Entry point of the `libvirt_lxc` binary (arguments without the program name).
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    log::install();
    let args = match SupervisorArgs::parse(args) {
        Ok(args) => args,
        Err(e) => {
            println!("error {e}");
            return 2;
        }
    };
    // Detach: the daemon reaps the intermediate process at once; the supervisor proper
    // is re-parented to init and keeps running whatever happens to the daemon.
    // SAFETY: the process is single-threaded here.
    match unsafe { libc::fork() } {
        -1 => {
            println!("error fork failed: {}", std::io::Error::last_os_error());
            return 1;
        }
        0 => {}
        _ => return 0,
    }
    let _ = nix::unistd::setsid();
    // SAFETY: SIG_IGN installs no handler, so no Rust code runs on a signal.
    unsafe {
        let _ = signal(Signal::SIGPIPE, SigHandler::SigIgn);
        let _ = signal(Signal::SIGHUP, SigHandler::SigIgn);
    }
    let _ = std::env::set_current_dir("/");
    let started = start(&args);
    // Init holds the passed descriptors now (or never will): the supervisor
    // lets go of its copies.
    for fd in 3..3 + args.pass_fds as i32 {
        // SAFETY: 3.. are the descriptors the daemon passed for init; nothing
        // else of this process uses them.
        unsafe { libc::close(fd) };
    }
    match started {
        Ok(running) => {
            let tty = running
                .console
                .as_ref()
                .map(|c| c.slave_path.display().to_string())
                .unwrap_or_default();
            let _ = writeln!(
                std::io::stdout(),
                "ok {} {} {tty}",
                running.init_pid,
                std::process::id()
            );
            let _ = std::io::stdout().flush();
            silence_stdout();
            event_loop::serve(running)
        }
        Err(e) => {
            tracing::error!(container = %args.name, "start failed: {e}");
            println!("error {e}");
            1
        }
    }
}

/// Everything the event loop owns once the container runs.
pub struct RunningContainer {
    pub args: SupervisorArgs,
    pub spec: ContainerSpec,
    pub init_pid: i32,
    pub cgroup: ContainerCgroup,
    pub console: Option<pty::Pty>,
    pub listener: std::os::unix::net::UnixListener,
    pub host_interfaces: Vec<String>,
    /// Where console output goes, size-capped.
    pub log: console_log::ConsoleLog,
}

fn start(args: &SupervisorArgs) -> Result<RunningContainer, SupervisorError> {
    let text = fs::read_to_string(&args.status)
        .map_err(|e| SupervisorError::io_at("cannot read", &args.status, e))?;
    let (_, domain_xml) = parse_status(&text)?;
    let (_, spec) = parse_lxc_status_xml(&domain_xml)?;
    let console = pty::Pty::open()?;
    let layout = CgroupLayout::detect();
    let cgroup = ContainerCgroup::create(&layout, &spec.partition, &spec.name)?;
    let result = (|| {
        cgroup.init_cpuset()?;
        cgroup.set_memory_limit(spec.memory_kib)?;
        cgroup.set_vcpu_quota(spec.vcpus)?;
        let console_device = devices::char_device_of(&console.slave_path);
        cgroup.restrict_devices(&devices::allow_list(console_device))?;
        fs::create_dir_all(&args.staging)
            .map_err(|e| SupervisorError::io_at("cannot create", &args.staging, e))?;
        spawn_container(args, &spec, &cgroup, &console)
    })();
    let (init_pid, host_interfaces) = match result {
        Ok(started) => started,
        Err(e) => {
            let _ = cgroup.remove();
            let _ = fs::remove_dir(&args.staging);
            return Err(e);
        }
    };
    let _ = fs::remove_file(&args.socket);
    let listener = std::os::unix::net::UnixListener::bind(&args.socket)
        .map_err(|e| SupervisorError::io_at("cannot listen on", &args.socket, e))?;
    let _ = fs::set_permissions(
        &args.socket,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    );
    Ok(RunningContainer {
        args: args.clone(),
        spec,
        init_pid,
        cgroup,
        console: Some(console),
        listener,
        host_interfaces,
        log: console_log::ConsoleLog::from_stderr(),
    })
}

/// Forks init in a new PID namespace and walks it through the handshake.
fn spawn_container(
    args: &SupervisorArgs,
    spec: &ContainerSpec,
    cgroup: &ContainerCgroup,
    console: &pty::Pty,
) -> Result<(i32, Vec<String>), SupervisorError> {
    let (go_read, go_write) = pipe()?;
    let (report_read, report_write) = pipe()?;
    let mut clone_flags = libc::CLONE_NEWPID | libc::SIGCHLD;
    if spec.idmap.is_some() {
        // Created together, the PID namespace belongs to the new user namespace, so
        // the container's root may mount its own /proc.
        clone_flags |= libc::CLONE_NEWUSER;
    }
    // clone(2) with a new PID namespace and no new stack behaves like fork, but only this
    // child enters the namespace: helpers the supervisor runs later (ip) stay outside.
    // SAFETY: the supervisor is single-threaded, so the child may run ordinary code.
    let pid = unsafe { libc::syscall(libc::SYS_clone, clone_flags, 0usize, 0usize, 0usize, 0usize) }
        as i32;
    if pid < 0 {
        return Err(SupervisorError::io("fork", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        drop(go_write);
        drop(report_read);
        let err = run_child(ChildSetup {
            spec,
            staging: args.staging.clone(),
            console: Some(console.slave_path.clone()),
            pass_fds: args.pass_fds,
            go: go_read,
            report: report_write,
        });
        tracing::error!(container = %spec.name, "container set-up failed: {err}");
        // SAFETY: _exit ends the child without running the parent's destructors.
        unsafe { libc::_exit(1) };
    }
    drop(go_read);
    drop(report_write);
    let mut go = fs::File::from(go_write);
    let mut report = fs::File::from(report_read);
    let mut interfaces = Vec::new();
    let outcome = (|| {
        cgroup.add_process(pid)?;
        if let Some(map) = &spec.idmap {
            idmap::write_maps(pid, map)?;
            idmap::hand_over_console(&console.slave, map)?;
        }
        send_go(&mut go)?;
        let mut first = [0u8; 1];
        let n = report
            .read(&mut first)
            .map_err(|e| SupervisorError::io("cannot read the child's report", e))?;
        if n == 0 || first[0] != b'R' {
            return Err(child_failure(&mut report, n == 1, first[0]));
        }
        if spec.private_net {
            network::setup_interfaces(pid, &spec.interfaces, &mut interfaces)?;
            network::bring_up_loopback(pid)?;
        }
        send_go(&mut go)?;
        let mut rest = Vec::new();
        let _ = report.read_to_end(&mut rest);
        if !rest.is_empty() {
            let text = String::from_utf8_lossy(&rest);
            return Err(SupervisorError::Failed(
                text.trim_start_matches('E').to_string(),
            ));
        }
        Ok(())
    })();
    match outcome {
        Ok(()) => Ok((pid, interfaces)),
        Err(e) => {
            network::remove_interfaces(&interfaces);
            // pid is our own child.
            let child = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(child, None);
            Err(e)
        }
    }
}

fn child_failure(report: &mut fs::File, got_byte: bool, first: u8) -> SupervisorError {
    let mut rest = Vec::new();
    let _ = report.read_to_end(&mut rest);
    let mut text = String::new();
    if got_byte && first != b'E' {
        text.push(first as char);
    }
    text.push_str(&String::from_utf8_lossy(&rest));
    if text.is_empty() {
        text = "the container's first process died during set-up".into();
    }
    SupervisorError::Failed(text)
}

fn send_go(go: &mut fs::File) -> Result<(), SupervisorError> {
    go.write_all(b"G")
        .map_err(|e| SupervisorError::io("cannot signal the container", e))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), SupervisorError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| SupervisorError::io("pipe", e.into()))
}

/// After the start-up line the daemon stops reading; stdout goes to /dev/null.
fn silence_stdout() {
    if let Ok(null) = fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip() {
        let args = SupervisorArgs {
            name: "c1".into(),
            status: "/run/libvirt/lxc/c1.xml".into(),
            socket: "/run/libvirt/lxc/c1.sock".into(),
            staging: "/run/libvirt/lxc/c1.root".into(),
            pass_fds: 0,
        };
        assert_eq!(SupervisorArgs::parse(args.to_args()).expect("parses"), args);
        let passing = SupervisorArgs {
            pass_fds: 3,
            ..args.clone()
        };
        assert_eq!(
            SupervisorArgs::parse(passing.to_args()).expect("parses"),
            passing
        );
        let mut too_many = args.to_args();
        too_many.extend(["--pass-fds".into(), "33".into()]);
        assert!(SupervisorArgs::parse(too_many).is_err());
        let err = SupervisorArgs::parse(vec![OsString::from("--name")]).expect_err("no value");
        assert!(err.to_string().contains("needs a value"), "{err}");
        let err = SupervisorArgs::parse(vec![OsString::from("--name"), OsString::from("c")])
            .expect_err("missing status");
        assert!(err.to_string().contains("--status"), "{err}");
    }
}
