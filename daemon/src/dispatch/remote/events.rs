//! Event (de)registration. The fan-out itself lives in [`crate::events`].

use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::*;

use super::{inline, Action, Session};
use crate::context::Daemon;
use crate::dispatch::reply::{rpc_internal, rpc_operation_failed, with_template};
use crate::events::{Style, DOMAIN_EVENT_ID_LAST, EVENT_ID_LIFECYCLE};

fn unsupported_event(event_id: i32) -> RemoteError {
    rpc_internal(&format!("unsupported event ID {event_id}"))
}

fn not_registered(event_id: i32) -> RemoteError {
    rpc_internal(&format!("domain event {event_id} not registered"))
}

fn too_many(e: crate::events::TooManyCallbacks) -> RemoteError {
    rpc_operation_failed(&e)
}

/// Who registers: the hub, the client, its driver scheme and its outgoing queue.
struct Registrant<'a> {
    hub: &'a crate::events::EventHub,
    client: u64,
    scheme: &'static str,
    sender: crate::server::client::OutgoingSender,
}

fn registrant<'a>(daemon: &'a Daemon, session: &mut Session) -> Registrant<'a> {
    Registrant {
        hub: &daemon.events,
        client: session.info.id,
        scheme: session.scheme,
        sender: session.sender(),
    }
}

pub fn callback_register_any(
    daemon: &Daemon,
    session: &mut Session,
    h: &Header,
    a: ConnectDomainEventCallbackRegisterAnyArgs,
) -> Action {
    let r = registrant(daemon, session);
    inline(h, || {
        if !(0..DOMAIN_EVENT_ID_LAST).contains(&a.event_id) {
            return Err(unsupported_event(a.event_id));
        }
        let dom = a.dom.map(|d| d.uuid);
        let callback_id = r
            .hub
            .register(
                r.client,
                r.scheme,
                a.event_id,
                dom,
                Style::Callback,
                r.sender,
            )
            .map_err(too_many)?;
        Ok(ConnectDomainEventCallbackRegisterAnyRet { callback_id })
    })
}

pub fn callback_deregister_any(
    daemon: &Daemon,
    session: &mut Session,
    h: &Header,
    a: ConnectDomainEventCallbackDeregisterAnyArgs,
) -> Action {
    let r = registrant(daemon, session);
    inline(h, || {
        if r.hub.deregister(r.client, a.callback_id) {
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

pub fn register_any(
    daemon: &Daemon,
    session: &mut Session,
    h: &Header,
    a: ConnectDomainEventRegisterAnyArgs,
) -> Action {
    let r = registrant(daemon, session);
    inline(h, || {
        if !(0..DOMAIN_EVENT_ID_LAST).contains(&a.event_id) {
            return Err(unsupported_event(a.event_id));
        }
        if r.hub.has_legacy(r.client, a.event_id) {
            let detail = format!("domain event {} already registered", a.event_id);
            return Err(rpc_internal(&detail));
        }
        r.hub
            .register(
                r.client,
                r.scheme,
                a.event_id,
                None,
                Style::Legacy,
                r.sender,
            )
            .map_err(too_many)?;
        Ok(())
    })
}

pub fn deregister_any(
    daemon: &Daemon,
    session: &mut Session,
    h: &Header,
    a: ConnectDomainEventDeregisterAnyArgs,
) -> Action {
    let r = registrant(daemon, session);
    inline(h, || {
        if r.hub.deregister_legacy(r.client, a.event_id) {
            Ok(())
        } else {
            Err(not_registered(a.event_id))
        }
    })
}

pub fn register(daemon: &Daemon, session: &mut Session, h: &Header) -> Action {
    let r = registrant(daemon, session);
    inline(h, || {
        if !r.hub.has_legacy(r.client, EVENT_ID_LIFECYCLE) {
            r.hub
                .register(
                    r.client,
                    r.scheme,
                    EVENT_ID_LIFECYCLE,
                    None,
                    Style::Legacy,
                    r.sender,
                )
                .map_err(too_many)?;
        }
        Ok(ConnectDomainEventRegisterRet { cb_registered: 1 })
    })
}

pub fn deregister(daemon: &Daemon, session: &mut Session, h: &Header) -> Action {
    let r = registrant(daemon, session);
    inline(h, || {
        if r.hub.deregister_legacy(r.client, EVENT_ID_LIFECYCLE) {
            Ok(ConnectDomainEventDeregisterRet { cb_registered: 0 })
        } else {
            Err(not_registered(EVENT_ID_LIFECYCLE))
        }
    })
}
