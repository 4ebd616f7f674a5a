//! The whole benchmark: start both daemons, run every phase on each of them
//! back to back, print one table.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::cli::{Options, Theirs};
use crate::isolation::{Isolation, IsolationError};
use crate::launch::{self, DaemonSpec, Flavor, LaunchError, RunningDaemon};
use crate::machine;
use crate::phases::{self, PhaseError};
use crate::plan::Plan;
use crate::procfs::{self, ProcError};
use crate::proxy::{self, ProxyError};
use crate::report::{self, Figures};
use crate::tls_run::{self, TlsInstance, TlsMaterial, TlsPlan, TlsRunError};
use crate::{phases::throughput_on, pki::PkiError, tls_phases, transport::Endpoint};

/// Where Debian's libvirt-daemon package installs the real daemon.
pub const INSTALLED_LIBVIRTD: &str = "/usr/sbin/libvirtd";
/// Debian's tini, used as a child subreaper for the real daemon.
pub const TINI: &str = "/usr/bin/tini";

pub const OURS_LABEL: &str = "ours";
pub const THEIRS_LABEL: &str = "libvirtd 9.0";

/// Time for a freshly started daemon to finish its start-up work before
/// its idle memory is read.
const SETTLE: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("our daemon {0} does not exist: build it with `cargo build --release -p daemon` or pass --ours PATH")]
    OursMissing(PathBuf),
    #[error("the real libvirtd {0} does not exist")]
    TheirsMissing(PathBuf),
    #[error("locating this program: {0}")]
    SelfPath(io::Error),
    #[error("raising the descriptor limit to {limit}: {source}")]
    Limit { limit: u64, source: io::Error },
    #[error("creating the scratch directory: {0}")]
    Scratch(io::Error),
    #[error(transparent)]
    Isolation(#[from] IsolationError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// Boxed: the TLS errors carry paths and addresses.
    #[error("TLS: {0}")]
    Tls(Box<TlsRunError>),
    #[error("{label}: {phase}: {source}")]
    Phase {
        label: &'static str,
        phase: String,
        source: PhaseError,
    },
    #[error("{label}: {source}")]
    Proc {
        label: &'static str,
        source: ProcError,
    },
    #[error("writing the report: {0}")]
    Output(io::Error),
    /// Boxed: the phase's errors carry the TLS and launch errors.
    #[error("virtproxyd phase: {0}")]
    Proxy(Box<ProxyError>),
}

impl From<TlsRunError> for RunError {
    fn from(e: TlsRunError) -> RunError {
        RunError::Tls(Box::new(e))
    }
}

/// One daemon under test and what was measured on it.
struct Subject {
    spec: DaemonSpec,
    figures: Figures,
}

/// Runs one phase on one daemon, naming both in any error.
fn phase<T>(
    label: &'static str,
    phase: &str,
    daemon: &RunningDaemon,
    f: impl FnOnce(&RunningDaemon) -> Result<T, PhaseError>,
) -> Result<T, RunError> {
    progress(&format!("{label}: {phase}"));
    f(daemon).map_err(|source| RunError::Phase {
        label,
        phase: phase.to_string(),
        source,
    })
}

fn progress(text: &str) {
    eprintln!("libvirtd-bench: {text}");
}

