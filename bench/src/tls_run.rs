//! Getting both daemons to serve TLS with the same certificates: make the
//! certificates, start one TLS-listening instance of each daemon, and wait
//! until its port completes a whole session.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use client::{TlsConfig, TlsError};

use crate::launch::{log_tail, DaemonSpec, Extra, LaunchError, RunningDaemon};
use crate::load::Bounds;
use crate::phases::{Rounds, Throughput};
use crate::pki::{Pki, PkiError, SERVER_NAME};
use crate::tls_client::{client_config, TlsEndpoint};
use crate::tls_phases::TlsSetups;
use crate::transport::Endpoint;
use crate::wire::{Session, WireError};

/// How long a started daemon's TLS port may take to serve a session.
const SERVING_LIMIT: Duration = Duration::from_secs(20);
/// Pause between attempts while the port refuses connections.
const RETRY: Duration = Duration::from_millis(5);

#[derive(Debug, thiserror::Error)]
pub enum TlsRunError {
    #[error("making certificates: {0}")]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Client(#[from] TlsError),
    #[error("creating {0}: {1}")]
    Directory(std::path::PathBuf, io::Error),
    #[error("finding a free TCP port: {0}")]
    Port(io::Error),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("{label} does not serve TLS on {addr}: {source}; its log ends with:\n{tail}")]
    NotServing {
        label: &'static str,
        addr: SocketAddr,
        source: WireError,
        tail: String,
    },
}

/// Sizes of the TLS phases.
#[derive(Debug, Clone, Copy)]
pub struct TlsPlan {
    pub setups: Bounds,
    pub rounds: Rounds,
    pub concurrency: [usize; 2],
}

/// What the TLS phases measured on one daemon.
#[derive(Debug, Clone)]
pub struct TlsFigures {
    pub setups: TlsSetups,
    pub throughput: Vec<Throughput>,
}

/// The run's certificates and the client configuration built from them.
pub struct TlsMaterial {
    pub pki: Pki,
    pub client: TlsConfig,
}

/// A daemon started with a TLS listener.
pub struct TlsInstance {
    pub daemon: RunningDaemon,
    pub endpoint: TlsEndpoint,
}

/// Makes the certificates in `dir` (created) and the client configuration.
pub fn prepare(dir: &Path) -> Result<TlsMaterial, TlsRunError> {
    std::fs::create_dir_all(dir).map_err(|e| TlsRunError::Directory(dir.to_path_buf(), e))?;
    let pki = Pki::create(dir)?;
    let client = client_config(&pki.client)?;
    Ok(TlsMaterial { pki, client })
}

/// A port on 127.0.0.1 nobody listens on right now.
pub(crate) fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Starts `spec` in `dir` with `listen_tls` on a free port and `-l`, and
/// waits until a TLS session completes CONNECT_GET_LIB_VERSION.
pub fn start(
    spec: &DaemonSpec,
    dir: &Path,
    material: &TlsMaterial,
) -> Result<TlsInstance, TlsRunError> {
    let port = free_port().map_err(TlsRunError::Port)?;
    let extra = Extra {
        config: material.pki.listen_config(port),
        listen: true,
    };
    let daemon = spec.start_with(dir, &extra)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let endpoint = TlsEndpoint::new(addr, SERVER_NAME, material.client.clone());
    wait_serving(&endpoint).map_err(|source| TlsRunError::NotServing {
        label: spec.label,
        addr,
        source,
        tail: log_tail(&daemon.log),
    })?;
    Ok(TlsInstance { daemon, endpoint })
}

/// One whole session over TLS, retried while the port refuses connections
/// (a listener may come up after the Unix socket answers).
fn wait_serving(endpoint: &TlsEndpoint) -> Result<(), WireError> {
    let endpoint = Endpoint::Tls(endpoint.clone());
    let deadline = Instant::now() + SERVING_LIMIT;
    loop {
        match Session::connect_to(&endpoint) {
            Ok(mut session) => {
                session.open_test_driver()?;
                session.lib_version()?;
                return session.close();
            }
            Err(WireError::Tls(e)) if refused(&e) && Instant::now() < deadline => {
                thread::sleep(RETRY)
            }
            Err(e) => return Err(e),
        }
    }
}

fn refused(e: &TlsError) -> bool {
    matches!(e, TlsError::Connect(io) if io.kind() == io::ErrorKind::ConnectionRefused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_can_be_bound() {
        // Another process may take a freed port before we bind it again, so
        // one success out of a few attempts is the property checked.
        let bound = (0..5).any(|_| {
            let port = free_port().unwrap();
            assert_ne!(port, 0);
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        });
        assert!(bound);
    }
}
