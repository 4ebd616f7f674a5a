//! The listening sockets: inherited from a service manager (socket activation) or
//! created here (traditional mode).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::file_modes::create_dirs_with_mode;
use crate::activation::{Activation, ActivationError};
use crate::config::{AuthMethod, Settings};
use crate::logging;
use crate::paths::Paths;
use crate::server::listener::{self, Listener, Socket};
use crate::server::{AuthScheme, ServiceKind, Transport};

/// What to use instead of SASL on TCP. Plain TCP without authentication would
/// hand the host to anyone who can reach the port, so it is never suggested.
const REMOTE_ADVICE: &str = "serve remote clients over TLS with client certificates instead (listen_tls, or libvirtd-tls.socket; tls_allowed_dn_list limits which certificates), or over ssh to the unix socket (qemu+ssh://)";

fn scheme(method: AuthMethod) -> AuthScheme {
    match method {
        AuthMethod::None => AuthScheme::None,
        AuthMethod::Sasl => AuthScheme::Sasl,
        AuthMethod::Polkit => AuthScheme::Polkit,
    }
}

fn lookup_group(name: &str) -> Result<u32, String> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid.as_raw()),
        _ => Err(format!("Failed to parse group '{name}'")),
    }
}

/// Socket activation: serves exactly the inherited sockets, claimed by name
/// (`<daemon>.socket`, `-ro`, `-admin`, and for libvirtd `-tcp` and `-tls`).
/// Socket modes and group, `listen_*`, ports and `listen_addr` do not apply;
/// authentication settings do. Inherited socket files are never unlinked.
pub(super) fn activated_listeners(
    mut activation: Activation,
    settings: &Settings,
    paths: &Paths,
    listen: bool,
) -> Result<Vec<Listener>, String> {
    if listen {
        return Err(ActivationError::ListenNotPermitted.to_string());
    }
    let name = paths.daemon.as_str();
    let unix_kind = |read_only: bool, auth: AuthMethod| ServiceKind {
        admin: false,
        read_only,
        auth: scheme(auth),
        transport: Transport::Unix,
    };
    let admin_kind = ServiceKind {
        admin: true,
        read_only: false,
        auth: AuthScheme::None,
        transport: Transport::Unix,
    };
    let queue = settings.max_queued_clients;
    let mut services = vec![
        (
            format!("{name}.socket"),
            unix_kind(false, settings.auth_unix_rw),
            queue,
        ),
        (
            format!("{name}-ro.socket"),
            unix_kind(true, settings.auth_unix_ro),
            queue,
        ),
        (
            format!("{name}-admin.socket"),
            admin_kind,
            settings.admin_max_queued_clients,
        ),
    ];
    // The modular daemons have no IP services: such names stay unclaimed.
    if !paths.daemon.is_modular() {
        let tcp = format!("{name}-tcp.socket");
        if activation.has_name(&tcp) && settings.auth_tcp == AuthMethod::Sasl {
            return Err(format!(
                "SASL authentication (auth_tcp = \"sasl\") is not supported by this daemon, so the activation socket '{tcp}' cannot be served; {REMOTE_ADVICE}"
            ));
        }
        let tcp_kind = ServiceKind {
            transport: Transport::Tcp,
            ..unix_kind(false, settings.auth_tcp)
        };
        services.push((tcp, tcp_kind, queue));
    }
    let rw_name = format!("{name}.socket");
    let mut out = Vec::new();
    let tls = format!("{name}-tls.socket");
    if !paths.daemon.is_modular() && activation.has_name(&tls) {
        out.extend(activated_tls_listeners(
            &mut activation,
            &tls,
            settings,
            paths,
        )?);
    }
    for (fd_name, kind, backlog) in services {
        let sockets = activation
            .claim_sockets(&fd_name, backlog)
            .map_err(|e| e.to_string())?;
        for socket in sockets {
            if fd_name == rw_name {
                refuse_unguarded_rw_socket(&socket, &fd_name, settings)?;
            }
            // Clients are listed with the transport of the socket itself.
            let transport = match (&socket, kind.transport) {
                (Socket::Unix(_), _) => Transport::Unix,
                (_, Transport::Unix) => Transport::Tcp,
                (_, other) => other,
            };
            out.push(Listener {
                socket,
                kind: ServiceKind { transport, ..kind },
                unlink_on_exit: None,
            });
        }
    }
    activation.complete().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Without polkit nothing checks who connects to the read-write socket, so
/// its file mode is the only guard. An inherited socket whose mode admits
/// more than `unix_sock_rw_perms` (0700 unless set) stops start-up: clients
/// that connected before the daemon ran (the one that started it, say) are
/// already queued, so narrowing the mode now would come too late. libvirt
/// ignores the modes under activation and serves such a socket, which hands
/// the host to every local user.
fn refuse_unguarded_rw_socket(
    socket: &Socket,
    fd_name: &str,
    settings: &Settings,
) -> Result<(), String> {
    let Socket::Unix(listener) = socket else {
        return Ok(());
    };
    if settings.auth_unix_rw == AuthMethod::Polkit {
        return Ok(());
    }
    let Some(path) = listener
        .local_addr()
        .ok()
        .and_then(|addr| addr.as_pathname().map(Path::to_path_buf))
    else {
        return Ok(());
    };
    let mode = std::fs::metadata(&path)
        .map_err(|e| {
            format!(
                "Unable to check the mode of the activation socket '{}': {}",
                path.display(),
                logging::os_error_text(&e)
            )
        })?
        .permissions()
        .mode()
        & 0o7777;
    let allowed = settings.unix_sock_rw_perms;
    // Connecting takes write permission on the socket file.
    if mode & !allowed & 0o022 == 0 {
        return Ok(());
    }
    Err(format!(
        "The activation socket '{}' ({fd_name}) has mode {mode:04o}, wider than unix_sock_rw_perms ({allowed:04o}), and auth_unix_rw = \"{}\" checks no client: give the socket unit a SocketMode= no wider than {allowed:04o} (systemctl edit {fd_name}), use auth_unix_rw = \"polkit\", or set unix_sock_rw_perms to the mode you intend",
        path.display(),
        settings.auth_unix_rw.as_str()
    ))
}

/// The inherited `libvirtd-tls.socket` sockets, served with the configured
/// TLS credentials (loaded first: problems with them stop start-up).
fn activated_tls_listeners(
    activation: &mut Activation,
    fd_name: &str,
    settings: &Settings,
    paths: &Paths,
) -> Result<Vec<Listener>, String> {
    let kind = crate::tls::listen::service_kind(settings)?;
    let tls = crate::tls::TlsServer::from_settings(settings, paths)?;
    let sockets = activation
        .claim_sockets(fd_name, settings.max_queued_clients)
        .map_err(|e| e.to_string())?;
    sockets
        .into_iter()
        .map(|socket| match socket {
            Socket::Tcp(l) => Ok(Listener {
                socket: Socket::Tls(l, tls.clone()),
                kind,
                unlink_on_exit: None,
            }),
            _ => Err(format!(
                "The activation socket '{fd_name}' is not a TCP socket"
            )),
        })
        .collect()
}

/// Creates the sockets of traditional mode: rw, ro and admin unix sockets,
/// plus TCP with `--listen`.
pub(super) fn create_listeners(
    settings: &Settings,
    paths: &Paths,
    listen: bool,
) -> Result<Vec<Listener>, String> {
    let backlog = settings.max_queued_clients;
    let gid = settings
        .unix_sock_group
        .as_deref()
        .map(lookup_group)
        .transpose()?;
    let sockets = paths.unix_sockets(settings.unix_sock_dir.as_deref());
    // Other users reach the sockets of a root daemon (polkit decides on the rw
    // socket, the ro one is open), so its socket directory must not get the
    // daemon's private umask; an unprivileged daemon's stays private.
    let dir_mode = if paths.privileged { 0o755 } else { 0o700 };
    for dir in std::iter::once(&sockets.rw)
        .chain(&sockets.ro)
        .chain(&sockets.admin)
        .filter_map(|socket| socket.parent())
    {
        create_dirs_with_mode(dir, dir_mode).map_err(|e| {
            format!(
                "Failed to create the socket directory '{}': {}",
                dir.display(),
                logging::os_error_text(&e)
            )
        })?;
    }
    let mut out = Vec::new();
    let unix = |path: &Path,
                mode: u32,
                kind: ServiceKind,
                out: &mut Vec<Listener>|
     -> Result<(), String> {
        // The admin socket queues up to admin_max_queued_clients, as in libvirt.
        let queue = if kind.admin {
            settings.admin_max_queued_clients
        } else {
            backlog
        };
        let l = listener::bind_unix(path, mode, gid, queue).map_err(|e| {
            format!(
                "Failed to bind socket to '{}': {}",
                path.display(),
                logging::os_error_text(&e)
            )
        })?;
        out.push(Listener {
            socket: Socket::Unix(l),
            kind,
            unlink_on_exit: Some(path.to_path_buf()),
        });
        Ok(())
    };
    let rw = ServiceKind {
        admin: false,
        read_only: false,
        auth: scheme(settings.auth_unix_rw),
        transport: Transport::Unix,
    };
    unix(&sockets.rw, settings.unix_sock_rw_perms, rw, &mut out)?;
    if let Some(ro) = &sockets.ro {
        let kind = ServiceKind {
            read_only: true,
            auth: scheme(settings.auth_unix_ro),
            ..rw
        };
        unix(ro, settings.unix_sock_ro_perms, kind, &mut out)?;
    }
    if let Some(admin) = &sockets.admin {
        let kind = ServiceKind {
            admin: true,
            read_only: false,
            auth: AuthScheme::None,
            transport: Transport::Unix,
        };
        unix(admin, settings.unix_sock_admin_perms, kind, &mut out)?;
        // The admin socket has its own queue length (`admin_max_queued_clients`).
        if let Some(Listener {
            socket: Socket::Unix(l),
            ..
        }) = out.last()
        {
            listener::set_backlog(l, settings.admin_max_queued_clients)
                .map_err(|e| format!("Failed to bind socket to '{}': {e}", admin.display()))?;
        }
    }
    if listen {
        if settings.listen_tcp {
            if settings.auth_tcp == AuthMethod::Sasl {
                return Err(format!(
                    "SASL authentication (auth_tcp = \"sasl\") is not supported by this daemon, so listen_tcp cannot be served; {REMOTE_ADVICE}"
                ));
            }
            let kind = ServiceKind {
                admin: false,
                read_only: false,
                auth: scheme(settings.auth_tcp),
                transport: Transport::Tcp,
            };
            let tcp =
                listener::bind_tcp(settings.listen_addr.as_deref(), &settings.tcp_port, backlog)
                    .map_err(|e| {
                        format!(
                            "Failed to bind TCP socket on {}:{}: {}",
                            settings.listen_addr.as_deref().unwrap_or("*"),
                            settings.tcp_port,
                            logging::os_error_text(&e)
                        )
                    })?;
            out.extend(tcp.into_iter().map(|l| Listener {
                socket: Socket::Tcp(l),
                kind,
                unlink_on_exit: None,
            }));
        }
        if settings.listen_tls {
            out.extend(crate::tls::listen::bind_listeners(settings, paths)?);
        }
    }
    Ok(out)
}