fn ours_binary(opts: &Options) -> Result<PathBuf, RunError> {
    let path = match &opts.ours {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(RunError::SelfPath)?
            .with_file_name("libvirtd"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(RunError::OursMissing(path))
    }
}

/// The real libvirtd to compare with, or the reason there is none.
fn theirs_binary(opts: &Options, installed: &Path) -> Result<Result<PathBuf, String>, RunError> {
    match &opts.theirs {
        Theirs::Skip => Ok(Err("the comparison was skipped (--no-theirs)".into())),
        Theirs::Path(p) if p.is_file() => Ok(Ok(p.clone())),
        Theirs::Path(p) => Err(RunError::TheirsMissing(p.clone())),
        Theirs::Installed if installed.is_file() => Ok(Ok(installed.to_path_buf())),
        Theirs::Installed => Ok(Err(format!(
            "the comparison was skipped because package libvirt-daemon is not installed \
             ({} is missing; `apt-get install libvirt-daemon` provides it)",
            installed.display()
        ))),
    }
}

/// Runs everything and writes the report to `out`.
pub fn run(opts: &Options, out: &mut impl Write) -> Result<(), RunError> {
    let plan = if opts.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    launch::raise_nofile_limit().map_err(|source| RunError::Limit {
        limit: launch::NOFILE_LIMIT,
        source,
    })?;
    let scratch = tempfile::Builder::new()
        .prefix("libvirtd-bench.")
        .tempdir()
        .map_err(RunError::Scratch)?;
    let mut notes = Vec::new();
    // Before any daemon runs: key generation takes seconds of CPU.
    let tls_material = match tls_run::prepare(&scratch.path().join("pki")) {
        Ok(material) => Some(material),
        Err(TlsRunError::Pki(PkiError::Missing)) => {
            notes.push(format!(
                "the TLS phases were skipped: {}",
                PkiError::Missing
            ));
            None
        }
        Err(e) => return Err(e.into()),
    };
    let mut subjects = vec![Subject {
        spec: DaemonSpec {
            label: OURS_LABEL,
            binary: ours_binary(opts)?,
            flavor: Flavor::Ours,
        },
        figures: Figures::default(),
    }];
    match theirs_binary(opts, Path::new(INSTALLED_LIBVIRTD))? {
        Ok(binary) => {
            let isolation = Isolation::prepare(scratch.path())?;
            if isolation.adds_qemu_account() {
                notes.push(
                    "the real libvirtd saw a `libvirt-qemu` account added in its private namespace"
                        .to_string(),
                );
            }
            let subreaper = Path::new(TINI).is_file().then(|| PathBuf::from(TINI));
            if subreaper.is_none() {
                notes.push(format!("{TINI} (Debian package tini) is missing: the real libvirtd ran without a child subreaper"));
            }
            subjects.push(Subject {
                spec: DaemonSpec {
                    label: THEIRS_LABEL,
                    binary,
                    flavor: Flavor::Theirs {
                        isolation: Arc::new(isolation),
                        subreaper,
                    },
                },
                figures: Figures::default(),
            });
        }
        Err(reason) => notes.push(reason),
    }

    if opts.proxy_only {
        let theirs = subjects.get(1).map(|s| &s.spec);
        let ours = &subjects[0].spec.binary;
        proxy::report(
            ours,
            theirs,
            tls_material.as_ref(),
            scratch.path(),
            opts.quick,
            out,
        )
        .map_err(|e| RunError::Proxy(Box::new(e)))?;
        for note in &notes {
            writeln!(out, "note: {note}").map_err(RunError::Output)?;
        }
        return Ok(());
    }
    if opts.domstats_only {
        let specs: Vec<&DaemonSpec> = subjects.iter().map(|s| &s.spec).collect();
        crate::domstats::report(&specs, scratch.path(), opts.quick, out)
            .map_err(RunError::Output)?;
        for note in &notes {
            writeln!(out, "note: {note}").map_err(RunError::Output)?;
        }
        return Ok(());
    }
    let daemons = measure_startups(&mut subjects, &plan, scratch.path())?;
    // Also before pinning: a daemon inherits the CPU affinity of the bench.
    let tls_daemons = match &tls_material {
        Some(material) => start_tls(&subjects, material, scratch.path())?,
        None => Vec::new(),
    };
    // After the daemons exist, so they keep every CPU.
    if let Err(e) = pin_to_current_cpu() {
        notes.push(format!(
            "the load generator could not be pinned to one CPU: {e}"
        ));
    }
    thread::sleep(SETTLE);
    measure_load(&mut subjects, &daemons, &plan)?;
    for d in daemons {
        d.stop()?;
    }
    measure_tls(&mut subjects, &tls_daemons, &plan.tls)?;
    for t in tls_daemons {
        t.daemon.stop()?;
    }
    let client_notes = client_cost_notes(&subjects[0].figures);
    notes.extend(client_notes);
    for s in &subjects {
        if let Some(tls) = &s.figures.tls {
            notes.push(format!(
                "TLS with {}: {}",
                s.spec.label, tls.setups.negotiated
            ));
        }
    }
    write_report(out, &subjects, &notes).map_err(RunError::Output)?;
    let specs: Vec<&DaemonSpec> = subjects.iter().map(|s| &s.spec).collect();
    crate::flood::report(&specs, scratch.path(), opts.quick, out).map_err(RunError::Output)?;
    crate::hook_overhead::report(&specs, scratch.path(), opts.quick, out)
        .map_err(RunError::Output)?;
    crate::guests::report(&specs, scratch.path(), opts.quick, out).map_err(RunError::Output)?;
    crate::domstats::report(&specs, scratch.path(), opts.quick, out).map_err(RunError::Output)?;
    crate::networks::report(&specs, scratch.path(), opts.quick, out).map_err(RunError::Output)?;
    let theirs = specs.get(1).copied();
    let ours = &subjects[0].spec.binary;
    if let Err(e) = proxy::report(
        ours,
        theirs,
        tls_material.as_ref(),
        scratch.path(),
        opts.quick,
        out,
    ) {
        writeln!(out, "\nvirtproxyd phase not measured: {e}").map_err(RunError::Output)?;
    }
    crate::containers::report(&subjects[0].spec, scratch.path(), opts.quick, out)
        .map_err(RunError::Output)
}

/// Starts each daemon `plan.starts` times, alternating between them; the
/// last instance of each (in `subjects` order) stays up for the load phases.
fn measure_startups(
    subjects: &mut [Subject],
    plan: &Plan,
    scratch: &Path,
) -> Result<Vec<RunningDaemon>, RunError> {
    let mut kept = Vec::new();
    for round in 0..plan.starts {
        for (index, s) in subjects.iter_mut().enumerate() {
            progress(&format!(
                "{}: start {}/{}",
                s.spec.label,
                round + 1,
                plan.starts
            ));
            let daemon = s
                .spec
                .start(&scratch.join(format!("daemon{index}-start{round}")))?;
            s.figures.startups.push(daemon.startup);
            if round + 1 < plan.starts {
                daemon.stop()?;
            } else {
                kept.push(daemon);
            }
        }
    }
    Ok(kept)
}

fn measure_load(
    subjects: &mut [Subject],
    daemons: &[RunningDaemon],
    plan: &Plan,
) -> Result<(), RunError> {
    for (s, d) in subjects.iter_mut().zip(daemons) {
        let label = s.spec.label;
        let idle = procfs::memory(d.pid).map_err(|source| RunError::Proc { label, source })?;
        s.figures.idle = Some(idle);
    }
    for (s, d) in subjects.iter_mut().zip(daemons) {
        let (alone, idle) = phase(
            s.spec.label,
            "busy client, with and without idle clients",
            d,
            |d| phases::idle_clients(d, plan.idle_clients, plan.rounds),
        )?;
        s.figures.busy_alone = Some(alone);
        s.figures.idle_clients = Some(idle);
    }
    for n in plan.concurrency {
        for (s, d) in subjects.iter_mut().zip(daemons) {
            let tp = phase(
                s.spec.label,
                &format!("throughput, {n} connections"),
                d,
                |d| phases::throughput(d, n, plan.rounds),
            )?;
            s.figures.throughput.push(tp);
        }
    }
    for (s, d) in subjects.iter_mut().zip(daemons) {
        let rate = phase(s.spec.label, "connect rate", d, |d| {
            phases::connect_rate(d, plan.connect_phase)
        })?;
        s.figures.connects_per_second = Some(rate);
    }
    Ok(())
}

/// One TLS-listening instance of each daemon, in `subjects` order.
fn start_tls(
    subjects: &[Subject],
    material: &TlsMaterial,
    scratch: &Path,
) -> Result<Vec<TlsInstance>, RunError> {
    let mut started = Vec::new();
    for (index, s) in subjects.iter().enumerate() {
        progress(&format!("{}: start with a TLS listener", s.spec.label));
        let dir = scratch.join(format!("daemon{index}-tls"));
        started.push(tls_run::start(&s.spec, &dir, material)?);
    }
    Ok(started)
}

/// TLS session set-up, then GET_LIB_VERSION over TLS at each concurrency,
/// alternating between the daemons.
fn measure_tls(
    subjects: &mut [Subject],
    instances: &[TlsInstance],
    plan: &TlsPlan,
) -> Result<(), RunError> {
    for (s, t) in subjects.iter_mut().zip(instances) {
        let setups = phase(s.spec.label, "TLS session set-up", &t.daemon, |d| {
            tls_phases::setup_rate(d, &t.endpoint, plan.setups)
        })?;
        s.figures.tls = Some(tls_run::TlsFigures {
            setups,
            throughput: Vec::new(),
        });
    }
    for n in plan.concurrency {
        for (s, t) in subjects.iter_mut().zip(instances) {
            let endpoint = Endpoint::Tls(t.endpoint.clone());
            let what = format!("throughput over TLS, {n} connections");
            let tp = phase(s.spec.label, &what, &t.daemon, |d| {
                throughput_on(d, &endpoint, n, plan.rounds)
            })?;
            if let Some(tls) = s.figures.tls.as_mut() {
                tls.throughput.push(tp);
            }
        }
    }
    Ok(())
}

/// Keeps the load generator (this thread: every phase runs on it) on the
/// CPU it is on. Unpinned, the scheduler moves it between CPUs every few
/// seconds, and whether it shares a CPU with the daemon's I/O thread
/// changes one-connection latencies about fourfold on a VM (a cross-CPU
/// wake-up is expensive there); pinned, every phase of a run sees the same
/// arrangement, so figures within a run are comparable.
fn pin_to_current_cpu() -> io::Result<()> {
    let cpu = nix::sched::sched_getcpu()?;
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)?;
    Ok(())
}

