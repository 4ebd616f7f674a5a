//! TLS listening sockets: the TLS service of `--listen` (and the pieces that
//! socket activation reuses for `libvirtd-tls.socket`).

use std::sync::Arc;

use super::TlsServer;
use crate::config::{AuthMethod, Settings};
use crate::logging::os_error_text;
use crate::paths::Paths;
use crate::server::listener::{self, Listener, Socket};
use crate::server::{AuthScheme, ServiceKind, Transport};

/// How TLS clients are admitted after the handshake (`auth_tls`). SASL
/// over TLS is not available and is refused with what to set instead.
pub fn service_kind(settings: &Settings) -> Result<ServiceKind, String> {
    let auth = match settings.auth_tls {
        AuthMethod::None => AuthScheme::None,
        AuthMethod::Polkit => AuthScheme::Polkit,
        AuthMethod::Sasl => {
            return Err("SASL authentication (auth_tls = \"sasl\") is not supported by this daemon; set auth_tls = \"none\" to admit TLS clients by their x509 certificate (tls_allowed_dn_list restricts which ones)".to_string())
        }
    };
    Ok(ServiceKind {
        admin: false,
        read_only: false,
        auth,
        transport: Transport::Tls,
    })
}

/// Loads the credentials, then binds `listen_addr`:`tls_port` (every
/// address when unset), as libvirtd does with `--listen` and `listen_tls = 1`.
pub fn bind_listeners(settings: &Settings, paths: &Paths) -> Result<Vec<Listener>, String> {
    let kind = service_kind(settings)?;
    let tls = TlsServer::from_settings(settings, paths)?;
    let sockets = listener::bind_tcp(
        settings.listen_addr.as_deref(),
        &settings.tls_port,
        settings.max_queued_clients,
    )
    .map_err(|e| {
        format!(
            "Failed to bind TLS socket on {}:{}: {}",
            settings.listen_addr.as_deref().unwrap_or("*"),
            settings.tls_port,
            os_error_text(&e)
        )
    })?;
    Ok(sockets
        .into_iter()
        .map(|l| Listener {
            socket: Socket::Tls(l, tls.clone()),
            kind,
            unlink_on_exit: None,
        })
        .collect())
}

/// The distinct TLS servers behind `listeners` (one per daemon in practice),
/// for reloading their credentials.
pub fn servers_of(listeners: &[Listener]) -> Vec<Arc<TlsServer>> {
    let mut out: Vec<Arc<TlsServer>> = Vec::new();
    for l in listeners {
        if let Socket::Tls(_, tls) = &l.socket {
            if !out.iter().any(|t| Arc::ptr_eq(t, tls)) {
                out.push(tls.clone());
            }
        }
    }
    out
}
