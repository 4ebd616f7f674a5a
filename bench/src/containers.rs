//! Container lifecycle latency of this daemon's lxc driver, next to the
//! physical floor of the same work done by hand.
//!
//! libvirt 9.0's own LXC driver does not start on hosts with the hybrid
//! cgroup layout, so there is no side-by-side ratio; instead the figures are
//! absolute and come with the cost of `unshare` + `chroot` creating the same
//! namespaces around the same busybox tree:
//!
//! - ours, start-to-running: `create` of a defined container (python3-libvirt
//!   over `lxc+unix:///system`) until it returns with the container running
//!   (the supervisor has reported init's pid);
//! - ours, destroy-to-shutoff: `destroy` until it returns with the container
//!   shut off (every process gone, cgroup removed);
//! - floor, start: spawning `unshare --mount --pid --uts --ipc --cgroup --fork
//!   --mount-proc=... chroot ROOT /bin/sh` until the shell inside has written
//!   one line;
//! - floor, destroy: SIGKILL to that shell (PID 1 of its namespace) until
//!   `unshare` has been reaped.
//!
//! Needs root and `/bin/busybox` (Debian `busybox-static`); what cannot be
//! measured becomes a note, never a failure.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::launch::{DaemonSpec, Flavor, LaunchError};
use crate::stats::median;

const PYTHON: &str = "/usr/bin/python3";
const BUSYBOX: &str = "/bin/busybox";
const UNSHARE: &str = "/usr/bin/unshare";
const CHROOT: &str = "/usr/sbin/chroot";
/// The applets the container's root needs.
const APPLETS: [&str; 3] = ["sh", "sleep", "echo"];

/// The client: one "<what> <seconds>" line per sample. The container is
/// defined once and started and destroyed `reps` times after one unmeasured
/// round (the first start reads busybox and the supervisor from disk).
const CLIENT: &str = r#"
import sys, time, libvirt
uri, reps, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conn = libvirt.open(uri)
xml = ("<domain type='lxc'><name>latency</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
       "<os><type>exe</type><init>/bin/sleep</init><initarg>100000</initarg></os>"
       "<devices><filesystem type='mount'><source dir='%s'/><target dir='/'/></filesystem>"
       "<console type='pty'/></devices></domain>" % root)
dom = conn.defineXML(xml)
try:
    dom.create()
    dom.destroy()
    for _ in range(reps):
        t0 = time.perf_counter()
        dom.create()
        elapsed = time.perf_counter() - t0
        assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        print("start", elapsed, flush=True)
        t0 = time.perf_counter()
        dom.destroy()
        elapsed = time.perf_counter() - t0
        assert dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
        print("destroy", elapsed, flush=True)
finally:
    if dom.isActive():
        dom.destroy()
    dom.undefine()
"#;

#[derive(Debug, thiserror::Error)]
pub enum ContainerBenchError {
    #[error("{0} is missing")]
    Missing(String),
    #[error("containers need root (namespaces and cgroups)")]
    NotRoot,
    #[error("preparing {path}: {source}")]
    Prepare { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("starting {binary}: {source}")]
    Spawn { binary: PathBuf, source: io::Error },
    #[error("the python3-libvirt client failed: {0}")]
    Client(String),
    #[error("the floor's container failed: {0}")]
    Floor(String),
    #[error("no samples")]
    NoSamples,
}

/// Median, fastest and slowest sample of one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
}

impl Spread {
    pub fn of(samples: &[Duration]) -> Result<Spread, ContainerBenchError> {
        Ok(Spread {
            median: median(samples).ok_or(ContainerBenchError::NoSamples)?,
            min: samples.iter().min().copied().unwrap_or_default(),
            max: samples.iter().max().copied().unwrap_or_default(),
        })
    }
}

/// Start and destroy latency of one way of running a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleFigures {
    pub start: Spread,
    pub destroy: Spread,
}