/// How much CPU the load generator itself used per call: on 2 cores it
/// competes with the daemon, which caps what a fast daemon can show.
fn client_cost_notes(ours: &Figures) -> Vec<String> {
    let parts: Vec<String> = ours
        .throughput
        .iter()
        .map(|t| {
            format!(
                "{} conn {:.1} us",
                t.connections,
                t.client_cpu_per_call.as_secs_f64() * 1e6
            )
        })
        .collect();
    let mut notes = Vec::new();
    if !parts.is_empty() {
        notes.push(format!(
            "load generator CPU per call while driving ours: {}",
            parts.join(", ")
        ));
    }
    if let Some(tls) = &ours.tls {
        notes.push(format!(
            "load generator CPU per TLS session (its half of the handshake): {:.0} us",
            tls.setups.client_cpu_per_session.as_secs_f64() * 1e6
        ));
    }
    notes
}

fn write_report(out: &mut impl Write, subjects: &[Subject], notes: &[String]) -> io::Result<()> {
    let ours = &subjects[0].figures;
    let theirs = subjects.get(1).map(|s| &s.figures);
    writeln!(
        out,
        "libvirtd-bench {} on {}",
        machine::today_utc(),
        machine::describe()
    )?;
    writeln!(out)?;
    write!(
        out,
        "{}",
        report::render(&report::rows(ours, theirs), THEIRS_LABEL)
    )?;
    if !notes.is_empty() {
        writeln!(out)?;
        for note in notes {
            writeln!(out, "note: {note}")?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_package_means_a_skipped_comparison() {
        let opts = Options::default();
        let reason = theirs_binary(&opts, Path::new("/nonexistent/libvirtd"))
            .unwrap()
            .unwrap_err();
        assert!(
            reason.contains("package libvirt-daemon is not installed"),
            "{reason}"
        );
    }

    #[test]
    fn explicit_paths_must_exist() {
        let opts = Options {
            theirs: Theirs::Path(PathBuf::from("/nonexistent/libvirtd")),
            ..Options::default()
        };
        assert!(matches!(
            theirs_binary(&opts, Path::new("/bin/true")),
            Err(RunError::TheirsMissing(_))
        ));
        let skip = Options {
            theirs: Theirs::Skip,
            ..Options::default()
        };
        assert!(theirs_binary(&skip, Path::new("/bin/true"))
            .unwrap()
            .is_err());
        let found = theirs_binary(&Options::default(), Path::new("/bin/true")).unwrap();
        assert_eq!(found.unwrap(), PathBuf::from("/bin/true"));
    }

    #[test]
    fn missing_daemon_binary_is_explained() {
        let opts = Options {
            ours: Some(PathBuf::from("/nonexistent/libvirtd")),
            ..Options::default()
        };
        let err = ours_binary(&opts).unwrap_err();
        assert!(err.to_string().contains("cargo build --release -p daemon"));
    }
}
