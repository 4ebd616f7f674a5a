//! The hook scripts there are, the operations each is called with, and which
//! failures stop the operation that triggered them.
//!
//! The tables here are the single source of truth for callers: a driver asks
//! [`aborts_on_failure`] instead of deciding on its own, so every driver treats
//! a failing `prepare` or `release` the same way.

use std::fmt;

/// One hook script name in the hooks directory (and its `<name>.d/` directory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookDriver {
    /// `daemon`: start, shutdown and reload of the daemon itself.
    Daemon,
    /// `qemu`: QEMU guests.
    Qemu,
    /// `lxc`: LXC containers.
    Lxc,
    /// `network`: virtual networks and their ports.
    Network,
    /// `libxl`: Xen guests (no driver here calls it; the name is reserved so
    /// scripts written for it are found the way libvirt finds them).
    Libxl,
}

impl HookDriver {
    /// Every script name, in the order they are scanned.
    pub const ALL: [HookDriver; 5] = [
        HookDriver::Daemon,
        HookDriver::Qemu,
        HookDriver::Lxc,
        HookDriver::Network,
        HookDriver::Libxl,
    ];

    /// The script's file name in the hooks directory.
    pub fn name(self) -> &'static str {
        match self {
            HookDriver::Daemon => "daemon",
            HookDriver::Qemu => "qemu",
            HookDriver::Lxc => "lxc",
            HookDriver::Network => "network",
            HookDriver::Libxl => "libxl",
        }
    }

    /// Position in [`HookDriver::ALL`], for per-driver tables.
    pub(crate) fn index(self) -> usize {
        match self {
            HookDriver::Daemon => 0,
            HookDriver::Qemu => 1,
            HookDriver::Lxc => 2,
            HookDriver::Network => 3,
            HookDriver::Libxl => 4,
        }
    }

    /// The operation names (second argument) libvirt 9.0 calls this script with.
    pub fn operations(self) -> &'static [&'static str] {
        match self {
            HookDriver::Daemon => &["start", "shutdown", "reload"],
            HookDriver::Qemu => &[
                "start",
                "stopped",
                "prepare",
                "release",
                "migrate",
                "started",
                "reconnect",
                "attach",
                "restore",
            ],
            HookDriver::Lxc => &[
                "start",
                "stopped",
                "prepare",
                "release",
                "started",
                "reconnect",
            ],
            HookDriver::Network => &[
                "start",
                "started",
                "stopped",
                "port-created",
                "port-deleted",
                "updated",
            ],
            HookDriver::Libxl => &[
                "start",
                "stopped",
                "prepare",
                "release",
                "migrate",
                "started",
                "reconnect",
            ],
        }
    }
}

impl fmt::Display for HookDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a failing script stops the operation it was called for.
///
/// Operations that run before something exists or is committed (the daemon
/// start, a guest's prepare/start/started, migrate, restore, reconnect,
/// attach, a network's start/started/port-created/updated) are aborted;
/// operations reporting something already over (stopped, release,
/// port-deleted, daemon shutdown and reload) only log the failure. Unknown
/// operations never abort.
pub fn aborts_on_failure(driver: HookDriver, op: &str) -> bool {
    match driver {
        HookDriver::Daemon => op == "start",
        HookDriver::Qemu => matches!(
            op,
            "prepare" | "start" | "started" | "migrate" | "restore" | "reconnect" | "attach"
        ),
        HookDriver::Lxc => matches!(op, "prepare" | "start" | "started" | "reconnect"),
        HookDriver::Network => matches!(op, "start" | "started" | "port-created" | "updated"),
        HookDriver::Libxl => matches!(
            op,
            "prepare" | "start" | "started" | "migrate" | "reconnect"
        ),
    }
}

/// Whether libvirt reads the script's output for this operation (the script
/// is a filter and prints a replacement for the domain XML it was given).
/// Callers pass the result as `filter` to [`crate::Hooks::run`].
pub fn consumes_output(driver: HookDriver, op: &str) -> bool {
    match driver {
        HookDriver::Qemu => matches!(op, "migrate" | "restore"),
        HookDriver::Libxl => op == "migrate",
        HookDriver::Daemon | HookDriver::Lxc | HookDriver::Network => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_script_file_names() {
        let names: Vec<&str> = HookDriver::ALL.iter().map(|d| d.name()).collect();
        assert_eq!(names, ["daemon", "qemu", "lxc", "network", "libxl"]);
        assert_eq!(HookDriver::Network.to_string(), "network");
        for (position, driver) in HookDriver::ALL.iter().enumerate() {
            assert_eq!(driver.index(), position);
        }
    }

    #[test]
    fn guest_start_path_aborts_and_teardown_only_logs() {
        for op in [
            "prepare",
            "start",
            "started",
            "migrate",
            "restore",
            "reconnect",
        ] {
            assert!(aborts_on_failure(HookDriver::Qemu, op), "qemu {op}");
        }
        for op in ["stopped", "release"] {
            assert!(!aborts_on_failure(HookDriver::Qemu, op), "qemu {op}");
            assert!(!aborts_on_failure(HookDriver::Lxc, op), "lxc {op}");
            assert!(!aborts_on_failure(HookDriver::Libxl, op), "libxl {op}");
        }
        assert!(aborts_on_failure(HookDriver::Lxc, "prepare"));
        assert!(!aborts_on_failure(HookDriver::Lxc, "restore"));
    }

    #[test]
    fn daemon_only_aborts_on_start() {
        assert!(aborts_on_failure(HookDriver::Daemon, "start"));
        assert!(!aborts_on_failure(HookDriver::Daemon, "shutdown"));
        assert!(!aborts_on_failure(HookDriver::Daemon, "reload"));
    }

    #[test]
    fn network_port_deletion_and_stop_only_log() {
        assert!(aborts_on_failure(HookDriver::Network, "port-created"));
        assert!(aborts_on_failure(HookDriver::Network, "start"));
        assert!(!aborts_on_failure(HookDriver::Network, "port-deleted"));
        assert!(!aborts_on_failure(HookDriver::Network, "stopped"));
    }

    #[test]
    fn unknown_operations_never_abort() {
        for driver in HookDriver::ALL {
            assert!(!aborts_on_failure(driver, "no-such-op"));
            assert!(!driver.operations().contains(&"no-such-op"));
        }
    }

    #[test]
    fn only_migrate_and_restore_are_filters() {
        assert!(consumes_output(HookDriver::Qemu, "migrate"));
        assert!(consumes_output(HookDriver::Qemu, "restore"));
        assert!(consumes_output(HookDriver::Libxl, "migrate"));
        assert!(!consumes_output(HookDriver::Qemu, "prepare"));
        assert!(!consumes_output(HookDriver::Lxc, "start"));
        for driver in HookDriver::ALL {
            for op in driver.operations() {
                if consumes_output(driver, op) {
                    assert!(aborts_on_failure(driver, op), "{driver} {op}");
                }
            }
        }
    }
}
