//! The host is going down: drivers that are configured for it (qemu.conf's
//! `auto_shutdown_*`) save, shut down or power off their guests before the daemon
//! exits. A plain stop (SIGTERM, `virt-admin daemon-shutdown`) never does this, so
//! guests survive daemon restarts; only `daemon-shutdown --preserve` and SIGUSR2 do.

use std::path::Path;
use std::sync::Arc;

use drivers::api::DriverRegistry;
use tracing::{info, warn};

use crate::context::Daemon;
use crate::paths::Paths;

/// The link `systemctl enable libvirt-guests` creates (its unit is wanted by
/// multi-user.target).
pub const LIBVIRT_GUESTS_WANTS_LINK: &str =
    "/etc/systemd/system/multi-user.target.wants/libvirt-guests.service";

/// The lock file libvirt-guests' `start` leaves (Debian's location); the
/// libvirt-guests program writes it, the daemon only looks for it.
pub const LIBVIRT_GUESTS_LOCK_FILE: &str = "/var/lock/libvirt-guests";

/// Whether libvirt-guests is set up on this host: its unit is enabled, or its lock
/// file says its `start` ran since boot (hosts without systemd).
pub fn libvirt_guests_enabled(paths: &Paths) -> bool {
    [LIBVIRT_GUESTS_WANTS_LINK, LIBVIRT_GUESTS_LOCK_FILE]
        .iter()
        .any(|file| paths.rooted(Path::new(file)).symlink_metadata().is_ok())
}

/// At start-up: two mechanisms acting on the same guests at host shutdown race
/// each other, so say so when both are enabled.
pub fn warn_if_libvirt_guests_too(drivers: &DriverRegistry, paths: &Paths) -> bool {
    let both = drivers.handles_host_shutdown() && libvirt_guests_enabled(paths);
    if both {
        warn!(
            "guests are handled at host shutdown both by this daemon (auto_shutdown_* in \
             qemu.conf) and by libvirt-guests; disable one of them"
        );
    }
    both
}

/// Lets every driver handle its guests; blocking work, so off the async workers.
pub async fn handle_guests(daemon: Arc<Daemon>) {
    let notes = tokio::task::spawn_blocking(move || daemon.drivers.host_shutdown_all()).await;
    match notes {
        Ok(notes) => {
            for note in notes {
                info!(target: "daemon::host_shutdown", "{note}");
            }
        }
        Err(e) => warn!(target: "daemon::host_shutdown", "guest handling failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths_in(root: &Path) -> Paths {
        Paths::with_root(Some(root.to_path_buf()), true, &|_| None)
    }

    #[test]
    fn libvirt_guests_is_enabled_by_unit_link_or_lock_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = paths_in(dir.path());
        assert!(!libvirt_guests_enabled(&paths));
        let lock = paths.rooted(Path::new(LIBVIRT_GUESTS_LOCK_FILE));
        std::fs::create_dir_all(lock.parent().expect("parent")).expect("mkdir");
        std::fs::write(&lock, b"").expect("lock");
        assert!(libvirt_guests_enabled(&paths));
        std::fs::remove_file(&lock).expect("rm lock");
        let link = paths.rooted(Path::new(LIBVIRT_GUESTS_WANTS_LINK));
        std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
        // systemctl's links point at the unit file, which need not exist under a test root.
        std::os::unix::fs::symlink("/lib/systemd/system/libvirt-guests.service", &link)
            .expect("link");
        assert!(libvirt_guests_enabled(&paths));
    }
}
