//! What a trivial qemu hook script adds to a guest start, on this daemon and on
//! the real libvirtd 9.0.
//!
//! Each daemon runs twice side by side, one instance without hook scripts and
//! one with a `qemu` script that only reads its input; starts alternate between
//! the two so that drift (a busy machine, a warming page cache) hits both alike.
//! A start runs three hook calls (prepare, start, started); the figure is the
//! median of the differences between each hooked start and the plain start
//! just before it, which cancels drift better than a difference of medians. The guest has no disk and no
//! kernel (QEMU's firmware finds nothing to boot), so the start is only the
//! daemon's work plus QEMU's launch.
//!
//! Everything that can go wrong here (no QEMU, no virsh, a daemon that cannot
//! run guests on this machine) becomes a note in the report, never a failure
//! of the whole benchmark.

use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::isolation::Isolation;
use crate::launch::{config_text, DaemonSpec, Flavor};

const VIRSH: &str = "/usr/bin/virsh";
const QEMU: &str = "/usr/bin/qemu-system-x86_64";
const GUEST: &str = "hookbench";
/// The trivial hook: it reads the domain XML it is given and succeeds.
const TRIVIAL_HOOK: &str = "#!/bin/sh\ncat >/dev/null\nexit 0\n";
/// Guests run as root, with QEMU's output in a plain file (no virtlogd here).
const QEMU_CONF: &str = "user = \"root\"\ngroup = \"root\"\nstdio_handler = \"file\"\n";
const READY_LIMIT: Duration = Duration::from_secs(60);
const STOP_LIMIT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum HookBenchError {
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("preparing {path}: {source}")]
    Prepare { path: PathBuf, source: io::Error },
    #[error("starting {binary}: {source}")]
    Spawn { binary: PathBuf, source: io::Error },
    #[error("the daemon did not answer within {0:?} (log {1})")]
    NotReady(Duration, PathBuf),
    #[error("`virsh {command}` failed: {stderr}")]
    Virsh { command: String, stderr: String },
    #[error("path with a NUL byte: {0}")]
    Nul(PathBuf),
}

/// Start times of one daemon without and with the hook.
#[derive(Debug, Clone, PartialEq)]
pub struct HookOverhead {
    pub without_hook: Vec<Duration>,
    pub with_hook: Vec<Duration>,
}

impl HookOverhead {
    /// Median start without the hook, in milliseconds.
    pub fn without_ms(&self) -> f64 {
        median_ms(self.without_hook.iter().map(|d| d.as_secs_f64() * 1000.0))
    }

    /// Median start with the hook, in milliseconds.
    pub fn with_ms(&self) -> f64 {
        median_ms(self.with_hook.iter().map(|d| d.as_secs_f64() * 1000.0))
    }

    /// Each hooked start minus the plain start before it, in milliseconds.
    fn paired_ms(&self) -> impl Iterator<Item = f64> + '_ {
        self.with_hook
            .iter()
            .zip(&self.without_hook)
            .map(|(with, without)| (with.as_secs_f64() - without.as_secs_f64()) * 1000.0)
    }

    /// What the hook added to a start: the median of the paired differences
    /// (negative when noise outweighs it).
    pub fn added_ms(&self) -> f64 {
        median_ms(self.paired_ms())
    }

    /// The first and third quartiles of the paired differences: how far the
    /// noise of the machine lets the overhead be trusted.
    pub fn added_quartiles_ms(&self) -> (f64, f64) {
        let sorted = sorted(self.paired_ms());
        (quantile(&sorted, 0.25), quantile(&sorted, 0.75))
    }
}

/// Measures every daemon of `specs` and writes a small table (or the reason
/// a daemon could not be measured) to `out`.
pub fn report(
    specs: &[&DaemonSpec],
    scratch: &Path,
    quick: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let starts = if quick { 11 } else { 31 };
    writeln!(
        out,
        "\nqemu hook overhead: median `virsh start` of a guest, without and with a trivial \
         qemu hook (3 calls per start), {starts} starts each; the overhead is the median \
         of the paired differences"
    )?;
    writeln!(
        out,
        "{:<14} {:>14} {:>14} {:>14} {:>24}",
        "daemon", "no hook", "with hook", "hook adds", "middle half of the adds"
    )?;
    let mut added = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        eprintln!("libvirtd-bench: {}: qemu hook overhead", spec.label);
        let dir = scratch.join(format!("hook-overhead-{index}"));
        match measure(spec, &dir, starts) {
            Ok(figures) => {
                let (low, high) = figures.added_quartiles_ms();
                writeln!(
                    out,
                    "{:<14} {:>11.1} ms {:>11.1} ms {:>11.1} ms {:>24}",
                    spec.label,
                    figures.without_ms(),
                    figures.with_ms(),
                    figures.added_ms(),
                    format!("{low:.1} .. {high:.1} ms")
                )?;
                added.push(figures.added_ms());
            }
            Err(e) => writeln!(out, "{:<14} not measured: {e}", spec.label)?,
        }
    }
    if let [ours, theirs] = added[..] {
        if theirs > 0.0 && ours > 0.0 {
            writeln!(
                out,
                "hook overhead ratio (ours / theirs): {:.2}",
                ours / theirs
            )?;
        }
    }
    Ok(())
}

