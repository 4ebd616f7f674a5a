//! The errors the admin program sends, built the way libvirtd builds them:
//! error code, the domain of the libvirt source file that raises it, the
//! full message, and the message template with its detail.

use protocol::error::{codes, domains, RemoteError};

use crate::dispatch::reply::with_template;

/// `virNetDaemonGetServer` failing (domain RPC), as seen by virt-admin's
/// first call of every server command.
pub fn no_server(name: &str) -> RemoteError {
    let detail = format!("No server named '{name}'");
    with_template(
        codes::NO_SERVER,
        domains::RPC,
        &format!("Server not found: {detail}"),
        "Server not found: %s",
        &detail,
    )
}

/// The admin dispatcher's own wording for an unknown server, which replaces
/// the RPC one for the setter and client-info procedures.
pub fn no_server_here(name: &str) -> RemoteError {
    let detail = format!("no server with matching name '{name}' found");
    with_template(
        codes::NO_SERVER,
        domains::ADMIN,
        &format!("Server not found: {detail}"),
        "Server not found: %s",
        &detail,
    )
}

/// `virNetServerGetClient` failing (domain RPC).
pub fn no_client(id: u64) -> RemoteError {
    let detail = format!("No client with matching ID '{id}'");
    with_template(
        codes::NO_CLIENT,
        domains::RPC,
        &format!("Client not found: {detail}"),
        "Client not found: %s",
        &detail,
    )
}

/// The admin dispatcher's wording for an unknown client (client-info).
pub fn no_client_here(id: u64) -> RemoteError {
    let detail = format!("no client with matching id '{id}' found");
    with_template(
        codes::NO_CLIENT,
        domains::ADMIN,
        &format!("Client not found: {detail}"),
        "Client not found: %s",
        &detail,
    )
}

pub fn invalid_arg(domain: i32, detail: &str) -> RemoteError {
    with_template(
        codes::INVALID_ARG,
        domain,
        &format!("invalid argument: {detail}"),
        "invalid argument: %s",
        detail,
    )
}

pub fn argument_unsupported(domain: i32, detail: &str) -> RemoteError {
    with_template(
        codes::ARGUMENT_UNSUPPORTED,
        domain,
        &format!("argument unsupported: {detail}"),
        "argument unsupported: %s",
        detail,
    )
}

pub fn internal(domain: i32, detail: &str) -> RemoteError {
    with_template(
        codes::INTERNAL_ERROR,
        domain,
        &format!("internal error: {detail}"),
        "internal error: %s",
        detail,
    )
}

/// A failure reported with its whole text (system errors and the like).
pub fn plain(code: i32, domain: i32, message: &str) -> RemoteError {
    with_template(code, domain, message, "%s", message)
}

/// Refuses flags outside `allowed`, naming the libvirt function that checks
/// them (virt-admin prints the message as is).
pub fn check_flags(flags: u32, allowed: u32, function: &str) -> Result<(), RemoteError> {
    let unknown = flags & !allowed;
    if unknown == 0 {
        return Ok(());
    }
    Err(invalid_arg(
        domains::ADMIN,
        &format!("unsupported flags (0x{unknown:x}) in function {function}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_server_matches_the_recorded_error() {
        let err = no_server("nosuchserver");
        assert_eq!((err.code, err.domain), (95, 7));
        assert_eq!(
            err.message.as_deref(),
            Some("Server not found: No server named 'nosuchserver'")
        );
        assert_eq!(err.str1.as_deref(), Some("Server not found: %s"));
        assert_eq!(err.str2.as_deref(), Some("No server named 'nosuchserver'"));
        assert_eq!((err.int1, err.int2), (-1, -1));
    }

    #[test]
    fn flags_outside_the_allowed_set_are_named_in_hex() {
        assert!(check_flags(1, 1, "adminConnectDaemonShutdown").is_ok());
        let err = check_flags(0x1a, 0, "adminClientClose").expect_err("flags refused");
        assert_eq!((err.code, err.domain), (8, 62));
        assert_eq!(
            err.message.as_deref(),
            Some("invalid argument: unsupported flags (0x1a) in function adminClientClose")
        );
    }

    #[test]
    fn unknown_client_has_both_wordings() {
        assert_eq!(
            no_client(7).message.as_deref(),
            Some("Client not found: No client with matching ID '7'")
        );
        let here = no_client_here(7);
        assert_eq!((here.code, here.domain), (96, 62));
        assert_eq!(
            here.message.as_deref(),
            Some("Client not found: no client with matching id '7' found")
        );
    }
}
