//! Hook scripts as libvirt runs them: `<sysconfdir>/libvirt/hooks/{daemon,
//! qemu,lxc,network,libxl}` and every executable in `<driver>.d/`, so that
//! scripts written for libvirt run unchanged.
//!
//! This crate knows nothing of drivers: XML is an opaque string here, and the
//! caller says which operation is running. Callers go through [`Hooks`] (or
//! the [`HookRunner`] trait) and ask [`aborts_on_failure`] what a failure
//! means for them.
//!
//! # Invocation
//!
//! * argv: `<script> object operation sub-operation extra`, `-` for an empty
//!   one. The daemon script gets `- start - start`, `- shutdown - shutdown`
//!   and `- reload begin SIGHUP`.
//! * stdin: the XML the caller passes (domain XML for qemu/lxc/libxl,
//!   `<hookData><network>..</network>[<networkport>..</networkport>]</hookData>`
//!   for network); `/dev/null` without input.
//! * environment: `LC_ALL=C`, then `LD_PRELOAD`, `LD_LIBRARY_PATH`, `PATH`,
//!   `HOME`, `USER`, `LOGNAME`, `TMPDIR` copied from the daemon when set
//!   (`PATH` gets a standard value when the daemon has none); nothing else.
//! * its own process group, working directory `/`, and no descriptor of the
//!   daemon besides the three pipes.
//! * order: the main script, then `<driver>.d/` entries sorted by name; a
//!   failing script does not stop the later ones.
//!
//! # Failure semantics
//!
//! Exit status 0 is success and is not logged. Anything else is logged at
//! error level with libvirt's text (see [`HookError`]) and returned; what it
//! does to the operation is decided by [`aborts_on_failure`]:
//!
//! | script  | operation                                   | on failure                      |
//! |---------|---------------------------------------------|---------------------------------|
//! | daemon  | start                                       | daemon does not start (exit 8)  |
//! | daemon  | shutdown, reload                            | logged only                     |
//! | qemu    | prepare, start, started                     | guest start aborted             |
//! | qemu    | migrate, restore (filters)                  | incoming migration/restore aborted |
//! | qemu    | reconnect, attach                           | guest process killed / not attached |
//! | qemu    | stopped, release                            | logged only                     |
//! | lxc     | prepare, start, started, reconnect          | aborted, as for qemu            |
//! | lxc     | stopped, release                            | logged only                     |
//! | libxl   | prepare, start, started, migrate, reconnect | aborted, as for qemu            |
//! | libxl   | stopped, release                            | logged only                     |
//! | network | start, started, port-created, updated       | operation fails                 |
//! | network | stopped, port-deleted                       | logged only                     |
//!
//! libvirt 9.0 only logs a failing daemon start script; stopping start-up
//! is a deliberate difference (an admin's start script that fails means the
//! host is not set up as expected).
//!
//! # Filters
//!
//! For the operations whose output libvirt reads ([`consumes_output`]), the
//! script's stdout replaces the XML; empty (or blank) output leaves it
//! unchanged, and each script's output is the next one's input. Checking the
//! new XML is the caller's job: invalid output must abort the operation.
//!
//! # Beyond libvirt
//!
//! * A timeout ([`Hooks::set_timeout`]): past it the script's whole process
//!   group is killed and the call fails with a message saying so. libvirt
//!   waits forever.
//! * A script is done when its process exits; a background child it leaves
//!   behind holding stdout does not hold up the operation.
//! * [`Hooks::rescan`] (SIGHUP) picks up scripts added after start.

mod driver;
mod error;
mod invocation;
mod locate;
mod process;
mod runner;

pub use driver::{aborts_on_failure, consumes_output, HookDriver};
pub use error::{HookError, HookFailure};
pub use runner::{HookRunner, Hooks};
