//! Guest lifecycle latency and big listings, on this daemon and on the real
//! libvirtd 9.0, through the same client (python3-libvirt, as the figures
//! quoted for libvirtd were taken):
//!
//! - start-to-running: `create` of a defined diskless TCG guest until it
//!   returns with the guest running, 10 times;
//! - destroy-to-shutoff: `destroy` until it returns with the guest shut off;
//! - `listAllDomains` plus the state of each, with 1000 defined domains (what
//!   `virsh list --all` asks), median of 5; and `listAllDomains` alone. With one
//!   round trip per domain, the client's own cost per call (tens of
//!   microseconds in python3-libvirt) bounds the first ratio.
//!
//! Each daemon gets a `qemu.conf` running guests as root with QEMU's output
//! in a plain file (the real one has no virtlogd in its namespace). What
//! cannot be measured on this machine becomes a note, never a failure.

use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::isolation::Isolation;
use crate::launch::{config_text, DaemonSpec, Flavor};

pub(crate) const PYTHON: &str = "/usr/bin/python3";
pub(crate) const QEMU: &str = "/usr/bin/qemu-system-x86_64";
const QEMU_CONF: &str = "user = \"root\"\ngroup = \"root\"\nstdio_handler = \"file\"\n";
const READY_LIMIT: Duration = Duration::from_secs(60);
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// The client side: prints one "<what> <seconds>" line per sample.
const CLIENT: &str = r#"
import sys, time, libvirt
uri, reps, defined, lists = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
conn = libvirt.open(uri)
xml = ("<domain type='qemu'><name>latency</name><memory unit='MiB'>64</memory>"
       "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>")
dom = conn.defineXML(xml)
# One start first: QEMU's first launch reads its files from disk.
dom.create()
dom.destroy()
for _ in range(reps):
    t0 = time.perf_counter()
    dom.create()
    assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    print("start", time.perf_counter() - t0, flush=True)
    t0 = time.perf_counter()
    dom.destroy()
    assert dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
    print("destroy", time.perf_counter() - t0, flush=True)
for i in range(defined):
    conn.defineXML("<domain type='qemu'><name>listed%04d</name><memory unit='MiB'>64</memory>"
                   "<os><type arch='x86_64'>hvm</type></os></domain>" % i)
for _ in range(lists):
    t0 = time.perf_counter()
    doms = conn.listAllDomains(0)
    t1 = time.perf_counter()
    for d in doms:
        d.state()
    t2 = time.perf_counter()
    assert len(doms) >= defined
    print("listonly", t1 - t0, flush=True)
    print("list", t2 - t0, flush=True)
"#;

#[derive(Debug, thiserror::Error)]
pub enum GuestBenchError {
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("preparing {path}: {source}")]
    Prepare { path: PathBuf, source: io::Error },
    #[error("starting {binary}: {source}")]
    Spawn { binary: PathBuf, source: io::Error },
    #[error("the daemon did not answer within {0:?} (log {1})")]
    NotReady(Duration, PathBuf),
    #[error("the python3-libvirt client failed: {0}")]
    Client(String),
    #[error("path with a NUL byte: {0}")]
    Nul(PathBuf),
}

/// Medians of one daemon.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GuestFigures {
    pub start: Duration,
    pub destroy: Duration,
    /// `listAllDomains` plus one state call per domain (what `virsh list --all` sends).
    pub list: Duration,
    /// `listAllDomains` alone.
    pub list_only: Duration,
}

/// Sizes of the phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestPlan {
    pub repetitions: usize,
    pub defined: usize,
    pub lists: usize,
}

impl GuestPlan {
    pub fn new(quick: bool) -> GuestPlan {
        GuestPlan {
            repetitions: if quick { 3 } else { 10 },
            defined: 1000,
            lists: 5,
        }
    }
}

