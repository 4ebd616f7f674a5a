//! One function per measured quantity, each run against one started
//! daemon. The orchestrator calls them for both daemons back to back so
//! that both see the same machine state.

use std::time::{Duration, Instant};

use protocol::programs::remote_proc;

use crate::launch::RunningDaemon;
use crate::load::{run_lockstep, Bounds, LoadError, LoadOutcome};
use crate::procfs::{self, MemorySample, ProcError};
use crate::stats::{latency, Latency};
use crate::wire::{Session, WireError};

#[derive(Debug, thiserror::Error)]
pub enum PhaseError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Proc(#[from] ProcError),
    #[error("opening idle client {index}: {source}")]
    IdleClient { index: usize, source: WireError },
    #[error("the phase completed no call")]
    NoCalls,
}

/// Throughput and cost of CONNECT_GET_LIB_VERSION at one concurrency.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub connections: usize,
    pub calls: u64,
    pub calls_per_second: f64,
    pub latency: Latency,
    /// Daemon CPU (user + system, all threads) divided by calls.
    pub server_cpu_per_call: Duration,
    /// Daemon context switches (all threads) divided by calls.
    pub switches_per_call: f64,
    /// The load generator's own CPU divided by calls.
    pub client_cpu_per_call: Duration,
}

/// Memory with many idle clients, and the latency one busy client sees
/// meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct IdleClients {
    pub count: usize,
    pub memory: MemorySample,
    pub busy: Latency,
}

/// Sessions that did AUTH_LIST + CONNECT_OPEN and are ready for calls.
pub fn open_sessions(daemon: &RunningDaemon, count: usize) -> Result<Vec<Session>, PhaseError> {
    (0..count)
        .map(|index| {
            let mut s = Session::connect(&daemon.socket)
                .map_err(|source| PhaseError::IdleClient { index, source })?;
            s.open_test_driver()
                .map_err(|source| PhaseError::IdleClient { index, source })?;
            Ok(s)
        })
        .collect()
}

fn lib_version_load(sessions: &mut [Session], bounds: Bounds) -> Result<LoadOutcome, PhaseError> {
    let outcome = run_lockstep(sessions, remote_proc::CONNECT_GET_LIB_VERSION, &[], bounds)?;
    if outcome.calls == 0 {
        return Err(PhaseError::NoCalls);
    }
    Ok(outcome)
}

fn per_call(micros: f64, calls: u64) -> Duration {
    Duration::from_nanos((micros * 1000.0 / calls.max(1) as f64) as u64)
}

/// `connections` clients in lock-step, after a warm-up run.
pub fn throughput(
    daemon: &RunningDaemon,
    connections: usize,
    warmup: Bounds,
    bounds: Bounds,
) -> Result<Throughput, PhaseError> {
    let mut sessions = open_sessions(daemon, connections)?;
    lib_version_load(&mut sessions, warmup)?;
    let ticks_before = procfs::cpu_ticks(daemon.pid)?;
    let switches_before = procfs::context_switches(daemon.pid)?;
    let client_before = procfs::own_cpu_micros();
    let mut outcome = lib_version_load(&mut sessions, bounds)?;
    let client_after = procfs::own_cpu_micros();
    let switches_after = procfs::context_switches(daemon.pid)?;
    let ticks_after = procfs::cpu_ticks(daemon.pid)?;
    let server_micros =
        ticks_after.saturating_sub(ticks_before) as f64 * 1e6 / procfs::ticks_per_second() as f64;
    let latency = latency(&mut outcome.latencies_ns).ok_or(PhaseError::NoCalls)?;
    Ok(Throughput {
        connections,
        calls: outcome.calls,
        calls_per_second: outcome.calls_per_second(),
        latency,
        server_cpu_per_call: per_call(server_micros, outcome.calls),
        switches_per_call: switches_after.saturating_sub(switches_before) as f64
            / outcome.calls.max(1) as f64,
        client_cpu_per_call: per_call(
            client_after.saturating_sub(client_before) as f64,
            outcome.calls,
        ),
    })
}

/// Latency of one busy client (beside whatever other clients exist).
pub fn busy_latency(
    daemon: &RunningDaemon,
    warmup: Bounds,
    bounds: Bounds,
) -> Result<Latency, PhaseError> {
    let mut busy = open_sessions(daemon, 1)?;
    lib_version_load(&mut busy, warmup)?;
    let mut outcome = lib_version_load(&mut busy, bounds)?;
    latency(&mut outcome.latencies_ns).ok_or(PhaseError::NoCalls)
}

/// Opens `count` idle clients, reads the daemon's memory, then measures
/// one busy client beside them. The idle clients are closed on return.
pub fn with_idle_clients(
    daemon: &RunningDaemon,
    count: usize,
    warmup: Bounds,
    bounds: Bounds,
) -> Result<IdleClients, PhaseError> {
    let idle = open_sessions(daemon, count)?;
    let memory = procfs::memory(daemon.pid)?;
    let busy = busy_latency(daemon, warmup, bounds)?;
    drop(idle);
    Ok(IdleClients {
        count,
        memory,
        busy,
    })
}

/// Whole short sessions per second: connect, AUTH_LIST, CONNECT_OPEN,
/// CONNECT_CLOSE, disconnect; one after another from one client.
pub fn connect_rate(daemon: &RunningDaemon, bounds: Bounds) -> Result<f64, PhaseError> {
    let start = Instant::now();
    let deadline = start + bounds.max_time;
    let mut done = 0u64;
    while done < bounds.max_calls && Instant::now() < deadline {
        let mut session = Session::connect(&daemon.socket)?;
        session.open_test_driver()?;
        session.close()?;
        done += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    if done == 0 || secs <= 0.0 {
        return Err(PhaseError::NoCalls);
    }
    Ok(done as f64 / secs)
}
