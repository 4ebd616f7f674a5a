//! Secret procedures, served by the session's secondary secret connection.

use std::sync::Arc;

use drivers::api::{SecretConnection, SecretHandle};
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::limits::{SECRET_LIST_MAX, SECRET_UUID_LIST_MAX};
use protocol::remote::*;
use protocol::xdr::Xdr;

use super::object_events::{checked_deregister, checked_register};
use super::{drv, inline, Action, Session};
use crate::context::Daemon;
use crate::dispatch::reply::with_template;
use crate::secret_events::SECRET_EVENT_ID_LAST;

fn handle(s: &NonnullSecret) -> SecretHandle {
    SecretHandle {
        uuid: s.uuid,
        usage_type: s.usage_type,
        usage_id: s.usage_id.clone(),
    }
}

fn wire(s: SecretHandle) -> NonnullSecret {
    NonnullSecret {
        uuid: s.uuid,
        usage_type: s.usage_type,
        usage_id: s.usage_id,
    }
}

/// The session's secret connection, or libvirt's "not supported" naming the call's API.
fn secrets(session: &Session, h: &Header) -> Result<Arc<dyn SecretConnection>, Action> {
    super::secondary(&session.secret, h, domains::SECRET)
}

/// Runs `f` on this thread with the secret connection (every call is a
/// memory lookup or a small file write).
fn quick<R: Xdr>(
    session: &Session,
    h: &Header,
    f: impl FnOnce(&Arc<dyn SecretConnection>) -> Result<R, RemoteError>,
) -> Action {
    match secrets(session, h) {
        Ok(c) => inline(h, || f(&c)),
        Err(refused) => refused,
    }
}

fn rpc_limit(what: &str) -> RemoteError {
    with_template(codes::RPC, domains::RPC, what, "%s", what)
}

pub fn num(s: &Session, h: &Header) -> Action {
    quick(s, h, |c| {
        drv(c.num_of_secrets()).map(|num| ConnectNumOfSecretsRet { num })
    })
}

pub fn list_uuids(s: &Session, h: &Header, a: ConnectListSecretsArgs) -> Action {
    quick(s, h, |c| {
        if a.maxuuids as usize > SECRET_UUID_LIST_MAX {
            return Err(rpc_limit("maxuuids > REMOTE_SECRET_UUID_LIST_MAX"));
        }
        drv(c.list_secret_uuids(a.maxuuids.max(0) as usize))
            .map(|uuids| ConnectListSecretsRet { uuids })
    })
}

pub fn list_all(s: &Session, h: &Header, a: ConnectListAllSecretsArgs) -> Action {
    quick(s, h, |c| {
        let list = drv(c.list_all_secrets(a.flags))?;
        let ret = list.len() as u32;
        let secrets = if a.need_results != 0 {
            if list.len() > SECRET_LIST_MAX {
                return Err(rpc_limit("Too many secrets"));
            }
            list.into_iter().map(wire).collect()
        } else {
            Vec::new()
        };
        Ok(ConnectListAllSecretsRet { secrets, ret })
    })
}

pub fn lookup_by_uuid(s: &Session, h: &Header, a: SecretLookupByUuidArgs) -> Action {
    quick(s, h, |c| {
        drv(c.secret_lookup_by_uuid(&a.uuid)).map(|x| SecretRefRet { secret: wire(x) })
    })
}

pub fn lookup_by_usage(s: &Session, h: &Header, a: SecretLookupByUsageArgs) -> Action {
    quick(s, h, |c| {
        drv(c.secret_lookup_by_usage(a.usage_type, &a.usage_id))
            .map(|x| SecretRefRet { secret: wire(x) })
    })
}

pub fn define(s: &Session, h: &Header, a: SecretDefineXmlArgs) -> Action {
    quick(s, h, |c| {
        drv(c.secret_define_xml(&a.xml, a.flags)).map(|x| SecretRefRet { secret: wire(x) })
    })
}

pub fn xml_desc(s: &Session, h: &Header, a: SecretFlagsArgs) -> Action {
    quick(s, h, |c| {
        drv(c.secret_get_xml_desc(&handle(&a.secret), a.flags))
            .map(|xml| SecretGetXmlDescRet { xml })
    })
}

pub fn set_value(s: &Session, h: &Header, a: SecretSetValueArgs) -> Action {
    quick(s, h, |c| {
        drv(c.secret_set_value(&handle(&a.secret), &a.value.0, a.flags))
    })
}

pub fn get_value(s: &Session, h: &Header, a: SecretFlagsArgs) -> Action {
    let for_daemon = s.system_identity;
    quick(s, h, |c| {
        let secret = handle(&a.secret);
        let value = if for_daemon {
            c.secret_get_value_for_daemon(&secret, a.flags)
        } else {
            c.secret_get_value(&secret, a.flags)
        };
        drv(value).map(|v| SecretGetValueRet { value: Opaque(v) })
    })
}

pub fn undefine(s: &Session, h: &Header, a: SecretUndefineArgs) -> Action {
    quick(s, h, |c| drv(c.secret_undefine(&handle(&a.secret))))
}

pub fn event_register(
    daemon: &Daemon,
    s: &mut Session,
    h: &Header,
    a: ConnectSecretEventRegisterAnyArgs,
) -> Action {
    if let Err(refused) = secrets(s, h) {
        return refused;
    }
    let sender = s.sender();
    let client = s.info.id;
    inline(h, || {
        let callback_id = checked_register("secret", a.event_id, SECRET_EVENT_ID_LAST, || {
            let secret = a.secret.map(|x| x.uuid);
            daemon
                .secret_events
                .register(client, a.event_id, secret, sender)
        })?;
        Ok(ConnectSecretEventRegisterAnyRet { callback_id })
    })
}

pub fn event_deregister(
    daemon: &Daemon,
    s: &mut Session,
    h: &Header,
    a: ConnectSecretEventDeregisterAnyArgs,
) -> Action {
    let client = s.info.id;
    inline(h, || {
        let removed = daemon.secret_events.deregister(client, a.callback_id);
        checked_deregister("secret", a.callback_id, removed)
    })
}
