//! Display clients the daemon connects: DOMAIN_OPEN_GRAPHICS takes the
//! client's socket (CALL_WITH_FDS) and hands it to the display server;
//! DOMAIN_OPEN_GRAPHICS_FD answers with a socket already connected to it
//! (REPLY_WITH_FDS).

use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::codes;
use protocol::header::Header;
use protocol::remote::{DomainOpenGraphicsArgs, DomainOpenGraphicsFdArgs};

use super::{dom_ref, reply_err, Action, Job, Session};
use crate::dispatch::reply::{empty_reply, error_reply, fds_reply, from_driver, rpc_error};
use crate::server::client::Outgoing;

pub fn open_graphics(
    session: &mut Session,
    conn: &Arc<dyn Connection>,
    h: &Header,
    args: DomainOpenGraphicsArgs,
) -> Action {
    // The call's first descriptor; any others are closed with the call.
    if session.fds.is_empty() {
        return reply_err(
            h,
            rpc_error(
                codes::INTERNAL_ERROR,
                "internal error: No FD available at slot 0",
            ),
        );
    }
    let fd = session.fds.remove(0);
    let conn = Arc::clone(conn);
    let header = *h;
    Action::Job(Job {
        header,
        run: Box::new(move || {
            match conn.open_graphics(&dom_ref(&args.dom), args.idx, fd, args.flags) {
                Ok(()) => empty_reply(&header),
                Err(e) => error_reply(&header, &from_driver(e)),
            }
        }),
    })
}

pub fn open_graphics_fd(
    session: &mut Session,
    conn: &Arc<dyn Connection>,
    h: &Header,
    args: DomainOpenGraphicsFdArgs,
) -> Action {
    let out = session.sender();
    let conn = Arc::clone(conn);
    let header = *h;
    Action::Job(Job {
        header,
        run: Box::new(move || {
            match conn.open_graphics_fd(&dom_ref(&args.dom), args.idx, args.flags) {
                Ok(fd) => {
                    // Sent from here, with its descriptor; the job's own
                    // reply is then empty.
                    let bytes = fds_reply(&header, &(), 1);
                    let _ = out.send(Outgoing::MessageWithFds(bytes, vec![fd]));
                    Vec::new()
                }
                Err(e) => error_reply(&header, &from_driver(e)),
            }
        }),
    })
}