/// Measures every daemon of `specs` and writes a table with ratios to `out`.
pub fn report(
    specs: &[&DaemonSpec],
    scratch: &Path,
    quick: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let plan = GuestPlan::new(quick);
    writeln!(
        out,
        "\nguests (python3-libvirt): median of {} create (start-to-running) and destroy \
         (destroy-to-shutoff) of a diskless TCG guest; listAllDomains + state of each with {} \
         defined domains, median of {}",
        plan.repetitions, plan.defined, plan.lists
    )?;
    writeln!(
        out,
        "{:<14} {:>12} {:>12} {:>12} {:>12}",
        "daemon", "start", "destroy", "list --all", "list only"
    )?;
    let mut measured = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        eprintln!("libvirtd-bench: {}: guest latency", spec.label);
        match measure(spec, &scratch.join(format!("guests-{index}")), plan) {
            Ok(f) => {
                writeln!(
                    out,
                    "{:<14} {:>9.1} ms {:>9.1} ms {:>9.1} ms {:>9.2} ms",
                    spec.label,
                    ms(f.start),
                    ms(f.destroy),
                    ms(f.list),
                    ms(f.list_only)
                )?;
                measured.push(f);
            }
            Err(e) => writeln!(out, "{:<14} not measured: {e}", spec.label)?,
        }
    }
    if let [ours, theirs] = measured[..] {
        writeln!(
            out,
            "ratios (ours / theirs): start {:.3} (target <= 0.5), destroy {:.3} (target <= 0.2), \
             list --all {:.3} (target <= 0.2), list only {:.3}",
            ratio(ours.start, theirs.start),
            ratio(ours.destroy, theirs.destroy),
            ratio(ours.list, theirs.list),
            ratio(ours.list_only, theirs.list_only)
        )?;
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(ours: Duration, theirs: Duration) -> f64 {
    if theirs.is_zero() {
        f64::NAN
    } else {
        ours.as_secs_f64() / theirs.as_secs_f64()
    }
}

/// Runs the client against a fresh instance of `spec`.
pub fn measure(
    spec: &DaemonSpec,
    dir: &Path,
    plan: GuestPlan,
) -> Result<GuestFigures, GuestBenchError> {
    for (path, name) in [
        (PYTHON, "python3 (package python3-libvirt)"),
        (QEMU, "qemu-system-x86_64 (package qemu-system-x86)"),
    ] {
        if !Path::new(path).is_file() {
            return Err(GuestBenchError::Missing(name));
        }
    }
    let instance = Instance::start(spec, dir)?;
    let output = Command::new(PYTHON)
        .args(["-c", CLIENT, &instance.uri])
        .args([plan.repetitions, plan.defined, plan.lists].map(|n| n.to_string()))
        .stdin(Stdio::null())
        .output()
        .map_err(|source| GuestBenchError::Spawn {
            binary: PathBuf::from(PYTHON),
            source,
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(GuestBenchError::Client(last));
    }
    Ok(figures(&text))
}

/// Medians of the "<what> <seconds>" lines of the client.
pub fn figures(text: &str) -> GuestFigures {
    let median_of = |what: &str| {
        let mut samples: Vec<f64> = text
            .lines()
            .filter_map(|l| l.strip_prefix(what)?.trim().parse().ok())
            .collect();
        samples.sort_by(f64::total_cmp);
        samples
            .get(samples.len() / 2)
            .map(|s| Duration::from_secs_f64(s.max(0.0)))
            .unwrap_or_default()
    };
    GuestFigures {
        start: median_of("start "),
        destroy: median_of("destroy "),
        list: median_of("list "),
        list_only: median_of("listonly "),
    }
}

fn prepare<T>(path: &Path, result: io::Result<T>) -> Result<T, GuestBenchError> {
    result.map_err(|source| GuestBenchError::Prepare {
        path: path.to_path_buf(),
        source,
    })
}

fn cpath(path: &Path) -> Result<CString, GuestBenchError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| GuestBenchError::Nul(path.to_path_buf()))
}

