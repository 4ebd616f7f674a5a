//! Bulk statistics and disk hot plug, on this daemon and on the real libvirtd 9.0,
//! through the same client (python3-libvirt):
//!
//! - `getAllDomainStats` (what `virsh domstats` sends) over 200 running domains of
//!   `test:///default` (its own domain plus 199 made with `createXML`);
//! - `getAllDomainStats` over 10 running diskless TCG guests;
//! - `attachDeviceFlags` of a virtio disk (a raw file) on a running tiny guest until
//!   it returns, and `detachDeviceFlags` until the disk has left the live XML (the
//!   guest's kernel acknowledges the unplug). Needs the tiny guest the tests build
//!   (`target/tiny-guest`); without it this row becomes a note.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::guests::{GuestBenchError, Instance, PYTHON, QEMU};
use crate::launch::DaemonSpec;

/// Prints one "<what> <seconds>" line per sample (and "note ..." lines).
const CLIENT: &str = r#"
import os, sys, time, libvirt
qemu_uri, test_uri, reps, guests, kernel, initrd, scratch = sys.argv[1:8]
reps, guests = int(reps), int(guests)
def timed(what, call):
    t0 = time.perf_counter()
    out = call()
    print(what, time.perf_counter() - t0, flush=True)
    return out
t = libvirt.open(test_uri)
for i in range(199):
    t.createXML("<domain type='test'><name>stats%03d</name><memory unit='MiB'>64</memory>"
                "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>" % i, 0)
assert len(t.getAllDomainStats(0, 0)) >= 200
for _ in range(reps):
    timed("teststats", lambda: t.getAllDomainStats(0, 0))
q = libvirt.open(qemu_uri)
doms = [q.createXML("<domain type='qemu'><name>statsq%02d</name><memory unit='MiB'>64</memory>"
                    "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>" % i, 0)
        for i in range(guests)]
assert len(q.getAllDomainStats(0, 0)) >= guests
for _ in range(reps):
    timed("qemustats", lambda: q.getAllDomainStats(0, 0))
for d in doms:
    d.destroy()
if not kernel:
    sys.exit(0)
serial = os.path.join(scratch, "hotplug.serial")
image = os.path.join(scratch, "hotplug.img")
with open(image, "wb") as f:
    f.truncate(16 << 20)
d = q.createXML("<domain type='qemu'><name>hotplug</name><memory unit='MiB'>128</memory>"
                "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type><kernel>%s</kernel>"
                "<initrd>%s</initrd><cmdline>console=ttyS0 quiet</cmdline></os>"
                "<features><acpi/></features><devices><serial type='file'>"
                "<source path='%s'/></serial></devices></domain>" % (kernel, initrd, serial), 0)
deadline = time.time() + 180
while "TINY-GUEST-BOOTED" not in open(serial, errors="replace").read():
    if time.time() > deadline:
        print("note the tiny guest did not boot within 180 s", flush=True)
        sys.exit(0)
    time.sleep(0.1)
disk = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='%s'/><target dev='vdb' bus='virtio'/></disk>" % image)
live = libvirt.VIR_DOMAIN_AFFECT_LIVE
for _ in range(reps):
    timed("attach", lambda: d.attachDeviceFlags(disk, live))
    t0 = time.perf_counter()
    d.detachDeviceFlags(disk, live)
    while "dev='vdb'" in d.XMLDesc(0):
        if time.perf_counter() - t0 > 30:
            print("note a detached disk stayed in the guest for 30 s", flush=True)
            sys.exit(0)
        time.sleep(0.002)
    print("detach", time.perf_counter() - t0, flush=True)
d.destroy()
"#;

/// Medians of one daemon (zero: not measured).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsFigures {
    pub test_stats: Duration,
    pub qemu_stats: Duration,
    pub attach: Duration,
    pub detach: Duration,
    pub notes: Vec<String>,
}

/// The tiny guest the integration tests build, next to the bench's target directory.
fn tiny_guest() -> Option<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.join("tiny-guest");
    let kernel = dir.join("vmlinuz");
    let initrd = dir.join("initrd.gz");
    (kernel.is_file() && initrd.is_file()).then_some((kernel, initrd))
}

