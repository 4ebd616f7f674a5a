//! Event (de)registration. The fan-out itself lives in [`crate::events`].

use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::programs::remote_proc as p;
use protocol::remote::*;

use super::{inline, reply_err, Action, Session};
use crate::context::Daemon;
use crate::dispatch::reply::with_template;
use crate::events::{Style, DOMAIN_EVENT_ID_LAST, EVENT_ID_LIFECYCLE};

const SERVED: &[i32] = &[
    p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
    p::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
    p::CONNECT_DOMAIN_EVENT_REGISTER_ANY,
    p::CONNECT_DOMAIN_EVENT_DEREGISTER_ANY,
    p::CONNECT_DOMAIN_EVENT_REGISTER,
    p::CONNECT_DOMAIN_EVENT_DEREGISTER,
];

pub fn serves(proc_: i32) -> bool {
    SERVED.contains(&proc_)
}

fn unsupported_event(event_id: i32) -> RemoteError {
    with_template(
        codes::INTERNAL_ERROR,
        domains::RPC,
        &format!("internal error: unsupported event ID {event_id}"),
        "internal error: %s",
        &format!("unsupported event ID {event_id}"),
    )
}

fn not_registered(event_id: i32) -> RemoteError {
    with_template(
        codes::INTERNAL_ERROR,
        domains::RPC,
        &format!("internal error: domain event {event_id} not registered"),
        "internal error: %s",
        &format!("domain event {event_id} not registered"),
    )
}

pub fn handle(
    daemon: &Arc<Daemon>,
    session: &mut Session,
    _conn: &Arc<dyn Connection>,
    h: &Header,
    body: &[u8],
) -> Action {
    let hub = &daemon.events;
    let client = session.info.id;
    let scheme = session.scheme;
    let sender = session.sender();
    match h.proc_ {
        p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY => {
            inline(h, body, |a: ConnectDomainEventCallbackRegisterAnyArgs| {
                if !(0..DOMAIN_EVENT_ID_LAST).contains(&a.event_id) {
                    return Err(unsupported_event(a.event_id));
                }
                let dom = a.dom.map(|d| d.uuid);
                let callback_id =
                    hub.register(client, scheme, a.event_id, dom, Style::Callback, sender);
                Ok(ConnectDomainEventCallbackRegisterAnyRet { callback_id })
            })
        }
        p::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY => {
            inline(h, body, |a: ConnectDomainEventCallbackDeregisterAnyArgs| {
                if hub.deregister(client, a.callback_id) {
                    Ok(())
                } else {
                    Err(with_template(
                        codes::INTERNAL_ERROR,
                        domains::RPC,
                        &format!(
                            "internal error: no domain event callback {} registered",
                            a.callback_id
                        ),
                        "internal error: %s",
                        &format!("no domain event callback {} registered", a.callback_id),
                    ))
                }
            })
        }
        p::CONNECT_DOMAIN_EVENT_REGISTER_ANY => {
            inline(h, body, |a: ConnectDomainEventRegisterAnyArgs| {
                if !(0..DOMAIN_EVENT_ID_LAST).contains(&a.event_id) {
                    return Err(unsupported_event(a.event_id));
                }
                if hub.has_legacy(client, a.event_id) {
                    return Err(with_template(
                        codes::INTERNAL_ERROR,
                        domains::RPC,
                        &format!(
                            "internal error: domain event {} already registered",
                            a.event_id
                        ),
                        "internal error: %s",
                        &format!("domain event {} already registered", a.event_id),
                    ));
                }
                hub.register(client, scheme, a.event_id, None, Style::Legacy, sender);
                Ok(())
            })
        }
        p::CONNECT_DOMAIN_EVENT_DEREGISTER_ANY => {
            inline(h, body, |a: ConnectDomainEventDeregisterAnyArgs| {
                if hub.deregister_legacy(client, a.event_id) {
                    Ok(())
                } else {
                    Err(not_registered(a.event_id))
                }
            })
        }
        p::CONNECT_DOMAIN_EVENT_REGISTER => inline(h, body, |(): ()| {
            if !hub.has_legacy(client, EVENT_ID_LIFECYCLE) {
                hub.register(
                    client,
                    scheme,
                    EVENT_ID_LIFECYCLE,
                    None,
                    Style::Legacy,
                    sender,
                );
            }
            Ok(ConnectDomainEventRegisterRet { cb_registered: 1 })
        }),
        p::CONNECT_DOMAIN_EVENT_DEREGISTER => inline(h, body, |(): ()| {
            if hub.deregister_legacy(client, EVENT_ID_LIFECYCLE) {
                Ok(ConnectDomainEventDeregisterRet { cb_registered: 0 })
            } else {
                Err(not_registered(EVENT_ID_LIFECYCLE))
            }
        }),
        other => reply_err(
            h,
            RemoteError::new(
                codes::INTERNAL_ERROR,
                domains::RPC,
                format!("unrouted procedure {other}"),
            ),
        ),
    }
}
