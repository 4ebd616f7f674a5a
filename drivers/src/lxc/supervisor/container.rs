//! What runs in the container's first process between fork and exec: new namespaces, the
//! root filesystem, `/proc`, `/sys`, a minimal `/dev`, the console, pivot_root, hostname,
//! identity, and finally exec of init as PID 1.
//!
//! This code runs in a freshly forked child of a single-threaded supervisor, so ordinary
//! allocation is safe; every failure is reported through the error pipe.

use std::ffi::CString;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::unistd::{Gid, Uid};

use super::capabilities;
use super::mounts::{bad, bind_file, make_dir, mount, readonly_recursive};
use super::SupervisorError;
use crate::lxc::xml::{ContainerSpec, FilesystemSpec};

/// Device nodes bound from the host into the container's `/dev`.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// The child's ends of the handshake pipes and the console.
pub struct ChildSetup<'a> {
    pub spec: &'a ContainerSpec,
    /// Where the root is assembled (an empty directory on the host).
    pub staging: PathBuf,
    /// Path of the console pty's slave on the host.
    pub console: Option<PathBuf>,
    /// Descriptors for init at 3 and up (LISTEN_FDS).
    pub pass_fds: u32,
    /// Parent -> child: one byte after the child joined its cgroup, one after the
    /// parent finished the outside setup (network).
    pub go: OwnedFd,
    /// Child -> parent (close-on-exec): "R" once namespaces exist, an error text on failure.
    pub report: OwnedFd,
}

/// Runs in the child; returns only on failure (after which the child must exit).
pub fn run_child(setup: ChildSetup) -> SupervisorError {
    let ChildSetup {
        spec,
        staging,
        console,
        pass_fds,
        go,
        report,
    } = setup;
    let mut report = fs::File::from(report);
    let paths = (staging.as_path(), console.as_deref());
    let err = match prepare_and_exec(spec, paths, pass_fds, &go, &mut report) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = report.write_all(format!("E{err}").as_bytes());
    err
}

enum Never {}

fn prepare_and_exec(
    spec: &ContainerSpec,
    (staging, console): (&Path, Option<&Path>),
    pass_fds: u32,
    go: &OwnedFd,
    report: &mut fs::File,
) -> Result<Never, SupervisorError> {
    wait_go(go)?;
    if spec.idmap.is_some() {
        // Files can only be created by an id the namespace maps, so become its root
        // first; the run directory and the filesystem sources must then be reachable
        // for the mapped root (no private parent directories).
        super::idmap::become_root_inside()?;
    }
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC;
    if spec.private_net {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    if Path::new("/proc/self/ns/cgroup").exists() {
        flags |= CloneFlags::CLONE_NEWCGROUP;
    }
    check(nix::sched::unshare(flags), "unshare")?;
    report
        .write_all(b"R")
        .map_err(|e| SupervisorError::io("cannot report to the supervisor", e))?;
    wait_go(go)?;

    mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )?;
    // Asked while PID 1 of the new namespace, where libvirt's probe runs too.
    let keep_reboot = capabilities::reboot_is_contained();
    build_root(spec, staging, console)?;
    pivot_into(staging)?;
    check(nix::unistd::sethostname(&spec.name), "sethostname")?;
    attach_console(console.is_some())?;
    capabilities::drop_capabilities(
        &spec
            .capabilities
            .dropped(keep_reboot, capabilities::last_cap()),
    )?;
    reset_signals();
    set_identity(spec)?;
    if let Some(dir) = &spec.init_dir {
        std::env::set_current_dir(dir)
            .map_err(|e| SupervisorError::io("cannot enter initdir", e))?;
    }
    exec_init(spec, pass_fds)
}

fn wait_go(go: &OwnedFd) -> Result<(), SupervisorError> {
    let mut byte = [0u8; 1];
    let mut file = fs::File::from(go.try_clone().map_err(|e| SupervisorError::io("dup", e))?);
    match file.read(&mut byte) {
        Ok(1) => Ok(()),
        _ => Err(SupervisorError::Failed(
            "the supervisor went away during start-up".into(),
        )),
    }
}

