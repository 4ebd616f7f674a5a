//! The REMOTE program: the authentication gate, decoding through the
//! procedure table's `Call`, the open-connection check, the read-only check
//! from the table, then the one match in [`route`].

mod agent;
mod auth;
mod blockjob;
mod checkpoint;
mod connect;
mod console;
mod cpu;
mod devices;
pub use connect::LIB_VERSION;
mod domain;
mod events;
mod extra_calls;
mod graphics;
mod identity;
mod interface;
mod lifecycle;
mod live_tuning;
mod metadata;
mod migration;
mod migration_p2p;
mod migration_peer_tls;
mod migration_tunnel;
mod network;
mod nodedev;
mod nodedev_events;
mod object_events;
pub mod qemu_program;
mod route;
mod save;
mod secret;
mod snapshot;
mod stats;
mod storage;
mod tuning;

use std::sync::Arc;

use drivers::api::{Connection, DomainHandle, DomainRef};
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::programs::remote_proc::{self as p, Call};
use protocol::remote::NonnullDomain;
use protocol::table::DecodeError;
use protocol::xdr::Xdr;

use super::access::{not_supported, read_only_error};
use super::reply::{error_reply, from_driver, respond, rpc_error, with_template};
use super::{Action, Job, Session};
use crate::context::Daemon;

pub fn handle(daemon: &Arc<Daemon>, session: &mut Session, h: &Header, body: &[u8]) -> Action {
    let proc_ = h.proc_;
    // The SASL steps are answered as by a libvirtd built without SASL.
    if matches!(
        proc_,
        p::AUTH_SASL_INIT | p::AUTH_SASL_START | p::AUTH_SASL_STEP
    ) {
        return auth::sasl_unavailable(session, h);
    }
    // The authentication steps are open to clients that have not
    // authenticated yet, as in libvirtd.
    if !session.authenticated && !matches!(proc_, p::AUTH_LIST | p::AUTH_POLKIT) {
        return reply_err(h, rpc_error(codes::RPC, "authentication required"));
    }
    let call = match Call::decode(proc_, body) {
        Ok(call) => call,
        Err(e) => return reply_err(h, decode_error(&e)),
    };
    match call {
        Call::AuthList(()) => connect::auth_list(daemon, session, h),
        Call::AuthPolkit(()) => auth::auth_polkit(session, h),
        Call::ConnectOpen(a) => match &daemon.proxy {
            Some(targets) => crate::proxy::open(daemon, targets, session, h, a),
            None => connect::open(daemon, session, h, a),
        },
        Call::ConnectSupportsFeature(a) if session.conn.is_none() => {
            connect::feature_before_open(session, h, a)
        }
        call => {
            let conn = match open_connection(session, h) {
                Ok(conn) => conn,
                Err(refused) => return refused,
            };
            if session.read_only {
                if let Err(refusal) = call.read_only_verdict() {
                    return reply_err(h, read_only_error(call.info(), refusal));
                }
            }
            // virtqemud, virtlxcd: the secondary drivers' calls go to their daemons.
            if let Some(action) =
                crate::proxy::secondary::relay_call(daemon, session, h, body, call.info().family)
            {
                return action;
            }
            route::route(daemon, session, conn, h, call)
        }
    }
}

/// The RPC error for a call whose bytes did not decode.
pub(super) fn decode_error(e: &DecodeError) -> RemoteError {
    match e {
        DecodeError::UnknownProcedure(n) => {
            rpc_error(codes::RPC, &format!("unknown procedure: {n}"))
        }
        DecodeError::Body(_) => rpc_error(codes::RPC, "Unable to decode message payload"),
    }
}

/// The driver connection every call after CONNECT_OPEN needs.
pub(super) fn open_connection(
    session: &Session,
    h: &Header,
) -> Result<Arc<dyn Connection>, Action> {
    session.conn.clone().ok_or_else(|| {
        reply_err(
            h,
            with_template(
                codes::INTERNAL_ERROR,
                domains::RPC,
                "internal error: hypervisor connection not open",
                "internal error: %s",
                "hypervisor connection not open",
            ),
        )
    })
}

/// A secondary driver's side of the session (network, secret, node device),
/// or libvirt's "not supported" naming the call's API when the session has none.
pub(super) fn secondary<C: ?Sized>(
    conn: &Option<Arc<C>>,
    h: &Header,
    domain: i32,
) -> Result<Arc<C>, Action> {
    conn.clone().ok_or_else(|| match p::info(h.proc_) {
        Some(info) => reply_err(h, not_supported(info)),
        None => reply_err(h, RemoteError::new(codes::NO_SUPPORT, domain, "")),
    })
}

pub(super) fn reply_err(h: &Header, err: RemoteError) -> Action {
    Action::Reply(error_reply(h, &err))
}

/// Runs `f` on this thread and encodes its reply.
pub(super) fn inline<R: Xdr>(h: &Header, f: impl FnOnce() -> Result<R, RemoteError>) -> Action {
    Action::Reply(respond(h, f()))
}

/// Runs `f` on a worker thread: for calls that may wait on the host (guest
/// start-up, probing binaries).
pub(super) fn job<R, F>(h: &Header, f: F) -> Action
where
    R: Xdr,
    F: FnOnce() -> Result<R, RemoteError> + Send + 'static,
{
    let header = *h;
    Action::Job(Job {
        header,
        run: Box::new(move || respond(&header, f())),
    })
}

/// Runs `f` on a worker thread with its own handle on the connection: the
/// shape of the calls that only forward their arguments to the driver.
pub(super) fn conn_job<R, F>(c: &Arc<dyn Connection>, h: &Header, f: F) -> Action
where
    R: Xdr,
    F: FnOnce(&dyn Connection) -> Result<R, RemoteError> + Send + 'static,
{
    let c = c.clone();
    job(h, move || f(c.as_ref()))
}

pub(super) fn wire_dom(d: DomainHandle) -> NonnullDomain {
    NonnullDomain {
        name: d.name,
        uuid: d.uuid,
        id: d.id,
    }
}

pub(super) fn dom_ref(d: &NonnullDomain) -> DomainRef {
    DomainRef {
        name: d.name.clone(),
        uuid: d.uuid,
    }
}

pub(super) fn drv<T>(r: drivers::api::DriverResult<T>) -> Result<T, RemoteError> {
    r.map_err(from_driver)
}
