//! The one owner of child processes.
//!
//! Every program the daemon starts (hook scripts, QEMU, the LXC supervisor, probes and
//! helpers such as `ip`) goes through a [`Spec`]: an explicit argv, a cleared environment
//! plus the variables named, no descriptor of the daemon except those passed on purpose
//! (at the numbers the child expects), its own process group or session when asked, and
//! optional identity, cgroup and resource limits. Whatever the daemon's parent left open
//! (a service manager's sockets, a test harness's files) therefore never reaches a guest
//! or a script.
//!
//! The resulting [`Child`] is watched through a pidfd: waits block on it or go through
//! tokio, signals go through it (never to a recycled pid), and a timeout kills the whole
//! process group. There is no global `waitpid(-1)`: each child is reaped by its own pid,
//! so other parts of the process keep their children. [`Child::attach`] watches a
//! process started by an earlier daemon instance.
//!
//! Linux only, 5.3 or later (pidfd_open); descriptor marking uses close_range (5.11)
//! when the kernel has it.

mod after_fork;
mod child;
mod spec;
mod wait_async;

pub use after_fork::mark_cloexec_from;
pub use child::{Child, Exit, Finished};
pub use spec::{Group, Output, Spec, Stdio};
