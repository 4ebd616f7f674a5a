//! The ADMIN program on the admin socket (`virt-admin`): servers and their
//! worker pools, client limits and clients, logging, the idle timeout,
//! TLS reload and shutdown.
//!
//! As in libvirtd, only a peer running as the daemon's own user is served
//! (others are disconnected before any reply), every call runs as one busy
//! worker of the admin server, and no call needs CONNECT_OPEN first: libvirtd
//! keeps no "open" state for admin connections.

mod clients;
mod daemon_ctl;
mod errors;
mod params;
mod servers;

use std::sync::Arc;

use protocol::admin::*;
use protocol::error::{codes, RemoteError};
use protocol::header::Header;
use protocol::programs::admin_proc as p;
use protocol::xdr::{self, Xdr};
use tracing::warn;

use super::reply::{empty_reply, error_reply, respond, rpc_error};
use super::{Action, Session};
use crate::context::Daemon;
use crate::dispatch::remote_lib_version;
use crate::server::registry::ClientInfo;

pub use daemon_ctl::{
    ConnectDaemonShutdownArgs, CONNECT_DAEMON_SHUTDOWN, DAEMON_SHUTDOWN_PRESERVE,
};

/// The highest admin procedure served (libvirt 9.0 has 19; 20 is the
/// shutdown procedure of later versions).
const LAST_PROCEDURE: i32 = CONNECT_DAEMON_SHUTDOWN;

pub fn handle(daemon: &Arc<Daemon>, session: &mut Session, h: &Header, body: &[u8]) -> Action {
    // SAFETY: geteuid has no preconditions.
    let own_uid = unsafe { libc::geteuid() };
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
    if h.proc_ <= 0 || h.proc_ > LAST_PROCEDURE {
        return reply_err(
            h,
            rpc_error(codes::RPC, &format!("unknown procedure: {}", h.proc_)),
        );
    }
    let _worker = daemon.admin.workers.run_inline();
    route(daemon, session, h, body)
}

/// Admin clients must run as the daemon's user: the socket permissions are
/// the first gate, this is the second (libvirtd's rule).
pub fn peer_allowed(info: &ClientInfo, own_uid: u32) -> bool {
    info.peer_uid == Some(own_uid)
}

fn route(daemon: &Daemon, session: &mut Session, h: &Header, body: &[u8]) -> Action {
    match h.proc_ {
        p::CONNECT_OPEN => decode(h, body, |a: ConnectOpenArgs| {
            errors::check_flags(a.flags, 0, "adminDispatchConnectOpen")?;
            session.admin_open = true;
            Ok(())
        }),
        p::CONNECT_CLOSE => {
            session.closing = true;
            Action::Reply(empty_reply(h))
        }
        p::CONNECT_GET_LIB_VERSION => decode(h, body, |(): ()| {
            Ok(ConnectGetLibVersionRet {
                lib_ver: remote_lib_version(),
            })
        }),
        p::CONNECT_LIST_SERVERS => decode(h, body, |a| servers::list(daemon, a)),
        p::CONNECT_LOOKUP_SERVER => decode(h, body, |a| servers::lookup(daemon, a)),
        p::SERVER_GET_THREADPOOL_PARAMETERS => {
            decode(h, body, |a| servers::threadpool_info(daemon, a))
        }
        p::SERVER_SET_THREADPOOL_PARAMETERS => {
            decode(h, body, |a| servers::threadpool_set(daemon, a))
        }
        p::SERVER_LIST_CLIENTS => decode(h, body, |a| clients::list(daemon, a)),
        p::SERVER_LOOKUP_CLIENT => decode(h, body, |a| clients::lookup(daemon, a)),
        p::CLIENT_GET_INFO => decode(h, body, |a| clients::info(daemon, a)),
        p::CLIENT_CLOSE => decode(h, body, |a| clients::close(daemon, a)),
        p::SERVER_GET_CLIENT_LIMITS => decode(h, body, |a| servers::client_limits(daemon, a)),
        p::SERVER_SET_CLIENT_LIMITS => decode(h, body, |a| servers::client_limits_set(daemon, a)),
        p::CONNECT_GET_LOGGING_OUTPUTS => decode(h, body, |a| daemon_ctl::get_outputs(daemon, a)),
        p::CONNECT_GET_LOGGING_FILTERS => decode(h, body, |a| daemon_ctl::get_filters(daemon, a)),
        p::CONNECT_SET_LOGGING_OUTPUTS => decode(h, body, |a| daemon_ctl::set_outputs(daemon, a)),
        p::CONNECT_SET_LOGGING_FILTERS => decode(h, body, |a| daemon_ctl::set_filters(daemon, a)),
        p::SERVER_UPDATE_TLS_FILES => decode(h, body, |a| servers::update_tls(daemon, a)),
        p::CONNECT_SET_DAEMON_TIMEOUT => decode(h, body, |a| daemon_ctl::set_timeout(daemon, a)),
        CONNECT_DAEMON_SHUTDOWN => decode(h, body, |a| daemon_ctl::shutdown(daemon, a)),
        other => reply_err(
            h,
            rpc_error(codes::RPC, &format!("unknown procedure: {other}")),
        ),
    }
}

fn reply_err(h: &Header, err: RemoteError) -> Action {
    Action::Reply(error_reply(h, &err))
}

/// Decodes the arguments (the whole body, nothing left over), runs `f`,
/// encodes its value or error.
fn decode<A: Xdr, R: Xdr>(
    h: &Header,
    body: &[u8],
    f: impl FnOnce(A) -> Result<R, RemoteError>,
) -> Action {
    match xdr::from_bytes::<A>(body) {
        Ok(args) => Action::Reply(respond(h, f(args))),
        Err(_) => reply_err(h, rpc_error(codes::RPC, "Unable to decode message payload")),
    }
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