fn build_root(
    spec: &ContainerSpec,
    staging: &Path,
    console: Option<&Path>,
) -> Result<(), SupervisorError> {
    let (root, readonly) = spec.root_source();
    mount(
        Some(Path::new(root)),
        staging,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )?;
    if readonly {
        // Mount points are made while the root can still be written; the filesystems,
        // /proc, /sys and /dev mounted on them afterwards keep their own modes.
        let mut points = vec![".oldroot", "proc", "sys", "dev"];
        points.extend(spec.filesystems.iter().map(|f| f.target()));
        for point in points {
            let _ = fs::create_dir_all(inside(staging, point));
        }
        readonly_recursive(staging)?;
    }
    for fs_spec in &spec.filesystems {
        if fs_spec.target() == "/" {
            continue;
        }
        let target = inside(staging, fs_spec.target());
        match fs_spec {
            FilesystemSpec::Bind {
                source, readonly, ..
            } => {
                make_dir(&target)?;
                mount(
                    Some(Path::new(source)),
                    &target,
                    None,
                    libc::MS_BIND | libc::MS_REC,
                    None,
                )?;
                if *readonly {
                    readonly_recursive(&target)?;
                }
            }
            FilesystemSpec::Ram { usage_kib, .. } => {
                make_dir(&target)?;
                let options = format!("size={}k,mode=755", usage_kib);
                mount(
                    Some(Path::new("tmpfs")),
                    &target,
                    Some("tmpfs"),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    Some(&options),
                )?;
            }
        }
    }
    let proc_dir = staging.join("proc");
    make_dir(&proc_dir)?;
    mount(
        Some(Path::new("proc")),
        &proc_dir,
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    )?;
    super::proc_mounts::harden(&proc_dir, spec.private_net)?;
    let sys_dir = staging.join("sys");
    make_dir(&sys_dir)?;
    let ro = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    if mount(Some(Path::new("sysfs")), &sys_dir, Some("sysfs"), ro, None).is_err() {
        mount(
            Some(Path::new("/sys")),
            &sys_dir,
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )?;
        readonly_recursive(&sys_dir)?;
    }
    build_dev(staging, console)
}

/// A tmpfs `/dev` with the usual nodes (bound from the host, which also works where
/// mknod is not allowed), a private devpts and the console.
fn build_dev(staging: &Path, console: Option<&Path>) -> Result<(), SupervisorError> {
    let dev = staging.join("dev");
    make_dir(&dev)?;
    mount(
        Some(Path::new("devfs")),
        &dev,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some("mode=755,size=64k"),
    )?;
    for name in DEVICES {
        bind_file(&Path::new("/dev").join(name), &dev.join(name))?;
    }
    let pts = dev.join("pts");
    make_dir(&pts)?;
    mount(
        Some(Path::new("devpts")),
        &pts,
        Some("devpts"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )?;
    std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx"))
        .map_err(|e| SupervisorError::io("cannot link /dev/ptmx", e))?;
    let shm = dev.join("shm");
    make_dir(&shm)?;
    mount(
        Some(Path::new("shm")),
        &shm,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some("mode=1777"),
    )?;
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))
            .map_err(|e| SupervisorError::io("cannot create /dev link", e))?;
    }
    if let Some(slave) = console {
        bind_file(slave, &dev.join("console"))?;
    }
    Ok(())
}

fn pivot_into(staging: &Path) -> Result<(), SupervisorError> {
    std::env::set_current_dir(staging).map_err(|e| SupervisorError::io("cannot enter root", e))?;
    let old = staging.join(".oldroot");
    make_dir(&old)?;
    check(nix::unistd::pivot_root(".", ".oldroot"), "pivot_root")?;
    std::env::set_current_dir("/").map_err(|e| SupervisorError::io("cannot enter /", e))?;
    check(
        nix::mount::umount2("/.oldroot", nix::mount::MntFlags::MNT_DETACH),
        "umount old root",
    )?;
    let _ = fs::remove_dir("/.oldroot");
    Ok(())
}