/// One running daemon; its guests and the daemon are stopped when dropped.
pub(crate) struct Instance {
    child: Child,
    pub(crate) uri: String,
}

impl Instance {
    pub(crate) fn start(spec: &DaemonSpec, dir: &Path) -> Result<Instance, GuestBenchError> {
        let socket_dir = dir.join("sock");
        prepare(&socket_dir, fs::create_dir_all(&socket_dir))?;
        let config = dir.join("libvirtd.conf");
        prepare(&config, fs::write(&config, config_text(&socket_dir)))?;
        let log = dir.join("daemon.log");
        let log_file = prepare(&log, fs::File::create(&log))?;
        let log_err = prepare(&log, log_file.try_clone())?;
        let etc = match spec.flavor {
            Flavor::Ours => dir.join("root/etc/libvirt"),
            Flavor::Theirs { .. } => dir.join("etc-libvirt"),
        };
        prepare(&etc, fs::create_dir_all(&etc))?;
        prepare(&etc, fs::write(etc.join("qemu.conf"), QEMU_CONF))?;
        // Under the subreaper when there is one: QEMU is the daemon's grandchild, and
        // a late reaper would show up in the real daemon's destroy time.
        let mut command = match &spec.flavor {
            Flavor::Theirs {
                subreaper: Some(tini),
                ..
            } => {
                let mut c = Command::new(tini);
                c.args(["-s", "--"]).arg(&spec.binary);
                c
            }
            _ => Command::new(&spec.binary),
        };
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
                command.env("LIBVIRTD_ROOT", dir.join("root"));
            }
            Flavor::Theirs { isolation, .. } => {
                let etc = cpath(&etc)?;
                let target = cpath(Path::new("/etc/libvirt"))?;
                let isolation: Arc<Isolation> = Arc::clone(isolation);
                // SAFETY: system calls only, on strings prepared before the fork.
                unsafe {
                    command.pre_exec(move || {
                        isolation.enter()?;
                        // Our /etc/libvirt (with qemu.conf) over the private one.
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
        let child = command.spawn().map_err(|source| GuestBenchError::Spawn {
            binary: spec.binary.clone(),
            source,
        })?;
        let socket = socket_dir.join("libvirt-sock");
        let mut instance = Instance {
            child,
            uri: format!("qemu+unix:///system?socket={}", socket.display()),
        };
        let deadline = Instant::now() + READY_LIMIT;
        while UnixStream::connect(&socket).is_err() {
            let exited = instance.child.try_wait().ok().flatten().is_some();
            if exited || Instant::now() >= deadline {
                return Err(GuestBenchError::NotReady(READY_LIMIT, log));
            }
            thread::sleep(Duration::from_millis(5));
        }
        Ok(instance)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
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
    fn medians_per_kind() {
        let text = "start 0.3\nstart 0.1\nstart 0.2\ndestroy 0.05\nlist 0.010\nlist 0.030\n\
                    listonly 0.002\n";
        let f = figures(text);
        assert_eq!(f.list_only, Duration::from_millis(2));
        assert_eq!(f.start, Duration::from_millis(200));
        assert_eq!(f.destroy, Duration::from_millis(50));
        assert_eq!(f.list, Duration::from_millis(30));
    }

    #[test]
    fn missing_samples_are_zero_and_ratios_guard_zero() {
        let f = figures("noise\n");
        assert_eq!(f, GuestFigures::default());
        assert!(ratio(Duration::from_millis(1), Duration::ZERO).is_nan());
        assert!((ratio(Duration::from_millis(1), Duration::from_millis(4)) - 0.25).abs() < 1e-9);
    }

    #[test]
    fn full_plan_has_ten_repetitions_and_a_thousand_domains() {
        assert_eq!(
            GuestPlan::new(false),
            GuestPlan {
                repetitions: 10,
                defined: 1000,
                lists: 5
            }
        );
    }
}
