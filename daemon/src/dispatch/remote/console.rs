//! `virsh console` and guest channels: DOMAIN_OPEN_CONSOLE / DOMAIN_OPEN_CHANNEL
//! answer like any call, then the device's bytes flow over the stream the call opened.
//!
//! Opening a console asks the guest (QMP `query-chardev`, the pty, or the
//! container's supervisor), which a hung guest may never answer, so it runs
//! on a worker thread like any job; the relay then runs on the event loop.

use std::os::unix::net::UnixStream;
use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::codes;
use protocol::header::Header;
use protocol::remote::{
    DomainOpenChannelArgs, DomainOpenConsoleArgs, DomainScreenshotArgs, DomainScreenshotRet,
    DomainSendKeyArgs,
};

use super::{dom_ref, reply_err, Action, Job, Session};
use crate::dispatch::reply::{empty_reply, error_reply, from_driver, ok_reply, rpc_error};
use crate::server::client::Outgoing;

pub fn open(
    session: &mut Session,
    conn: &Arc<dyn Connection>,
    h: &Header,
    args: DomainOpenConsoleArgs,
) -> Action {
    let conn = Arc::clone(conn);
    open_device_stream(session, h, "console", move || {
        conn.open_console(&dom_ref(&args.dom), args.dev_name.as_deref(), args.flags)
    })
}

/// `virDomainOpenChannel`: the same for a guest channel.
pub fn open_channel(
    session: &mut Session,
    conn: &Arc<dyn Connection>,
    h: &Header,
    args: DomainOpenChannelArgs,
) -> Action {
    let conn = Arc::clone(conn);
    open_device_stream(session, h, "channel", move || {
        conn.open_channel(&dom_ref(&args.dom), args.name.as_deref(), args.flags)
    })
}

/// Opens a character device's socket on a worker thread and relays it over the
/// stream the call `h` opened; `what` names the device in errors.
fn open_device_stream(
    session: &mut Session,
    h: &Header,
    what: &'static str,
    open_socket: impl FnOnce() -> drivers::api::DriverResult<UnixStream> + Send + 'static,
) -> Action {
    if session.streams.is_open(h.serial) {
        return reply_err(
            h,
            rpc_error(codes::RPC, "a stream with this serial is already open"),
        );
    }
    let pending = session.streams.reserve(h.serial);
    let out = session.sender();
    let runtime = tokio::runtime::Handle::current();
    let header = *h;
    let run = move || {
        let opened = open_socket().map_err(from_driver).and_then(|socket| {
            pending.attach(socket, &runtime).map_err(|e| {
                rpc_error(
                    codes::INTERNAL_ERROR,
                    &format!("internal error: cannot relay the {what}: {e}"),
                )
            })
        });
        match opened {
            Ok(stream) => {
                // The reply goes out before the relay's first bytes (same
                // queue); the job's own reply is then empty.
                let _ = out.send(Outgoing::Message(empty_reply(&header)));
                stream.relay(&header, out);
                Vec::new()
            }
            Err(e) => error_reply(&header, &e),
        }
    };
    Action::Job(Job {
        header,
        run: Box::new(run),
    })
}

/// `virsh screenshot`: the reply names the image type, then the image's bytes flow
/// over the stream the call opened, ending with an empty message.
pub fn screenshot(
    session: &mut Session,
    conn: &Arc<dyn Connection>,
    h: &Header,
    args: DomainScreenshotArgs,
) -> Action {
    if session.streams.is_open(h.serial) {
        return reply_err(
            h,
            rpc_error(codes::RPC, "a stream with this serial is already open"),
        );
    }
    let pending = session.streams.reserve(h.serial);
    let out = session.sender();
    let runtime = tokio::runtime::Handle::current();
    let conn = Arc::clone(conn);
    let header = *h;
    let run = move || {
        let taken = conn
            .screenshot(&dom_ref(&args.dom), args.screen, args.flags)
            .map_err(from_driver)
            .and_then(|(mime, socket)| {
                pending
                    .attach(socket, &runtime)
                    .map(|stream| (mime, stream))
                    .map_err(|e| {
                        rpc_error(
                            codes::INTERNAL_ERROR,
                            &format!("internal error: cannot stream the screenshot: {e}"),
                        )
                    })
            });
        match taken {
            Ok((mime, stream)) => {
                let ret = DomainScreenshotRet { mime: Some(mime) };
                let _ = out.send(Outgoing::Message(ok_reply(&header, &ret)));
                stream.relay(&header, out);
                Vec::new()
            }
            Err(e) => error_reply(&header, &e),
        }
    };
    Action::Job(Job {
        header,
        run: Box::new(run),
    })
}

pub fn send_key(conn: &Arc<dyn Connection>, h: &Header, a: DomainSendKeyArgs) -> Action {
    let conn = Arc::clone(conn);
    super::job(h, move || {
        super::drv(conn.send_key(
            &dom_ref(&a.dom),
            a.codeset,
            a.holdtime,
            &a.keycodes,
            a.flags,
        ))
    })
}