/// Starts the two instances of `spec` and alternates `starts` guest starts
/// between them.
pub fn measure(
    spec: &DaemonSpec,
    dir: &Path,
    starts: usize,
) -> Result<HookOverhead, HookBenchError> {
    for (path, name) in [
        (VIRSH, "virsh (package libvirt-clients)"),
        (QEMU, "qemu-system-x86_64 (package qemu-system-x86)"),
    ] {
        if !Path::new(path).is_file() {
            return Err(HookBenchError::Missing(name));
        }
    }
    let plain = Instance::start(spec, &dir.join("plain"), false)?;
    let hooked = Instance::start(spec, &dir.join("hooked"), true)?;
    for instance in [&plain, &hooked] {
        instance.define(&dir.join("guest.xml"))?;
        // One start and stop first: QEMU's first launch reads its files from disk.
        instance.start_guest()?;
        instance.virsh(&format!("destroy {GUEST}"))?;
    }
    let mut without = Vec::with_capacity(starts);
    let mut with = Vec::with_capacity(starts);
    for _ in 0..starts {
        without.push(plain.start_guest()?);
        plain.virsh(&format!("destroy {GUEST}"))?;
        with.push(hooked.start_guest()?);
        hooked.virsh(&format!("destroy {GUEST}"))?;
    }
    Ok(HookOverhead {
        without_hook: without,
        with_hook: with,
    })
}

fn sorted(samples: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut sorted: Vec<f64> = samples.collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// The value at fraction `q` of the sorted samples (nearest rank; 0 when empty).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * q).floor() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The middle value (the upper one of the two middle values for an even count).
fn median_ms(samples: impl Iterator<Item = f64>) -> f64 {
    quantile(&sorted(samples), 0.5)
}

fn prepare<T>(path: &Path, result: io::Result<T>) -> Result<T, HookBenchError> {
    result.map_err(|source| HookBenchError::Prepare {
        path: path.to_path_buf(),
        source,
    })
}

fn cpath(path: &Path) -> Result<CString, HookBenchError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| HookBenchError::Nul(path.to_path_buf()))
}

/// Writes `<etc>/qemu.conf` and, when `hook`, `<etc>/hooks/qemu`.
fn write_etc(etc: &Path, hook: bool) -> Result<(), HookBenchError> {
    let hooks = etc.join("hooks");
    prepare(&hooks, fs::create_dir_all(&hooks))?;
    let conf = etc.join("qemu.conf");
    prepare(&conf, fs::write(&conf, QEMU_CONF))?;
    if hook {
        let script = hooks.join("qemu");
        prepare(&script, fs::write(&script, TRIVIAL_HOOK))?;
        prepare(
            &script,
            fs::set_permissions(&script, fs::Permissions::from_mode(0o755)),
        )?;
    }
    Ok(())
}

/// Lets a daemon (or this process, and what it starts) use every CPU even when
/// the benchmark pinned itself to one.
pub(crate) fn unpin() -> io::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for cpu in 0..nix::sched::CpuSet::count() {
        set.set(cpu)?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)?;
    Ok(())
}

/// One running daemon; killed with its process group when dropped.
struct Instance {
    child: Child,
    uri: String,
    log: PathBuf,
}

