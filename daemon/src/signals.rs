//! The one place where signals become daemon events.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    /// SIGTERM, SIGINT or SIGQUIT: orderly shutdown.
    Shutdown(&'static str),
    /// SIGHUP: reload the configuration.
    Reload,
    /// SIGUSR2: the host is going down; guests are handled as qemu.conf's
    /// `auto_shutdown_*` say, then the daemon exits.
    HostShutdown,
}

/// Installs the handlers and returns the stream of events. Must run inside the runtime.
pub fn listen() -> std::io::Result<mpsc::UnboundedReceiver<SignalEvent>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let kinds = [
        (SignalKind::terminate(), SignalEvent::Shutdown("SIGTERM")),
        (SignalKind::interrupt(), SignalEvent::Shutdown("SIGINT")),
        (SignalKind::quit(), SignalEvent::Shutdown("SIGQUIT")),
        (SignalKind::hangup(), SignalEvent::Reload),
        (SignalKind::user_defined2(), SignalEvent::HostShutdown),
    ];
    for (kind, event) in kinds {
        let mut stream = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
    }
    // SIGPIPE must not kill the daemon when a client goes away mid-write:
    // the Rust runtime set it to SIG_IGN before main (daemon_signals'
    // sigpipe_is_ignored checks it).
    Ok(rx)
}
