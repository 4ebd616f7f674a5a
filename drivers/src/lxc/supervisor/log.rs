//! The supervisor's own log: its stderr, which the daemon points at the container's
//! log file (`<log dir>/<name>.log`), next to what the container prints on its console.
//! The supervisor is a process of its own, so it installs its own `tracing` subscriber;
//! the daemon's log settings do not reach it, as libvirt's `libvirt_lxc` has its own.

use tracing::Level;

/// Sends `tracing` events of level info and above to stderr, without colours.
pub fn install() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(Level::INFO)
        .try_init();
}