/// Measures every daemon of `specs` and writes a table with ratios to `out`.
pub fn report(
    specs: &[&DaemonSpec],
    scratch: &Path,
    quick: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let reps = if quick { 5 } else { 20 };
    let guests = 10;
    writeln!(
        out,
        "\ndomstats and hot plug (python3-libvirt): median of {reps} getAllDomainStats over 200 \
         running test:///default domains and over {guests} running TCG guests; attach and \
         detach (until gone from the live XML) of a virtio disk on a running tiny guest"
    )?;
    writeln!(
        out,
        "{:<14} {:>14} {:>14} {:>12} {:>12}",
        "daemon", "stats 200 test", "stats 10 qemu", "attach", "detach"
    )?;
    let mut measured = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        eprintln!("libvirtd-bench: {}: domstats and hot plug", spec.label);
        let dir = scratch.join(format!("domstats-{index}"));
        match measure(spec, &dir, reps, guests) {
            Ok(f) => {
                writeln!(
                    out,
                    "{:<14} {:>11.2} ms {:>11.2} ms {:>9.1} ms {:>9.1} ms",
                    spec.label,
                    ms(f.test_stats),
                    ms(f.qemu_stats),
                    ms(f.attach),
                    ms(f.detach)
                )?;
                for note in &f.notes {
                    writeln!(out, "note ({}): {note}", spec.label)?;
                }
                measured.push(f);
            }
            Err(e) => writeln!(out, "{:<14} not measured: {e}", spec.label)?,
        }
    }
    if let [ours, theirs] = &measured[..] {
        writeln!(
            out,
            "ratios (ours / theirs): stats 200 test {:.3}, stats 10 qemu {:.3}, attach {:.3}, \
             detach {:.3}",
            ratio(ours.test_stats, theirs.test_stats),
            ratio(ours.qemu_stats, theirs.qemu_stats),
            ratio(ours.attach, theirs.attach),
            ratio(ours.detach, theirs.detach)
        )?;
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(ours: Duration, theirs: Duration) -> f64 {
    if theirs.is_zero() || ours.is_zero() {
        f64::NAN
    } else {
        ours.as_secs_f64() / theirs.as_secs_f64()
    }
}

fn measure(
    spec: &DaemonSpec,
    dir: &Path,
    reps: usize,
    guests: usize,
) -> Result<StatsFigures, GuestBenchError> {
    for (path, name) in [
        (PYTHON, "python3 (package python3-libvirt)"),
        (QEMU, "qemu-system-x86_64 (package qemu-system-x86)"),
    ] {
        if !Path::new(path).is_file() {
            return Err(GuestBenchError::Missing(name));
        }
    }
    let instance = Instance::start(spec, dir)?;
    let test_uri = instance
        .uri
        .replacen("qemu+unix:///system", "test+unix:///default", 1);
    let (kernel, initrd) = tiny_guest()
        .map(|(k, i)| (k.display().to_string(), i.display().to_string()))
        .unwrap_or_default();
    let output = Command::new(PYTHON)
        .args(["-c", CLIENT, &instance.uri, &test_uri])
        .args([reps.to_string(), guests.to_string(), kernel.clone(), initrd])
        .arg(dir)
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
    let mut f = figures(&text);
    if kernel.is_empty() {
        f.notes.push(
            "hot plug not measured: target/tiny-guest is missing (built by the qemu tests)".into(),
        );
    }
    Ok(f)
}

/// Medians of the "<what> <seconds>" lines, and the "note" lines.
pub fn figures(text: &str) -> StatsFigures {
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
    StatsFigures {
        test_stats: median_of("teststats "),
        qemu_stats: median_of("qemustats "),
        attach: median_of("attach "),
        detach: median_of("detach "),
        notes: text
            .lines()
            .filter_map(|l| l.strip_prefix("note "))
            .map(str::to_string)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_notes() {
        let f = figures(
            "teststats 0.003\nteststats 0.001\nteststats 0.002\nqemustats 0.01\n\
             attach 0.2\ndetach 0.3\nnote guest slow\n",
        );
        assert_eq!(f.test_stats, Duration::from_millis(2));
        assert_eq!(f.qemu_stats, Duration::from_millis(10));
        assert_eq!(f.attach, Duration::from_millis(200));
        assert_eq!(f.detach, Duration::from_millis(300));
        assert_eq!(f.notes, vec!["guest slow".to_string()]);
        assert!(ratio(Duration::ZERO, Duration::from_millis(1)).is_nan());
    }
}
