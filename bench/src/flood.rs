//! Hostile clients: 22 connections that send 20,000 keepalive PINGs each
//! and never read, plus 30 that connect and stay silent. Measured on a
//! freshly started instance of each daemon: its RSS before and under the
//! flood, and what a new client sees meanwhile (connect + AUTH_LIST +
//! CONNECT_OPEN, then GET_LIB_VERSION in lock-step).

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::{keepalive, KEEPALIVE_PROGRAM};

use crate::launch::DaemonSpec;
use crate::phases::PhaseError;
use crate::procfs;
use crate::stats::{latency, Latency};
use crate::wire::Session;

const FLOODERS: usize = 22;
const PINGS_EACH: usize = 20_000;
const SILENT: usize = 30;

/// Sizes of the phase.
#[derive(Debug, Clone, Copy)]
struct FloodPlan {
    /// A flooder that sent nothing for this long is considered stopped.
    stall: Duration,
    /// Calls of the fresh client during the flood.
    calls: usize,
}

impl FloodPlan {
    fn new(quick: bool) -> FloodPlan {
        FloodPlan {
            stall: Duration::from_millis(if quick { 500 } else { 1000 }),
            calls: if quick { 2_000 } else { 10_000 },
        }
    }
}

/// What one daemon showed.
#[derive(Debug, Clone, Copy)]
struct Flood {
    rss_before_kib: u64,
    rss_during_kib: u64,
    /// Flooders that got every PING out (the daemon read them all).
    flooders_done: usize,
    open: Duration,
    calls: Latency,
}

/// Prints the section for every daemon and the ratios.
pub fn report(
    specs: &[&DaemonSpec],
    scratch: &Path,
    quick: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let plan = FloodPlan::new(quick);
    writeln!(
        out,
        "\nflood: {FLOODERS} clients send {PINGS_EACH} PINGs each without reading, {SILENT} \
         clients stay silent; RSS before and under it, then a fresh client's connect + \
         AUTH_LIST + OPEN and {} GET_LIB_VERSION calls",
        plan.calls
    )?;
    writeln!(
        out,
        "{:<14} {:>12} {:>12} {:>14} {:>12} {:>12} {:>12}",
        "daemon", "RSS before", "RSS flood", "PINGs all read", "open", "call p50", "call p99"
    )?;
    let mut measured = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        eprintln!("libvirtd-bench: {}: flood", spec.label);
        let dir = scratch.join(format!("flood-{index}"));
        match measure(spec, &dir, plan) {
            Ok(f) => {
                writeln!(
                    out,
                    "{:<14} {:>8.1} MiB {:>8.1} MiB {:>11}/{FLOODERS} {:>9.0} us {:>9.1} us {:>9.1} us",
                    spec.label,
                    f.rss_before_kib as f64 / 1024.0,
                    f.rss_during_kib as f64 / 1024.0,
                    f.flooders_done,
                    f.open.as_secs_f64() * 1e6,
                    f.calls.p50.as_secs_f64() * 1e6,
                    f.calls.p99.as_secs_f64() * 1e6,
                )?;
                measured.push(f);
            }
            Err(e) => writeln!(out, "{:<14} not measured: {e}", spec.label)?,
        }
    }
    if let [ours, theirs] = measured[..] {
        let growth = |f: Flood| f.rss_during_kib.saturating_sub(f.rss_before_kib) as f64;
        writeln!(
            out,
            "ratios (ours / theirs): RSS under flood {:.3}, RSS growth {:.3}, open {:.4}, \
             call p50 {:.5}, call p99 {:.5}",
            ours.rss_during_kib as f64 / theirs.rss_during_kib as f64,
            growth(ours) / growth(theirs).max(1.0),
            ours.open.as_secs_f64() / theirs.open.as_secs_f64(),
            ours.calls.p50.as_secs_f64() / theirs.calls.p50.as_secs_f64(),
            ours.calls.p99.as_secs_f64() / theirs.calls.p99.as_secs_f64(),
        )?;
    }
    Ok(())
}

fn measure(spec: &DaemonSpec, dir: &Path, plan: FloodPlan) -> Result<Flood, String> {
    let daemon = spec.start(dir).map_err(|e| e.to_string())?;
    let result = flood(&daemon.socket, daemon.pid, plan).map_err(|e| e.to_string());
    daemon.stop().map_err(|e| e.to_string())?;
    result
}

fn flood(socket: &Path, pid: u32, plan: FloodPlan) -> Result<Flood, PhaseError> {
    let rss_before_kib = procfs::memory(pid)?.rss_kib;
    let ping = Header::new(KEEPALIVE_PROGRAM, keepalive::PING, MessageType::Message, 0);
    let pings = encode_message(&ping, &[]).repeat(PINGS_EACH);
    let mut flooders = Vec::with_capacity(FLOODERS);
    for _ in 0..FLOODERS {
        let stream = UnixStream::connect(socket).map_err(crate::wire::WireError::from)?;
        stream
            .set_nonblocking(true)
            .map_err(crate::wire::WireError::from)?;
        flooders.push((stream, 0usize));
    }
    let silent: Vec<UnixStream> = (0..SILENT)
        .map(|_| UnixStream::connect(socket))
        .collect::<Result<_, _>>()
        .map_err(crate::wire::WireError::from)?;
    // Send until every flooder is done or none made progress for a while.
    let mut last_progress = Instant::now();
    while last_progress.elapsed() < plan.stall {
        let mut progressed = false;
        for (stream, sent) in flooders.iter_mut() {
            while *sent < pings.len() {
                match stream.write(&pings[*sent..]) {
                    Ok(n) if n > 0 => {
                        *sent += n;
                        progressed = true;
                    }
                    _ => break,
                }
            }
        }
        if flooders.iter().all(|(_, sent)| *sent == pings.len()) {
            break;
        }
        if progressed {
            last_progress = Instant::now();
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let rss_during_kib = procfs::memory(pid)?.rss_kib;
    let flooders_done = flooders
        .iter()
        .filter(|(_, sent)| *sent == pings.len())
        .count();
    let started = Instant::now();
    let mut fresh = Session::connect(socket)?;
    fresh.open_test_driver()?;
    let open = started.elapsed();
    let mut samples = Vec::with_capacity(plan.calls);
    for _ in 0..plan.calls {
        let t = Instant::now();
        fresh.lib_version()?;
        samples.push(t.elapsed().as_nanos() as u64);
    }
    let calls = latency(&mut samples).ok_or(PhaseError::NoCalls)?;
    drop((silent, flooders));
    Ok(Flood {
        rss_before_kib,
        rss_during_kib,
        flooders_done,
        open,
        calls,
    })
}
