//! The ADMIN program on the admin socket: opening, closing, versions and the
//! server list. The rest of virt-admin's procedures come with the admin interface.

use std::sync::Arc;

use protocol::admin::*;
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::programs::admin_proc as p;
use protocol::xdr::{self, Xdr};

use super::reply::{empty_reply, error_reply, respond, rpc_error, with_template};
use super::{Action, Session};
use crate::context::Daemon;
use crate::dispatch::remote_lib_version;

pub fn handle(daemon: &Arc<Daemon>, session: &mut Session, h: &Header, body: &[u8]) -> Action {
    if h.proc_ <= 0 || h.proc_ > p::MAX {
        return reply(
            h,
            rpc_error(codes::RPC, &format!("unknown procedure: {}", h.proc_)),
        );
    }
    if h.proc_ == p::CONNECT_OPEN {
        return decode(h, body, |_: ConnectOpenArgs| {
            if session.admin_open {
                return Err(with_template(
                    codes::INTERNAL_ERROR,
                    domains::RPC,
                    "internal error: connection already open",
                    "internal error: %s",
                    "connection already open",
                ));
            }
            session.admin_open = true;
            Ok(())
        });
    }
    if !session.admin_open {
        return reply(
            h,
            with_template(
                codes::INTERNAL_ERROR,
                domains::RPC,
                "internal error: connection not open",
                "internal error: %s",
                "connection not open",
            ),
        );
    }
    match h.proc_ {
        p::CONNECT_CLOSE => {
            session.closing = true;
            Action::Reply(empty_reply(h))
        }
        p::CONNECT_GET_LIB_VERSION => decode(h, body, |(): ()| {
            Ok(ConnectGetLibVersionRet {
                lib_ver: remote_lib_version(),
            })
        }),
        p::CONNECT_LIST_SERVERS => decode(h, body, |a: ConnectListServersArgs| {
            let names: Vec<AdminServerRef> = daemon
                .servers()
                .iter()
                .map(|s| AdminServerRef { name: s.name.to_string() })
                .collect();
            let ret = names.len() as u32;
            let servers = if a.need_results != 0 { names } else { Vec::new() };
            Ok(ConnectListServersRet { servers, ret })
        }),
        p::CONNECT_LOOKUP_SERVER => decode(h, body, |a: ConnectLookupServerArgs| {
            match daemon.server(&a.name) {
                Some(s) => Ok(ConnectLookupServerRet {
                    srv: AdminServerRef { name: s.name.to_string() },
                }),
                None => Err(with_template(
                    codes::NO_SERVER,
                    domains::RPC,
                    &format!("Server not found: No server named '{}'", a.name),
                    "Server not found: %s",
                    &format!("No server named '{}'", a.name),
                )),
            }
        }),
        other => reply(
            h,
            RemoteError::new(
                codes::NO_SUPPORT,
                domains::ADMIN,
                format!("this function is not supported by the connection driver: admin procedure {other}"),
            ),
        ),
    }
}

fn reply(h: &Header, err: RemoteError) -> Action {
    Action::Reply(error_reply(h, &err))
}

fn decode<A: Xdr, R: Xdr>(
    h: &Header,
    body: &[u8],
    f: impl FnOnce(A) -> Result<R, RemoteError>,
) -> Action {
    match xdr::from_bytes::<A>(body) {
        Ok(args) => Action::Reply(respond(h, f(args))),
        Err(_) => reply(h, rpc_error(codes::RPC, "Unable to decode message payload")),
    }
}
