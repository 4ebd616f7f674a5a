//! Daemon-wide procedures: logging filters and outputs, the idle timeout,
//! and shutdown.

use protocol::admin::*;
use protocol::error::{codes, domains, RemoteError};

use super::errors::{check_flags, internal, invalid_arg, plain};
use crate::context::{ControlRequest, Daemon};
use crate::logging::{LogError, LogHandle};

/// `VIR_DAEMON_SHUTDOWN_PRESERVE`: preserve the running guests' state first: the
/// host is going down (qemu.conf's `auto_shutdown_*`, see `host_shutdown`).
pub const DAEMON_SHUTDOWN_PRESERVE: u32 = 1;

fn log_handle(daemon: &Daemon) -> Result<&LogHandle, RemoteError> {
    daemon
        .log
        .as_ref()
        .ok_or_else(|| internal(domains::NONE, "logging is not set up in this daemon"))
}

/// A rejected logging setting, as libvirt's logging code reports it.
fn log_error(err: LogError) -> RemoteError {
    let code = err.libvirt_code();
    if code == codes::INVALID_ARG {
        invalid_arg(domains::NONE, &err.to_string())
    } else {
        plain(code, domains::NONE, &err.to_string())
    }
}

pub fn get_outputs(
    daemon: &Daemon,
    a: ConnectGetLoggingOutputsArgs,
) -> Result<ConnectGetLoggingOutputsRet, RemoteError> {
    check_flags(a.flags, 0, "adminConnectGetLoggingOutputs")?;
    let log = log_handle(daemon)?;
    Ok(ConnectGetLoggingOutputsRet {
        outputs: log.outputs_string(),
        noutputs: log.config().outputs.len() as u32,
    })
}

/// No filter is sent as an absent string and a count of 0.
pub fn get_filters(
    daemon: &Daemon,
    a: ConnectGetLoggingFiltersArgs,
) -> Result<ConnectGetLoggingFiltersRet, RemoteError> {
    check_flags(a.flags, 0, "adminConnectGetLoggingFilters")?;
    let log = log_handle(daemon)?;
    let nfilters = log.config().filters.len() as u32;
    let filters = (nfilters > 0).then(|| log.filters_string());
    Ok(ConnectGetLoggingFiltersRet { filters, nfilters })
}

/// An absent or empty text restores the default outputs.
pub fn set_outputs(daemon: &Daemon, a: ConnectSetLoggingOutputsArgs) -> Result<(), RemoteError> {
    check_flags(a.flags, 0, "adminConnectSetLoggingOutputs")?;
    let text = a.outputs.unwrap_or_default();
    log_handle(daemon)?.set_outputs(&text).map_err(log_error)?;
    tracing::info!(target: "daemon::admin", outputs = %text, "log outputs changed");
    Ok(())
}

/// An absent or empty text removes every filter.
pub fn set_filters(daemon: &Daemon, a: ConnectSetLoggingFiltersArgs) -> Result<(), RemoteError> {
    check_flags(a.flags, 0, "adminConnectSetLoggingFilters")?;
    let text = a.filters.unwrap_or_default();
    log_handle(daemon)?.set_filters(&text).map_err(log_error)?;
    tracing::info!(target: "daemon::admin", filters = %text, "log filters changed");
    Ok(())
}

fn send(daemon: &Daemon, request: ControlRequest) -> Result<(), RemoteError> {
    daemon
        .control
        .send(request)
        .map_err(|_| internal(domains::ADMIN, "the daemon is shutting down"))
}

/// `daemon-timeout N`: exit after N idle seconds from now on; 0 never.
pub fn set_timeout(daemon: &Daemon, a: ConnectSetDaemonTimeoutArgs) -> Result<(), RemoteError> {
    check_flags(a.flags, 0, "adminConnectSetDaemonTimeout")?;
    send(daemon, ControlRequest::SetIdleTimeout(a.timeout))?;
    tracing::info!(target: "daemon::admin", timeout = a.timeout, "idle timeout changed");
    Ok(())
}

/// `daemon-shutdown [--preserve]`: the reply is written before the daemon
/// closes its clients. Guests are never stopped by a daemon exit; with
/// `--preserve` drivers that can save state for a later start do so.
pub fn shutdown(daemon: &Daemon, a: ConnectDaemonShutdownArgs) -> Result<(), RemoteError> {
    check_flags(
        a.flags,
        DAEMON_SHUTDOWN_PRESERVE,
        "adminConnectDaemonShutdown",
    )?;
    let preserve = a.flags & DAEMON_SHUTDOWN_PRESERVE != 0;
    tracing::info!(target: "daemon::admin", preserve, "shutdown requested by the administrator");
    send(daemon, ControlRequest::Shutdown { preserve })
}