/// Makes init a session leader with the console as controlling terminal and stdio.
fn attach_console(has_console: bool) -> Result<(), SupervisorError> {
    let _ = nix::unistd::setsid();
    let path = if has_console {
        "/dev/console"
    } else {
        "/dev/null"
    };
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| SupervisorError::io("cannot open the console", e))?;
    if has_console {
        let _ = rustix::process::ioctl_tiocsctty(&file);
    }
    check(nix::unistd::dup2_stdin(&file), "dup2")?;
    check(nix::unistd::dup2_stdout(&file), "dup2")?;
    check(nix::unistd::dup2_stderr(&file), "dup2")?;
    Ok(())
}

/// Init starts with default signal handling: the supervisor ignores SIGHUP and SIGPIPE,
/// and ignored signals would stay ignored across exec (a shell could not even trap them).
fn reset_signals() {
    use nix::sys::signal::{sigprocmask, SigHandler, SigSet, SigmaskHow, Signal};
    for sig in [
        Signal::SIGHUP,
        Signal::SIGPIPE,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGCHLD,
    ] {
        // SAFETY: SIG_DFL installs no handler, so no Rust code runs on a signal.
        let _ = unsafe { nix::sys::signal::signal(sig, SigHandler::SigDfl) };
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// `<inituser>`/`<initgroup>`: numeric ids or names from the container's own files.
fn set_identity(spec: &ContainerSpec) -> Result<(), SupervisorError> {
    let gid = match &spec.init_group {
        Some(group) => Some(lookup_id("/etc/group", group)?),
        None => None,
    };
    let uid = match &spec.init_user {
        Some(user) => Some(lookup_id("/etc/passwd", user)?),
        None => None,
    };
    if let Some(gid) = gid {
        check(nix::unistd::setgroups(&[]), "setgroups")?;
        check(nix::unistd::setgid(Gid::from_raw(gid)), "setgid")?;
    }
    if let Some(uid) = uid {
        check(nix::unistd::setuid(Uid::from_raw(uid)), "setuid")?;
    }
    Ok(())
}

fn lookup_id(file: &str, name: &str) -> Result<u32, SupervisorError> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    let text = fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            (fields.next()? == name).then_some(())?;
            fields.nth(1)?.parse::<u32>().ok()
        })
        .ok_or_else(|| {
            SupervisorError::Failed(format!("'{name}' is not in the container's {file}"))
        })
}

fn exec_init(spec: &ContainerSpec, pass_fds: u32) -> Result<Never, SupervisorError> {
    let program = CString::new(spec.init.as_bytes()).map_err(|_| bad("init"))?;
    let mut argv = vec![program.clone()];
    for arg in &spec.init_args {
        argv.push(CString::new(arg.as_bytes()).map_err(|_| bad("initarg"))?);
    }
    let mut env = spec.environment();
    if pass_fds > 0 {
        // As libvirt: init finds them the systemd way.
        env.retain(|(k, _)| k != "LISTEN_PID" && k != "LISTEN_FDS");
        env.push(("LISTEN_PID".to_string(), "1".to_string()));
        env.push(("LISTEN_FDS".to_string(), pass_fds.to_string()));
    }
    let envp: Vec<CString> = env
        .into_iter()
        .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
        .collect();
    // Init gets the standard streams (the console), the descriptors passed for it
    // and nothing else of the supervisor or of whoever started it: the same rule
    // as for every process the daemon starts.
    process::mark_cloexec_from(3 + pass_fds as i32);
    let err = match nix::unistd::execve(&program, &argv, &envp) {
        Err(err) => err,
        Ok(never) => match never {},
    };
    Err(SupervisorError::Failed(format!(
        "cannot execute init '{}': {}",
        spec.init,
        std::io::Error::from(err)
    )))
}

fn inside(root: &Path, target: &str) -> PathBuf {
    root.join(target.trim_start_matches('/'))
}

fn check<T>(result: nix::Result<T>, what: &str) -> Result<T, SupervisorError> {
    result
        .map_err(|e| SupervisorError::Failed(format!("{what} failed: {}", std::io::Error::from(e))))
}
