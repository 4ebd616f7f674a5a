//! Network driver latency, side by side: `net-start` (start-to-active: bridge,
//! firewall rules, dnsmasq) and `net-destroy` of a NAT network, through
//! python3-libvirt over `network+unix:///system`, for this daemon and for libvirt
//! 9.0's network driver. Each daemon runs in a network and mount namespace of its
//! own (`unshare --net --mount`), so the host's network and its /etc, /run and
//! /var/lib/libvirt are never touched; the real one sees a connection-driver
//! directory holding only its network driver.
//!
//! Needs root, `unshare`, `dnsmasq`, `iptables`; what cannot be measured becomes a
//! note, never a failure.

use std::fs;
use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::containers::{spread_text, Spread};
use crate::launch::{DaemonSpec, Flavor};

const PYTHON: &str = "/usr/bin/python3";
const UNSHARE: &str = "/usr/bin/unshare";
const DRIVER_DIR: &str = "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// One "<what> <seconds>" line per sample, after one unmeasured round.
const CLIENT: &str = r#"
import sys, time, libvirt
uri, reps = sys.argv[1], int(sys.argv[2])
conn = libvirt.open(uri)
xml = ("<network><name>benchnet</name><forward mode='nat'/><bridge name='lvbench0'/>"
       "<ip address='10.123.0.1' netmask='255.255.255.0'><dhcp>"
       "<range start='10.123.0.10' end='10.123.0.200'/></dhcp></ip></network>")
net = conn.networkDefineXML(xml)
try:
    net.create()
    net.destroy()
    for _ in range(reps):
        t0 = time.perf_counter()
        net.create()
        print("start", time.perf_counter() - t0, flush=True)
        t0 = time.perf_counter()
        net.destroy()
        print("destroy", time.perf_counter() - t0, flush=True)
finally:
    if net.isActive():
        net.destroy()
    net.undefine()
"#;

struct Figures {
    start: Spread,
    destroy: Spread,
}

/// Measures both daemons and writes a table with the ratio to `out`.
pub fn report(
    specs: &[&DaemonSpec],
    scratch: &Path,
    quick: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let repetitions = if quick { 3 } else { 10 };
    writeln!(
        out,
        "\nnetworks (network driver, python3-libvirt over network+unix:///system): median \
         [min-max] of {repetitions} start (bridge, NAT rules, dnsmasq) and destroy of a NAT \
         network, each daemon in its own network namespace"
    )?;
    writeln!(out, "{:<14} {:>26} {:>26}", "daemon", "start", "destroy")?;
    let mut medians = Vec::new();
    for spec in specs {
        eprintln!("libvirtd-bench: network latency through {}", spec.label);
        let which = match spec.flavor {
            Flavor::Ours => "ours",
            _ => "theirs",
        };
        // Paths go into a shell script: the directory name stays plain.
        let dir = scratch.join(format!("networks-{which}"));
        match measure(spec, &dir, repetitions) {
            Ok(f) => {
                writeln!(
                    out,
                    "{:<14} {:>26} {:>26}",
                    spec.label,
                    spread_text(f.start),
                    spread_text(f.destroy)
                )?;
                medians.push((f.start.median, f.destroy.median));
            }
            Err(e) => writeln!(out, "{:<14} not measured: {e}", spec.label)?,
        }
    }
    if let [(os, od), (ts, td)] = medians[..] {
        writeln!(
            out,
            "ratio ours/theirs: start {:.2}, destroy {:.2}",
            os.as_secs_f64() / ts.as_secs_f64().max(1e-9),
            od.as_secs_f64() / td.as_secs_f64().max(1e-9)
        )?;
    }
    Ok(())
}

