//! CONNECT_SET_IDENTITY: a proxy (virtproxyd) tells this daemon whom the
//! connection it opened is for. The identity is checked and logged; access
//! is not decided per caller here (no access control drivers). The one field
//! that changes something is `system.token`: another daemon of this host
//! presenting the shared token (see [`crate::system_token`]) makes the
//! connection the daemons' own, as libvirt's elevated identity does. The
//! identity is also what this daemon passes on to the secondary drivers'
//! daemons it opens links to for the connection.

use protocol::error::codes;
use protocol::header::Header;
use protocol::remote::ConnectSetIdentityArgs;
use protocol::typed_param::TypedParamValue;
use tracing::info;

use super::{inline, Action, Session};
use crate::dispatch::reply::with_template;

/// The identity fields libvirt 9.0 defines, with the kind each must have.
fn expected(field: &str) -> Option<fn(&TypedParamValue) -> bool> {
    Some(match field {
        "user-name"
        | "group-name"
        | "sasl-user-name"
        | "x509-distinguished-name"
        | "selinux-context"
        | "system.token" => |v| matches!(v, TypedParamValue::String(_)),
        "unix-user-id" | "unix-group-id" | "process-time" => {
            |v| matches!(v, TypedParamValue::ULLong(_))
        }
        "process-id" => |v| matches!(v, TypedParamValue::LLong(_)),
        _ => return None,
    })
}

pub fn set_identity(session: &mut Session, h: &Header, a: ConnectSetIdentityArgs) -> Action {
    let client = session.info.id;
    inline(h, || {
        if a.flags != 0 {
            let detail = format!(
                "unsupported flags (0x{:x}) in function virConnectSetIdentity",
                a.flags
            );
            return Err(with_template(
                codes::INVALID_ARG,
                protocol::error::domains::NONE,
                &format!("invalid argument: {detail}"),
                "invalid argument: %s",
                &detail,
            ));
        }
        let mut shown = Vec::new();
        let mut system = false;
        for p in &a.params {
            match expected(&p.field) {
                Some(ok) if ok(&p.value) => {}
                _ => {
                    let detail = format!("parameter '{}' is not an identity field", p.field);
                    return Err(with_template(
                        codes::INVALID_ARG,
                        protocol::error::domains::NONE,
                        &format!("invalid argument: {detail}"),
                        "invalid argument: %s",
                        &detail,
                    ));
                }
            }
            if p.field == crate::system_token::IDENTITY_FIELD {
                if let TypedParamValue::String(token) = &p.value {
                    system = crate::system_token::matches(token);
                }
                shown.push(format!(
                    "{}=<{}>",
                    p.field,
                    if system { "valid" } else { "invalid" }
                ));
                continue;
            }
            shown.push(format!("{}={:?}", p.field, p.value));
        }
        session.system_identity = system;
        session.identity = Some(a.params.clone());
        info!(client, identity = %shown.join(" "), "identity set by the connecting proxy");
        Ok(())
    })
}
