//! The authentication exchanges after AUTH_LIST: AUTH_POLKIT asks polkitd
//! about the local peer; the SASL steps are answered as by a libvirtd built
//! without SASL (a SASL socket never starts, so no client legitimately asks).

use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::AuthPolkitRet;
use tracing::{info, warn};

use super::{reply_err, Action, Job, Session};
use crate::dispatch::reply::{error_reply, ok_reply, with_template};
use crate::polkit::{self, PolkitError, Subject};
use crate::server::client::Outgoing;
use crate::server::AuthScheme;

/// AUTH_POLKIT: runs the polkit check for the peer on a worker; when granted,
/// the session is told it is authenticated before the reply goes out.
pub fn auth_polkit(session: &mut Session, h: &Header) -> Action {
    let client = session.info.id;
    if session.kind.auth != AuthScheme::Polkit || session.authenticated {
        warn!(client, "client tried invalid PolicyKit init request");
        return reply_err(h, unreported_failure());
    }
    let (Some(pid), Some(uid)) = (session.info.peer_pid, session.info.peer_uid) else {
        warn!(client, "polkit auth without the peer's credentials");
        return reply_err(h, unreported_failure());
    };
    let start_time = match session.peer_start_time {
        Some(t) if t != 0 => t,
        _ => {
            warn!(
                client,
                pid, "Failing polkit auth due to missing client start time"
            );
            return reply_err(h, unreported_failure());
        }
    };
    let action = if session.kind.read_only {
        polkit::ACTION_MONITOR
    } else {
        polkit::ACTION_MANAGE
    };
    let subject = Subject {
        pid: pid as u32,
        start_time,
        uid,
    };
    let sender = session.sender();
    let header = *h;
    Action::Job(Job {
        header,
        run: Box::new(move || {
            info!(client, pid, uid, "Checking PID {pid} running as {uid}");
            let address = polkit::system_bus_address();
            match polkit::check_authorization(&address, subject, action, true) {
                Ok(()) => {
                    info!(
                        client,
                        "Policy allowed action {action} from pid {pid}, uid {uid}"
                    );
                    let _ = sender.send(Outgoing::Authenticated);
                    ok_reply(&header, &AuthPolkitRet { complete: 1 })
                }
                Err(e) => {
                    info!(
                        client,
                        "polkit refused action {action} from pid {pid}, uid {uid}: {e}"
                    );
                    error_reply(&header, &polkit_error(&e))
                }
            }
        }),
    })
}

/// AUTH_SASL_INIT / START / STEP.
pub fn sasl_unavailable(session: &Session, h: &Header) -> Action {
    warn!(
        client = session.info.id,
        "Client tried unsupported SASL auth"
    );
    reply_err(
        h,
        with_template(
            codes::AUTH_FAILED,
            domains::RPC,
            "authentication failed: authentication failed",
            "authentication failed: %s",
            "authentication failed",
        ),
    )
}

/// libvirtd's answer when an auth step fails without reporting why.
fn unreported_failure() -> RemoteError {
    RemoteError::new(
        codes::INTERNAL_ERROR,
        domains::RPC,
        "Library function returned error but did not set virError",
    )
}

/// The error libvirtd reports for each polkit outcome (code, domain, text).
pub fn polkit_error(e: &PolkitError) -> RemoteError {
    let detail = e.to_string();
    let (code, domain, template) = match e {
        PolkitError::Denied => (
            codes::AUTH_FAILED,
            domains::POLKIT,
            "authentication failed: %s",
        ),
        PolkitError::NeedsAgent(_) => (
            codes::AUTH_UNAVAILABLE,
            domains::POLKIT,
            "authentication unavailable: %s",
        ),
        PolkitError::Cancelled => (
            codes::AUTH_CANCELLED,
            domains::POLKIT,
            "authentication cancelled: %s",
        ),
        PolkitError::NoBus(_) => (codes::INTERNAL_ERROR, domains::DBUS, "internal error: %s"),
        PolkitError::Service(_) => (codes::DBUS_SERVICE, domains::DBUS, "error from service: %s"),
    };
    let message = template.replace("%s", &detail);
    with_template(code, domain, &message, template, &detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polkit_outcomes_carry_libvirts_codes_and_texts() {
        let denied = polkit_error(&PolkitError::Denied);
        assert_eq!((denied.code, denied.domain), (45, 60));
        assert_eq!(
            denied.message.as_deref(),
            Some("authentication failed: access denied by policy")
        );
        assert_eq!(denied.str1.as_deref(), Some("authentication failed: %s"));
        assert_eq!(denied.str2.as_deref(), Some("access denied by policy"));

        let no_bus = polkit_error(&PolkitError::NoBus(
            "Could not connect: No such file or directory".into(),
        ));
        assert_eq!((no_bus.code, no_bus.domain), (1, 47));
        assert_eq!(
            no_bus.message.as_deref(),
            Some(
                "internal error: Unable to get system bus connection: \
                 Could not connect: No such file or directory"
            )
        );

        let agent = polkit_error(&PolkitError::NeedsAgent("org.libvirt.unix.manage".into()));
        assert_eq!((agent.code, agent.domain), (94, 60));
        assert_eq!(
            agent.message.as_deref(),
            Some(
                "authentication unavailable: no polkit agent available to \
                 authenticate action 'org.libvirt.unix.manage'"
            )
        );
        let service = polkit_error(&PolkitError::Service("GDBus.Error:x.Y: z".into()));
        assert_eq!((service.code, service.domain), (89, 47));
        assert_eq!(
            service.message.as_deref(),
            Some("error from service: GDBus.Error:x.Y: z")
        );
    }
}