impl Instance {
    fn start(spec: &DaemonSpec, dir: &Path, hook: bool) -> Result<Instance, HookBenchError> {
        let socket_dir = dir.join("sock");
        prepare(&socket_dir, fs::create_dir_all(&socket_dir))?;
        let config = dir.join("libvirtd.conf");
        prepare(&config, fs::write(&config, config_text(&socket_dir)))?;
        let log = dir.join("daemon.log");
        let log_file = prepare(&log, fs::File::create(&log))?;
        let log_err = prepare(&log, log_file.try_clone())?;
        let mut command = Command::new(&spec.binary);
        command
            .arg("-f")
            .arg(&config)
            .arg("-p")
            .arg(dir.join("libvirtd.pid"))
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .process_group(0);
        match &spec.flavor {
            Flavor::Ours => {
                let root = dir.join("root");
                write_etc(&root.join("etc/libvirt"), hook)?;
                command.env("LIBVIRTD_ROOT", &root);
                // SAFETY: the closure only makes a system call.
                unsafe {
                    command.pre_exec(unpin);
                }
            }
            Flavor::Theirs { isolation, .. } => {
                let etc = dir.join("etc-libvirt");
                write_etc(&etc, hook)?;
                let etc = cpath(&etc)?;
                let target = cpath(Path::new("/etc/libvirt"))?;
                let isolation: Arc<Isolation> = Arc::clone(isolation);
                // SAFETY: system calls only, on strings prepared before the fork.
                unsafe {
                    command.pre_exec(move || {
                        unpin()?;
                        isolation.enter()?;
                        // Our /etc/libvirt (qemu.conf and hooks) over the private one.
                        let rc = libc::mount(
                            etc.as_ptr(),
                            target.as_ptr(),
                            std::ptr::null(),
                            libc::MS_BIND,
                            std::ptr::null(),
                        );
                        if rc != 0 {
                            return Err(io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            }
        }
        let child = command.spawn().map_err(|source| HookBenchError::Spawn {
            binary: spec.binary.clone(),
            source,
        })?;
        let socket = socket_dir.join("libvirt-sock");
        let mut instance = Instance {
            child,
            uri: format!("qemu+unix:///system?socket={}", socket.display()),
            log,
        };
        let deadline = Instant::now() + READY_LIMIT;
        while UnixStream::connect(&socket).is_err() {
            let exited = instance.child.try_wait().ok().flatten().is_some();
            if exited || Instant::now() >= deadline {
                return Err(HookBenchError::NotReady(READY_LIMIT, instance.log.clone()));
            }
            thread::sleep(Duration::from_millis(5));
        }
        Ok(instance)
    }

    fn virsh(&self, command: &str) -> Result<(), HookBenchError> {
        let output = Command::new(VIRSH)
            .arg("-q")
            .arg("-c")
            .arg(&self.uri)
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| HookBenchError::Spawn {
                binary: PathBuf::from(VIRSH),
                source,
            })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(HookBenchError::Virsh {
                command: command.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    fn define(&self, xml_file: &Path) -> Result<(), HookBenchError> {
        let xml = format!(
            "<domain type='qemu'><name>{GUEST}</name><memory unit='MiB'>64</memory>\
             <vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>\n"
        );
        prepare(xml_file, fs::write(xml_file, xml))?;
        self.virsh(&format!("define {}", xml_file.display()))
    }

    /// How long `virsh start` of the guest took.
    fn start_guest(&self) -> Result<Duration, HookBenchError> {
        let began = Instant::now();
        self.virsh(&format!("start {GUEST}"))?;
        Ok(began.elapsed())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.virsh(&format!("destroy {GUEST}"));
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + STOP_LIMIT;
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(-pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median_ms([30.0, 10.0, 20.0].into_iter()), 20.0);
        assert_eq!(median_ms([40.0, 10.0, 30.0, 20.0].into_iter()), 30.0);
        assert_eq!(median_ms(std::iter::empty()), 0.0);
    }

    #[test]
    fn overhead_is_the_median_paired_difference() {
        let ms = Duration::from_millis;
        let figures = HookOverhead {
            without_hook: vec![ms(200), ms(300), ms(100)],
            with_hook: vec![ms(212), ms(290), ms(115)],
        };
        // Differences 12, -10, 15: the median is 12; the medians are 200 and 212.
        assert!((figures.added_ms() - 12.0).abs() < 1e-9);
        let (low, high) = figures.added_quartiles_ms();
        assert!(
            (low + 10.0).abs() < 1e-9 && (high - 15.0).abs() < 1e-9,
            "{low} {high}"
        );
        assert!((figures.without_ms() - 200.0).abs() < 1e-9);
        assert!((figures.with_ms() - 212.0).abs() < 1e-9);
    }

    #[test]
    fn the_hooked_etc_has_an_executable_qemu_script() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_etc(dir.path(), true).expect("write etc");
        let script = dir.path().join("hooks/qemu");
        let mode = fs::metadata(&script).expect("script").permissions().mode();
        assert_eq!(mode & 0o111, 0o111);
        assert!(fs::read_to_string(dir.path().join("qemu.conf"))
            .expect("qemu.conf")
            .contains("stdio_handler = \"file\""));
        let plain = tempfile::tempdir().expect("tempdir");
        write_etc(plain.path(), false).expect("write etc");
        assert!(!plain.path().join("hooks/qemu").exists());
    }
}
