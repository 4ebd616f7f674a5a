//! The ADMIN program on the admin socket (`virt-admin`): servers and their
//! worker pools, client limits and clients, logging, the idle timeout,
//! TLS reload and shutdown.
//!
//! As in libvirtd, only a peer running as the daemon's own user is served
//! (others are disconnected before any reply), every call runs as one busy
//! worker of the admin server, and no call needs CONNECT_OPEN first: libvirtd
//! keeps no "open" state for admin connections. The calls that read files
//! (TLS reload, new log outputs) run on a worker of the admin server; the
//! rest only look at the daemon's memory and are answered at once.

mod clients;
mod daemon_ctl;
mod errors;
mod params;
mod servers;

use std::sync::Arc;

use protocol::admin::*;
use protocol::error::{codes, RemoteError};
use protocol::header::Header;
use protocol::programs::admin_proc::Call;
use protocol::table::DecodeError;
use protocol::xdr::Xdr;
use tracing::warn;

use super::reply::{empty_reply, error_reply, respond, rpc_error};
use super::{Action, Session};
use crate::context::Daemon;
use crate::dispatch::remote_lib_version;
use crate::server::registry::ClientInfo;

pub use daemon_ctl::DAEMON_SHUTDOWN_PRESERVE;

pub fn handle(daemon: &Arc<Daemon>, session: &mut Session, h: &Header, body: &[u8]) -> Action {
    let own_uid = nix::unistd::geteuid().as_raw();
    if !peer_allowed(&session.info, own_uid) {
        warn!(
            target: "daemon::admin",
            "Disallowing client {} with uid {}",
            session.info.peer_pid.map_or(-1, i64::from),
            session.info.peer_uid.map_or(-1, i64::from)
        );
        session.closing = true;
        return Action::Nothing;
    }
    let _worker = daemon.admin.workers.run_inline();
    match Call::decode(h.proc_, body) {
        Ok(call) => route(daemon, session, h, call),
        Err(DecodeError::UnknownProcedure(n)) => {
            reply_err(h, rpc_error(codes::RPC, &format!("unknown procedure: {n}")))
        }
        Err(DecodeError::Body(_)) => {
            reply_err(h, rpc_error(codes::RPC, "Unable to decode message payload"))
        }
    }
}

/// Admin clients must run as the daemon's user: the socket permissions are
/// the first gate, this is the second (libvirtd's rule).
pub fn peer_allowed(info: &ClientInfo, own_uid: u32) -> bool {
    info.peer_uid == Some(own_uid)
}

/// The one match over the ADMIN program's calls.
fn route(daemon: &Arc<Daemon>, session: &mut Session, h: &Header, call: Call) -> Action {
    match call {
        Call::ConnectOpen(a) => answer(h, {
            errors::check_flags(a.flags, 0, "adminDispatchConnectOpen").map(|()| {
                session.admin_open = true;
            })
        }),
        Call::ConnectClose(()) => {
            session.closing = true;
            Action::Reply(empty_reply(h))
        }
        Call::ConnectGetLibVersion(()) => answer(
            h,
            Ok(ConnectGetLibVersionRet {
                lib_ver: remote_lib_version(),
            }),
        ),
        Call::ConnectListServers(a) => answer(h, servers::list(daemon, a)),
        Call::ConnectLookupServer(a) => answer(h, servers::lookup(daemon, a)),
        Call::ServerGetThreadpoolParameters(a) => answer(h, servers::threadpool_info(daemon, a)),
        Call::ServerSetThreadpoolParameters(a) => answer(h, servers::threadpool_set(daemon, a)),
        Call::ServerListClients(a) => answer(h, clients::list(daemon, a)),
        Call::ServerLookupClient(a) => answer(h, clients::lookup(daemon, a)),
        Call::ClientGetInfo(a) => answer(h, clients::info(daemon, a)),
        Call::ClientClose(a) => answer(h, clients::close(daemon, a)),
        Call::ServerGetClientLimits(a) => answer(h, servers::client_limits(daemon, a)),
        Call::ServerSetClientLimits(a) => answer(h, servers::client_limits_set(daemon, a)),
        Call::ConnectGetLoggingOutputs(a) => answer(h, daemon_ctl::get_outputs(daemon, a)),
        Call::ConnectGetLoggingFilters(a) => answer(h, daemon_ctl::get_filters(daemon, a)),
        Call::ConnectSetLoggingOutputs(a) => job(daemon, h, move |d| daemon_ctl::set_outputs(d, a)),
        Call::ConnectSetLoggingFilters(a) => answer(h, daemon_ctl::set_filters(daemon, a)),
        Call::ServerUpdateTlsFiles(a) => job(daemon, h, move |d| servers::update_tls(d, a)),
        Call::ConnectSetDaemonTimeout(a) => answer(h, daemon_ctl::set_timeout(daemon, a)),
        Call::ConnectDaemonShutdown(a) => answer(h, daemon_ctl::shutdown(daemon, a)),
        Call::Unserved(u) => reply_err(
            h,
            rpc_error(codes::RPC, &format!("unknown procedure: {}", u.info.number)),
        ),
    }
}

fn reply_err(h: &Header, err: RemoteError) -> Action {
    Action::Reply(error_reply(h, &err))
}

/// Runs a handler that opens or reads files on a worker thread.
fn job<R, F>(daemon: &Arc<Daemon>, h: &Header, f: F) -> Action
where
    R: Xdr,
    F: FnOnce(&Daemon) -> Result<R, RemoteError> + Send + 'static,
{
    let daemon = Arc::clone(daemon);
    let header = *h;
    Action::Job(super::Job {
        header,
        run: Box::new(move || respond(&header, f(&daemon))),
    })
}

/// Encodes a handler's value or error.
fn answer<R: Xdr>(h: &Header, result: Result<R, RemoteError>) -> Action {
    Action::Reply(respond(h, result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Transport;

    #[test]
    fn only_the_daemons_own_user_is_served() {
        let mut info = ClientInfo {
            id: 1,
            connected_at: 0,
            transport: Transport::Unix,
            read_only: false,
            peer_uid: Some(1000),
            peer_gid: Some(1000),
            peer_pid: Some(42),
            peer_addr: None,
        };
        assert!(peer_allowed(&info, 1000));
        assert!(!peer_allowed(&info, 0));
        info.peer_uid = None;
        assert!(!peer_allowed(&info, 0));
    }
}
