//! Measurements specific to the TLS transport: how fast a client can get
//! from nothing to an open connection. Round trips over an established TLS
//! connection reuse [`phases::throughput_on`](crate::phases::throughput_on).

use std::time::{Duration, Instant};

use crate::launch::RunningDaemon;
use crate::load::Bounds;
use crate::phases::PhaseError;
use crate::procfs;
use crate::stats::{latency, Latency};
use crate::tls_client::TlsEndpoint;
use crate::transport::Endpoint;
use crate::wire::Session;

/// Sequential TLS sessions, one after another from one client.
#[derive(Debug, Clone)]
pub struct TlsSetups {
    pub sessions: u64,
    /// Whole sessions per second: set-up, CONNECT_CLOSE, disconnect.
    pub per_second: f64,
    /// TCP connect + handshake + confirmation byte + AUTH_LIST +
    /// CONNECT_OPEN, per session.
    pub setup: Latency,
    /// Daemon CPU (user + system, all threads) per session.
    pub server_cpu_per_session: Duration,
    /// The client's own CPU per session (its half of the handshake).
    pub client_cpu_per_session: Duration,
    /// Protocol version, cipher suite and key exchange the daemon chose.
    pub negotiated: String,
}

/// One TLS session: set up (timed), then closed politely as virsh does.
/// Returns the set-up time and what the connection negotiated.
fn one_session(endpoint: &Endpoint) -> Result<(Duration, Option<String>), PhaseError> {
    let started = Instant::now();
    let mut session = Session::connect_to(endpoint)?;
    session.open_test_driver()?;
    let setup = started.elapsed();
    let negotiated = session.stream().tls_parameters();
    session.close()?;
    Ok((setup, negotiated))
}

/// Opens and closes TLS sessions one after another until `bounds` says
/// stop (sessions count as calls).
pub fn setup_rate(
    daemon: &RunningDaemon,
    endpoint: &TlsEndpoint,
    bounds: Bounds,
) -> Result<TlsSetups, PhaseError> {
    let endpoint = Endpoint::Tls(endpoint.clone());
    // One unmeasured session: the first one pays for lazy initialisation
    // on both sides.
    let (_, negotiated) = one_session(&endpoint)?;
    let ticks_before = procfs::cpu_ticks(daemon.pid)?;
    let client_before = procfs::own_cpu_micros();
    let start = Instant::now();
    let deadline = start + bounds.max_time;
    let mut setups_ns = Vec::new();
    while (setups_ns.len() as u64) < bounds.max_calls && Instant::now() < deadline {
        setups_ns.push(one_session(&endpoint)?.0.as_nanos() as u64);
    }
    let secs = start.elapsed().as_secs_f64();
    let client_micros = procfs::own_cpu_micros().saturating_sub(client_before);
    let ticks = procfs::cpu_ticks(daemon.pid)?.saturating_sub(ticks_before);
    let sessions = setups_ns.len() as u64;
    let setup = latency(&mut setups_ns).ok_or(PhaseError::NoCalls)?;
    if secs <= 0.0 {
        return Err(PhaseError::NoCalls);
    }
    let server_micros = ticks as f64 * 1e6 / procfs::ticks_per_second() as f64;
    Ok(TlsSetups {
        sessions,
        per_second: sessions as f64 / secs,
        setup,
        server_cpu_per_session: per_session(server_micros, sessions),
        client_cpu_per_session: per_session(client_micros as f64, sessions),
        negotiated: negotiated.unwrap_or_default(),
    })
}

fn per_session(micros: f64, sessions: u64) -> Duration {
    Duration::from_nanos((micros * 1000.0 / sessions.max(1) as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_is_divided_by_sessions() {
        assert_eq!(per_session(3000.0, 4), Duration::from_micros(750));
        assert_eq!(per_session(10.0, 0), Duration::from_micros(10));
    }
}
