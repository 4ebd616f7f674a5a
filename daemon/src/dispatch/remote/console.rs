//! `virsh console`: DOMAIN_OPEN_CONSOLE answers like any call, then the
//! console's bytes flow over the stream the call opened.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::codes;
use protocol::header::Header;
use protocol::remote::DomainOpenConsoleArgs;

use super::{dom_ref, reply_err, Action, Session};
use crate::dispatch::reply::{empty_reply, from_driver, rpc_error};

pub fn open(
    session: &mut Session,
    conn: &Arc<dyn Connection>,
    h: &Header,
    args: DomainOpenConsoleArgs,
) -> Action {
    if session.streams.is_open(h.serial) {
        return reply_err(
            h,
            rpc_error(codes::RPC, "a stream with this serial is already open"),
        );
    }
    let socket = match conn.open_console(&dom_ref(&args.dom), args.dev_name.as_deref(), args.flags)
    {
        Ok(socket) => socket,
        Err(e) => return reply_err(h, from_driver(e)),
    };
    let out = session.sender();
    match session.streams.open(h, socket, out) {
        Ok(()) => Action::Reply(empty_reply(h)),
        Err(e) => reply_err(
            h,
            rpc_error(
                codes::INTERNAL_ERROR,
                &format!("internal error: cannot relay the console: {e}"),
            ),
        ),
    }
}
