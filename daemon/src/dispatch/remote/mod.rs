//! The REMOTE program: the authentication gate, the open-connection check,
//! the read-only check, then one handler per procedure.

mod auth;
mod connect;
mod console;
pub use connect::LIB_VERSION;
mod domain;
mod events;
mod lifecycle;
pub mod qemu_program;
mod save;
mod tuning;

use std::sync::Arc;

use drivers::api::{Connection, DomainHandle, DomainRef};
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::programs::remote_proc as p;
use protocol::remote::NonnullDomain;
use protocol::xdr::{self, Xdr};

use super::reply::{error_reply, from_driver, respond, rpc_error, with_template};
use super::{names, readonly, Action, Job, Session};
use crate::context::Daemon;

pub fn handle(daemon: &Arc<Daemon>, session: &mut Session, h: &Header, body: &[u8]) -> Action {
    let proc_ = h.proc_;
    if proc_ == p::AUTH_LIST {
        return connect::auth_list(daemon, session, h);
    }
    // The authentication steps themselves are open to clients that have
    // not authenticated yet, as in libvirtd.
    if proc_ == p::AUTH_POLKIT {
        return auth::auth_polkit(session, h);
    }
    if proc_ == p::AUTH_SASL_INIT || proc_ == p::AUTH_SASL_START || proc_ == p::AUTH_SASL_STEP {
        return auth::sasl_unavailable(session, h);
    }
    if !session.authenticated {
        return reply_err(h, rpc_error(codes::RPC, "authentication required"));
    }
    if proc_ <= 0 || proc_ > p::MAX {
        return reply_err(
            h,
            rpc_error(codes::RPC, &format!("unknown procedure: {proc_}")),
        );
    }
    if proc_ == p::CONNECT_OPEN {
        return connect::open(daemon, session, h, body);
    }
    if proc_ == p::CONNECT_SUPPORTS_FEATURE && session.conn.is_none() {
        return connect::feature_before_open(session, h, body);
    }
    let Some(conn) = session.conn.clone() else {
        return reply_err(
            h,
            with_template(
                codes::INTERNAL_ERROR,
                protocol::error::domains::RPC,
                "internal error: hypervisor connection not open",
                "internal error: %s",
                "hypervisor connection not open",
            ),
        );
    };
    if session.read_only && !readonly::allowed(proc_) {
        return reply_err(h, read_only_error(proc_));
    }
    route(daemon, session, conn, h, body)
}

fn route(
    daemon: &Arc<Daemon>,
    session: &mut Session,
    conn: Arc<dyn Connection>,
    h: &Header,
    body: &[u8],
) -> Action {
    match h.proc_ {
        p::CONNECT_CLOSE => connect::close(session, h),
        p::CONNECT_SUPPORTS_FEATURE => connect::supports_feature(session, &conn, h, body),
        p::CONNECT_REGISTER_CLOSE_CALLBACK | p::CONNECT_UNREGISTER_CLOSE_CALLBACK => {
            Action::Reply(super::reply::empty_reply(h))
        }
        p::DOMAIN_OPEN_CONSOLE => console::open(session, &conn, h, body),
        proc_ if connect::serves(proc_) => connect::handle(&conn, h, body),
        proc_ if events::serves(proc_) => events::handle(daemon, session, &conn, h, body),
        proc_ if lifecycle::serves(proc_) => lifecycle::handle(&conn, h, body),
        proc_ if domain::serves(proc_) => domain::handle(session, &conn, h, body),
        proc_ if save::serves(proc_) => save::handle(&conn, h, body),
        proc_ if tuning::serves(proc_) => tuning::handle(&conn, h, body),
        proc_ => reply_err(
            h,
            RemoteError::new(
                codes::NO_SUPPORT,
                domains::NONE,
                format!(
                    "this function is not supported by the connection driver: {}",
                    names::remote_api(proc_)
                ),
            ),
        ),
    }
}

fn read_only_error(proc_: i32) -> RemoteError {
    let api = names::remote_api(proc_);
    with_template(
        codes::OPERATION_DENIED,
        names::api_error_domain(proc_),
        &format!("operation forbidden: read only access prevents {api}"),
        "operation forbidden: %s",
        &format!("read only access prevents {api}"),
    )
}

pub(super) fn reply_err(h: &Header, err: RemoteError) -> Action {
    Action::Reply(error_reply(h, &err))
}

fn decode_failed(h: &Header) -> Action {
    reply_err(h, rpc_error(codes::RPC, "Unable to decode message payload"))
}

/// Decodes the arguments, runs `f` on this thread, encodes the reply.
pub(super) fn inline<A: Xdr, R: Xdr>(
    h: &Header,
    body: &[u8],
    f: impl FnOnce(A) -> Result<R, RemoteError>,
) -> Action {
    match xdr::from_bytes::<A>(body) {
        Ok(args) => Action::Reply(respond(h, f(args))),
        Err(_) => decode_failed(h),
    }
}

/// Decodes the arguments here and runs `f` on a worker thread: for calls that
/// may wait on the host (guest start-up, probing binaries).
pub(super) fn job<A, R, F>(h: &Header, body: &[u8], f: F) -> Action
where
    A: Xdr + Send + 'static,
    R: Xdr,
    F: FnOnce(A) -> Result<R, RemoteError> + Send + 'static,
{
    match xdr::from_bytes::<A>(body) {
        Ok(args) => {
            let header = *h;
            Action::Job(Job {
                header,
                run: Box::new(move || respond(&header, f(args))),
            })
        }
        Err(_) => decode_failed(h),
    }
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