fn measure(spec: &DaemonSpec, dir: &Path, repetitions: usize) -> Result<Figures, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("needs root (network namespaces)".into());
    }
    for (path, package) in [
        (PYTHON, "python3-libvirt"),
        (UNSHARE, "util-linux"),
        ("/usr/sbin/dnsmasq", "dnsmasq-base"),
        ("/usr/sbin/iptables", "iptables"),
    ] {
        if !Path::new(path).exists() {
            return Err(format!("{path} is missing (Debian package {package})"));
        }
    }
    let sock = dir.join("sock");
    fs::create_dir_all(&sock).map_err(|e| format!("{}: {e}", sock.display()))?;
    let script = match spec.flavor {
        Flavor::Ours => format!(
            "ip link set lo up && LIBVIRTD_ROOT={root} exec {bin}",
            root = quote(&dir.join("root")),
            bin = quote(&spec.binary)
        ),
        _ => theirs_script(spec, dir)?,
    };
    let socket = match spec.flavor {
        Flavor::Ours => dir.join("root/run/libvirt/libvirt-sock"),
        _ => sock.join("libvirt-sock"),
    };
    let log = fs::File::create(dir.join("daemon.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new(UNSHARE)
        .args([
            "--net",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
        ])
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{UNSHARE}: {e}"))?;
    let result = wait_ready(&socket, &mut child).and_then(|()| run_client(&socket, repetitions));
    stop(child);
    result
}

/// The real libvirtd with only its network driver, in a private mount namespace.
fn theirs_script(spec: &DaemonSpec, dir: &Path) -> Result<String, String> {
    let drivers = dir.join("drivers");
    let lib = dir.join("lib");
    for d in [&drivers, &lib] {
        fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let so = Path::new(DRIVER_DIR).join("libvirt_driver_network.so");
    fs::copy(&so, drivers.join("libvirt_driver_network.so"))
        .map_err(|e| format!("{} (Debian package libvirt-daemon): {e}", so.display()))?;
    let conf = dir.join("libvirtd.conf");
    fs::write(
        &conf,
        format!(
            "unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
            dir.join("sock").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "for d in /run/libvirt /etc/libvirt /var/cache/libvirt; do mkdir -p $d && \
         mount -t tmpfs -o mode=0755 tmpfs $d || exit 1; done; \
         mkdir -p /var/lib/libvirt && mount --bind {lib} /var/lib/libvirt || exit 1; \
         mount --bind {drivers} {DRIVER_DIR} || exit 1; ip link set lo up; \
         exec {bin} -f {conf} -p {pid}",
        lib = quote(&lib),
        drivers = quote(&drivers),
        bin = quote(&spec.binary),
        conf = quote(&conf),
        pid = quote(&dir.join("libvirtd.pid")),
    ))
}

/// A path as one single-quoted shell word.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

fn wait_ready(socket: &Path, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if UnixStream::connect(socket).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the daemon exited ({status}) before serving"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err("the daemon did not start".into())
}

fn run_client(socket: &Path, repetitions: usize) -> Result<Figures, String> {
    let uri = format!("network+unix:///system?socket={}", socket.display());
    let output = Command::new(PYTHON)
        .args(["-c", CLIENT, &uri, &repetitions.to_string()])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{PYTHON}: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.lines().last().unwrap_or("").trim().to_string());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let samples = |what: &str| -> Vec<Duration> {
        text.lines()
            .filter_map(|l| l.strip_prefix(what))
            .filter_map(|v| v.trim().parse::<f64>().ok())
            .map(Duration::from_secs_f64)
            .collect()
    };
    let start = Spread::of(&samples("start ")).map_err(|e| e.to_string())?;
    let destroy = Spread::of(&samples("destroy ")).map_err(|e| e.to_string())?;
    Ok(Figures { start, destroy })
}

/// SIGTERM to the daemon's group, SIGKILL after a while; the namespace goes with the
/// last process in it (the client destroyed the network, so dnsmasq is gone).
fn stop(mut child: Child) {
    let group = child.id() as i32;
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-group),
        nix::sys::signal::Signal::SIGTERM,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-group),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = child.wait();
}