/// Measures our daemon's lxc driver and the `unshare` + `chroot` floor and
/// writes both to `out`. `ours` must be this project's daemon.
pub fn report(
    ours: &DaemonSpec,
    scratch: &Path,
    quick: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let repetitions = if quick { 3 } else { 10 };
    writeln!(
        out,
        "\ncontainers (lxc driver, python3-libvirt over lxc+unix:///system): median [min-max] of {repetitions} \
         create (start-to-running) and destroy (destroy-to-shutoff) of a busybox container; \
         floor: unshare + chroot of the same tree (libvirt 9.0's LXC driver does not start on \
         hybrid cgroup hosts, so no ratio)"
    )?;
    writeln!(out, "{:<16} {:>26} {:>26}", "how", "start", "destroy")?;
    let rows: [(&str, Result<LifecycleFigures, ContainerBenchError>); 2] = [
        ("ours", {
            eprintln!("libvirtd-bench: container latency through our daemon");
            measure_ours(ours, &scratch.join("containers-ours"), repetitions)
        }),
        ("unshare+chroot", {
            eprintln!("libvirtd-bench: container latency floor (unshare + chroot)");
            measure_floor(&scratch.join("containers-floor"), repetitions)
        }),
    ];
    for (label, result) in rows {
        match result {
            Ok(f) => writeln!(
                out,
                "{label:<16} {:>26} {:>26}",
                spread_text(f.start),
                spread_text(f.destroy)
            )?,
            Err(e) => writeln!(out, "{label:<16} not measured: {e}")?,
        }
    }
    Ok(())
}

/// "12.3 ms [10.1-15.0]".
pub fn spread_text(s: Spread) -> String {
    format!("{:.1} ms [{:.1}-{:.1}]", ms(s.median), ms(s.min), ms(s.max))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn prepare<T>(path: &Path, result: io::Result<T>) -> Result<T, ContainerBenchError> {
    result.map_err(|source| ContainerBenchError::Prepare {
        path: path.to_path_buf(),
        source,
    })
}

fn require_file(path: &str, package: &str) -> Result<(), ContainerBenchError> {
    if Path::new(path).is_file() {
        Ok(())
    } else {
        Err(ContainerBenchError::Missing(format!(
            "{path} (package {package})"
        )))
    }
}

fn require_root() -> Result<(), ContainerBenchError> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(ContainerBenchError::NotRoot)
    }
}

/// A busybox tree at `root`: /bin with the applets, empty /proc.
pub fn build_root(root: &Path) -> Result<(), ContainerBenchError> {
    let bin = root.join("bin");
    prepare(&bin, fs::create_dir_all(&bin))?;
    prepare(&root.join("proc"), fs::create_dir_all(root.join("proc")))?;
    let busybox = bin.join("busybox");
    prepare(&busybox, fs::copy(BUSYBOX, &busybox))?;
    prepare(
        &busybox,
        fs::set_permissions(&busybox, fs::Permissions::from_mode(0o755)),
    )?;
    for applet in APPLETS {
        let link = bin.join(applet);
        prepare(&link, std::os::unix::fs::symlink("busybox", &link))?;
    }
    Ok(())
}

/// Runs the client against a fresh instance of our daemon, whose supervisor
/// (`libvirt_lxc`) must lie beside it.
pub fn measure_ours(
    spec: &DaemonSpec,
    dir: &Path,
    repetitions: usize,
) -> Result<LifecycleFigures, ContainerBenchError> {
    require_root()?;
    require_file(PYTHON, "python3-libvirt")?;
    require_file(BUSYBOX, "busybox-static")?;
    if !matches!(spec.flavor, Flavor::Ours) {
        return Err(ContainerBenchError::Missing(
            "this project's daemon".to_string(),
        ));
    }
    let supervisor = spec.binary.with_file_name("libvirt_lxc");
    if !supervisor.is_file() {
        return Err(ContainerBenchError::Missing(format!(
            "{} (cargo build --release -p daemon)",
            supervisor.display()
        )));
    }
    let root = dir.join("container");
    build_root(&root)?;
    let daemon = spec.start(&dir.join("daemon"))?;
    let uri = format!("lxc+unix:///system?socket={}", daemon.socket.display());
    let output = Command::new(PYTHON)
        .args(["-c", CLIENT, &uri, &repetitions.to_string()])
        .arg(&root)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ContainerBenchError::Spawn {
            binary: PathBuf::from(PYTHON),
            source,
        });
    let stopped = daemon.stop();
    let output = output?;
    stopped?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(ContainerBenchError::Client(last));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(LifecycleFigures {
        start: Spread::of(&samples(&text, "start"))?,
        destroy: Spread::of(&samples(&text, "destroy"))?,
    })
}

