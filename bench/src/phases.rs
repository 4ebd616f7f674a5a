//! One function per measured quantity, each run against one started
//! daemon. The orchestrator calls them for both daemons back to back so
//! that both see the same machine state.

use std::time::{Duration, Instant};

use protocol::programs::remote_proc;

use crate::launch::RunningDaemon;
use crate::load::{run_lockstep, Bounds, LoadError, LoadOutcome};
use crate::procfs::{self, MemorySample, ProcError};
use crate::stats::{latency, Latency};
use crate::transport::Endpoint;
use crate::wire::{Session, WireError};

#[derive(Debug, thiserror::Error)]
pub enum PhaseError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Proc(#[from] ProcError),
    #[error("opening client {index}: {source}")]
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

/// Sessions on the daemon's Unix socket that did AUTH_LIST + CONNECT_OPEN
/// and are ready for calls.
pub fn open_sessions(daemon: &RunningDaemon, count: usize) -> Result<Vec<Session>, PhaseError> {
    open_sessions_on(&Endpoint::Unix(daemon.socket.clone()), count)
}

/// [`open_sessions`] on any endpoint.
pub fn open_sessions_on(endpoint: &Endpoint, count: usize) -> Result<Vec<Session>, PhaseError> {
    (0..count)
        .map(|index| {
            let mut s = Session::connect_to(endpoint)
                .map_err(|source| PhaseError::IdleClient { index, source })?;
            s.open_test_driver()
                .map_err(|source| PhaseError::IdleClient { index, source })?;
            Ok(s)
        })
        .collect()
}

/// How a load phase is split: `count` rounds, each on fresh connections,
/// each preceded by an unmeasured warm-up. Several short rounds instead of
/// one long one, because where the scheduler happens to place the client
/// and the daemon's threads (same CPU or not) sticks for seconds and
/// changes one-connection latencies severalfold; pooling rounds samples
/// several placements.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    pub count: usize,
    pub warmup: Bounds,
    pub each: Bounds,
}

/// Sums over the measured part of all rounds.
#[derive(Debug, Default)]
struct Pooled {
    calls: u64,
    elapsed: Duration,
    latencies_ns: Vec<u64>,
    server_ticks: u64,
    switches: u64,
    client_micros: u64,
}

fn lib_version_load(sessions: &mut [Session], bounds: Bounds) -> Result<LoadOutcome, PhaseError> {
    let outcome = run_lockstep(sessions, remote_proc::CONNECT_GET_LIB_VERSION, &[], bounds)?;
    if outcome.calls == 0 {
        return Err(PhaseError::NoCalls);
    }
    Ok(outcome)
}

/// One warm-up and one measured run on `sessions`, added to `pooled`.
fn measure_round(
    daemon: &RunningDaemon,
    sessions: &mut [Session],
    rounds: Rounds,
    pooled: &mut Pooled,
) -> Result<(), PhaseError> {
    lib_version_load(sessions, rounds.warmup)?;
    let ticks_before = procfs::cpu_ticks(daemon.pid)?;
    let switches_before = procfs::context_switches(daemon.pid)?;
    let client_before = procfs::own_cpu_micros();
    let outcome = lib_version_load(sessions, rounds.each)?;
    let client_after = procfs::own_cpu_micros();
    let switches_after = procfs::context_switches(daemon.pid)?;
    let ticks_after = procfs::cpu_ticks(daemon.pid)?;
    pooled.calls += outcome.calls;
    pooled.elapsed += outcome.elapsed;
    pooled.latencies_ns.extend(outcome.latencies_ns);
    pooled.server_ticks += ticks_after.saturating_sub(ticks_before);
    pooled.switches += switches_after.saturating_sub(switches_before);
    pooled.client_micros += client_after.saturating_sub(client_before);
    Ok(())
}

/// Runs the rounds, each with `connections` fresh lock-step clients.
fn pooled_rounds(
    daemon: &RunningDaemon,
    endpoint: &Endpoint,
    connections: usize,
    rounds: Rounds,
) -> Result<Pooled, PhaseError> {
    let mut pooled = Pooled::default();
    for _ in 0..rounds.count.max(1) {
        let mut sessions = open_sessions_on(endpoint, connections)?;
        measure_round(daemon, &mut sessions, rounds, &mut pooled)?;
    }
    Ok(pooled)
}

fn per_call(micros: f64, calls: u64) -> Duration {
    Duration::from_nanos((micros * 1000.0 / calls.max(1) as f64) as u64)
}

/// `connections` clients in lock-step on the daemon's Unix socket.
pub fn throughput(
    daemon: &RunningDaemon,
    connections: usize,
    rounds: Rounds,
) -> Result<Throughput, PhaseError> {
    throughput_on(
        daemon,
        &Endpoint::Unix(daemon.socket.clone()),
        connections,
        rounds,
    )
}

/// `connections` clients in lock-step on `endpoint`, which `daemon`
/// serves (its CPU and context switches are counted).
pub fn throughput_on(
    daemon: &RunningDaemon,
    endpoint: &Endpoint,
    connections: usize,
    rounds: Rounds,
) -> Result<Throughput, PhaseError> {
    let mut pooled = pooled_rounds(daemon, endpoint, connections, rounds)?;
    let server_micros = pooled.server_ticks as f64 * 1e6 / procfs::ticks_per_second() as f64;
    let latency = latency(&mut pooled.latencies_ns).ok_or(PhaseError::NoCalls)?;
    let secs = pooled.elapsed.as_secs_f64();
    Ok(Throughput {
        connections,
        calls: pooled.calls,
        calls_per_second: if secs > 0.0 {
            pooled.calls as f64 / secs
        } else {
            0.0
        },
        latency,
        server_cpu_per_call: per_call(server_micros, pooled.calls),
        switches_per_call: pooled.switches as f64 / pooled.calls.max(1) as f64,
        client_cpu_per_call: per_call(pooled.client_micros as f64, pooled.calls),
    })
}

/// One busy client alone and beside `count` idle clients.
///
/// The same busy connection alternates between the two conditions round
/// by round (the idle clients are opened and closed each time), so both
/// see the same placement of threads on CPUs, which otherwise moves
/// one-connection latencies far more than idle clients do.
pub fn idle_clients(
    daemon: &RunningDaemon,
    count: usize,
    rounds: Rounds,
) -> Result<(Latency, IdleClients), PhaseError> {
    let mut busy = open_sessions(daemon, 1)?;
    let mut alone = Pooled::default();
    let mut crowded = Pooled::default();
    let mut memory = None;
    for _ in 0..rounds.count.max(1) {
        measure_round(daemon, &mut busy, rounds, &mut alone)?;
        let idle = open_sessions(daemon, count)?;
        if memory.is_none() {
            memory = Some(procfs::memory(daemon.pid)?);
        }
        measure_round(daemon, &mut busy, rounds, &mut crowded)?;
        drop(idle);
    }
    let memory = match memory {
        Some(m) => m,
        None => procfs::memory(daemon.pid)?,
    };
    let alone = latency(&mut alone.latencies_ns).ok_or(PhaseError::NoCalls)?;
    let busy = latency(&mut crowded.latencies_ns).ok_or(PhaseError::NoCalls)?;
    Ok((
        alone,
        IdleClients {
            count,
            memory,
            busy,
        },
    ))
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
