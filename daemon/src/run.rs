//! The daemon's life once settings are known: drivers, servers, accept loops,
//! signals, reload, idle timeout and orderly shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use drivers::api::DriverRegistry;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::context::Daemon;
use crate::events::EventHub;
use crate::server::listener::{self, Listener};
use crate::server::{Limits, Server};
use crate::signals::{self, SignalEvent};

/// What the running daemon may change on SIGHUP.
pub trait Reloader: Send {
    /// Re-reads the configuration and applies what can change live; returns the
    /// new limits of the main and admin servers, or an error to log (old
    /// settings stay).
    fn reload(&mut self) -> Result<(Limits, Limits), String>;
}

pub struct RunOptions {
    pub main_limits: Limits,
    pub admin_limits: Limits,
    /// `-t`: exit after this long with no client and nothing running.
    pub idle_timeout: Option<Duration>,
}

/// Why `run` returned.
#[derive(Debug, PartialEq, Eq)]
pub enum ExitReason {
    Signal(&'static str),
    IdleTimeout,
}

/// Builds the shared state with the drivers this daemon runs.
pub fn build_daemon(opts: &RunOptions) -> Arc<Daemon> {
    let events = Arc::new(EventHub::default());
    let mut drivers = DriverRegistry::new();
    let hub = events.clone();
    let sink: drivers::api::EventSink = Arc::new(move |ev| hub.publish("test", &ev));
    drivers.register(Arc::new(drivers::test_driver::TestDriver::new(sink)));
    Arc::new(Daemon {
        drivers,
        events,
        main: Server::new("libvirtd", opts.main_limits.clone()),
        admin: Server::new("admin", opts.admin_limits.clone()),
    })
}

/// Serves `listeners` until a shutdown signal or the idle timeout. Socket files
/// this daemon created are removed before returning.
pub async fn run(
    daemon: Arc<Daemon>,
    listeners: Vec<Listener>,
    opts: RunOptions,
    mut reloader: Box<dyn Reloader>,
    ready: impl FnOnce(),
) -> std::io::Result<ExitReason> {
    let mut signals = signals::listen()?;
    let shutdown = CancellationToken::new();
    let mut to_unlink: Vec<PathBuf> = Vec::new();
    let mut loops = Vec::new();
    for l in listeners {
        if let Some(path) = l.unlink_on_exit.clone() {
            to_unlink.push(path);
        }
        loops.push(tokio::spawn(listener::accept_loop(
            l,
            daemon.clone(),
            shutdown.clone(),
        )));
    }
    ready();
    info!("daemon ready");

    let mut idle_since: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let reason = loop {
        tokio::select! {
            ev = signals.recv() => match ev {
                Some(SignalEvent::Shutdown(name)) => break ExitReason::Signal(name),
                Some(SignalEvent::Reload) => match reloader.reload() {
                    Ok((main, admin)) => {
                        daemon.main.set_limits(main);
                        daemon.admin.set_limits(admin);
                        info!("configuration reloaded");
                    }
                    Err(e) => error!("reload failed, keeping the previous settings: {e}"),
                },
                None => break ExitReason::Signal("signal handler gone"),
            },
            _ = tick.tick(), if opts.idle_timeout.is_some() => {
                let busy = daemon.servers().iter().any(|s| s.clients.count() > 0);
                if busy {
                    idle_since = None;
                } else {
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    if opts.idle_timeout.is_some_and(|t| since.elapsed() >= t) {
                        break ExitReason::IdleTimeout;
                    }
                }
            }
        }
    };
    info!(?reason, "shutting down");
    shutdown.cancel();
    for l in loops {
        let _ = l.await;
    }
    for path in &to_unlink {
        if let Err(e) = std::fs::remove_file(path) {
            warn!(path = %path.display(), "cannot remove socket: {e}");
        }
    }
    for server in daemon.servers() {
        server.clients.close_all();
    }
    // Sessions flush and close on their own; wait for them, bounded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    for server in daemon.servers() {
        loop {
            let freed = server.capacity_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if server.clients.count() == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                break;
            }
        }
    }
    Ok(reason)
}