/// The seconds of every "<what> <seconds>" line.
pub fn samples(text: &str, what: &str) -> Vec<Duration> {
    text.lines()
        .filter_map(|line| {
            let (kind, value) = line.split_once(' ')?;
            let seconds: f64 = value.trim().parse().ok()?;
            (kind == what && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
        })
        .collect()
}

/// `unshare` + `chroot` around the same tree: one unmeasured round, then
/// `repetitions` measured ones.
pub fn measure_floor(
    dir: &Path,
    repetitions: usize,
) -> Result<LifecycleFigures, ContainerBenchError> {
    require_root()?;
    require_file(BUSYBOX, "busybox-static")?;
    require_file(UNSHARE, "util-linux")?;
    require_file(CHROOT, "coreutils")?;
    let root = dir.join("container");
    build_root(&root)?;
    floor_round(&root)?;
    let mut starts = Vec::with_capacity(repetitions);
    let mut destroys = Vec::with_capacity(repetitions);
    for _ in 0..repetitions {
        let (start, destroy) = floor_round(&root)?;
        starts.push(start);
        destroys.push(destroy);
    }
    Ok(LifecycleFigures {
        start: Spread::of(&starts)?,
        destroy: Spread::of(&destroys)?,
    })
}

/// One start and destroy of the floor's container.
fn floor_round(root: &Path) -> Result<(Duration, Duration), ContainerBenchError> {
    let mount_proc = format!("--mount-proc={}", root.join("proc").display());
    let started = Instant::now();
    let mut child = Command::new(UNSHARE)
        .args(["--mount", "--pid", "--uts", "--ipc", "--cgroup", "--fork"])
        .arg(mount_proc)
        .arg(CHROOT)
        .arg(root)
        .args(["/bin/sh", "-c", "echo ready; exec sleep 100000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| ContainerBenchError::Spawn {
            binary: PathBuf::from(UNSHARE),
            source,
        })?;
    let unshare_pid = child.id();
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        // EOF (the shell never ran) leaves the line empty.
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let start = started.elapsed();
    let init = init_pid_of(unshare_pid);
    let kill_started = Instant::now();
    match init {
        Some(pid) if line.trim() == "ready" => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        _ => {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(unshare_pid as libc::pid_t),
                nix::sys::signal::Signal::SIGKILL,
            );
            let output = child.wait_with_output().ok();
            let stderr = output
                .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
                .unwrap_or_default();
            return Err(ContainerBenchError::Floor(stderr));
        }
    }
    let status = child
        .wait()
        .map_err(|e| ContainerBenchError::Floor(e.to_string()))?;
    let destroy = kill_started.elapsed();
    if status.success() {
        return Err(ContainerBenchError::Floor(
            "the container's init outlived SIGKILL".to_string(),
        ));
    }
    Ok((start, destroy))
}

/// The first child of `unshare` (PID 1 of the new pid namespace).
fn init_pid_of(unshare_pid: u32) -> Option<libc::pid_t> {
    let children =
        fs::read_to_string(format!("/proc/{unshare_pid}/task/{unshare_pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_taken_per_kind() {
        let text = "start 0.5\nstart 0.1\ndestroy 0.02\nstarter 9\nstart -1\nnoise\n";
        assert_eq!(
            samples(text, "start"),
            vec![Duration::from_millis(500), Duration::from_millis(100)]
        );
        assert_eq!(samples(text, "destroy"), vec![Duration::from_millis(20)]);
    }

    #[test]
    fn spread_has_median_min_and_max() {
        let ms = Duration::from_millis;
        let s = Spread::of(&[ms(30), ms(10), ms(20)]).unwrap();
        assert_eq!(
            s,
            Spread {
                median: ms(20),
                min: ms(10),
                max: ms(30)
            }
        );
        assert_eq!(spread_text(s), "20.0 ms [10.0-30.0]");
        assert!(matches!(
            Spread::of(&[]),
            Err(ContainerBenchError::NoSamples)
        ));
    }

    #[test]
    fn root_has_busybox_and_its_applets() {
        assert!(
            Path::new(BUSYBOX).is_file(),
            "{BUSYBOX} is missing: install busybox-static"
        );
        let dir = tempfile::tempdir().unwrap();
        build_root(dir.path()).unwrap();
        for applet in APPLETS {
            assert_eq!(
                fs::read_link(dir.path().join("bin").join(applet)).unwrap(),
                Path::new("busybox")
            );
        }
        assert!(dir.path().join("proc").is_dir());
    }

    #[test]
    fn floor_round_measures_a_real_container() {
        // Fails (never skips) without root or busybox: the bench needs both.
        let dir = tempfile::tempdir().unwrap();
        let figures = measure_floor(dir.path(), 2).unwrap();
        assert!(figures.start.median > Duration::ZERO);
        assert!(figures.destroy.median > Duration::ZERO);
        assert!(figures.start.max >= figures.start.min);
    }
}
