//! `virsh send-process-signal` for containers: as in libvirt 9.0, only the
//! container's init (PID 1 inside) can be signalled, by its PID on the host.

use super::definitions::check_flags;
use super::state::not_running;
use super::Inner;
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult};

/// `VIR_DOMAIN_PROCESS_SIGNAL_LAST`: signals 0 (no signal) to 64 (SIGRTMAX).
const PROCESS_SIGNAL_LAST: u32 = 65;

pub(super) fn send_process_signal(
    inner: &Inner,
    dom: &DomainRef,
    pid: i64,
    signum: u32,
    flags: u32,
) -> DriverResult<()> {
    check_flags(flags, 0, "lxcDomainSendProcessSignal")?;
    if signum >= PROCESS_SIGNAL_LAST {
        return Err(DriverError::new(
            codes::INVALID_ARG,
            domains::LXC,
            format!("signum value {signum} is out of range"),
        ));
    }
    // The table lock is held across kill(2): the container cannot be marked
    // stopped (and its PID reused by the host) in between.
    let st = inner.lock();
    let obj = st.get(dom)?;
    let Some(run) = obj.run.as_ref() else {
        return Err(not_running());
    };
    if pid != 1 {
        return Err(DriverError::new(
            codes::ARGUMENT_UNSUPPORTED,
            domains::LXC,
            "Only the init process may be killed",
        ));
    }
    if run.init_pid <= 0 {
        return Err(DriverError::new(
            codes::OPERATION_INVALID,
            domains::LXC,
            "Init pid is not yet available",
        ));
    }
    // libvirt's numbers are Linux's, so the number goes to kill(2) as it is.
    let signal = i32::try_from(signum).unwrap_or(i32::MAX);
    // SAFETY: kill(2) takes plain integers and touches no memory of ours. (The
    // signal types of nix and rustix do not name the real-time signals.)
    if unsafe { libc::kill(run.init_pid, signal) } < 0 {
        // The C library's text, as libvirt prints it.
        let err = nix::errno::Errno::last().desc();
        return Err(DriverError::new(
            codes::SYSTEM_ERROR,
            domains::LXC,
            format!(
                "Unable to send {signum} signal to process {}: {err}",
                run.init_pid
            ),
        ));
    }
    Ok(())
}
