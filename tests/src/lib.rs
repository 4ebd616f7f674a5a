//! Harness for the end-to-end tests: it starts the real `libvirtd` binary of
//! this workspace under `LIBVIRTD_ROOT` in a temporary directory and drives
//! it with the real `virsh`, `virt-admin` and `python3-libvirt`, or with a
//! raw protocol client for the cases real clients never produce.
//!
//! Every daemon gets its own directory and TCP port, so tests run in
//! parallel. Waits are always "poll a condition until a deadline", never a
//! bare sleep.

pub mod compare;
pub mod daemon;
pub mod events;
pub mod polkit;
pub mod raw;
pub mod tools;

pub use compare::{
    assert_same_output, assert_virsh_matches_reference, map_output, normalize_cpu_time,
    normalize_uri,
};
pub use daemon::{libvirtd_bin, Daemon, DaemonBuilder};
pub use events::EventListener;
pub use raw::{RawClient, Reply};
pub use tools::{
    python, reference_uri, run_with_deadline, virsh, virsh_args, virsh_command, virt_admin,
    CmdOutput,
};

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Polls `condition` every few milliseconds until it returns true or
/// `timeout` passes. Returns whether the condition became true.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// A file in `tests/data/`.
pub fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}
