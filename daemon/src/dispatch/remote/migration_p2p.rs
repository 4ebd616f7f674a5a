//! Peer-to-peer migration (`virsh migrate --p2p`): the client calls only perform
//! on the source; this daemon then speaks to the destination daemon itself, as a
//! libvirt client, and drives the five phases: begin, perform and confirm on its
//! own driver, prepare and finish on the peer.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use client::{Client, ClientError};
use drivers::api::{migrate_flags, migrate_param, Connection, DomainRef, NamedParam, ParamValue};
use protocol::error::{codes, domains, RemoteError};
use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
use protocol::remote::*;

use super::migration_tunnel::{stop_reading, Tunnel};
use super::tuning::driver_params;
use super::{dom_ref, drv};

/// How long a call to the destination may take (prepare starts a QEMU).
const PEER_TIMEOUT: Duration = Duration::from_secs(120);
/// The port of `qemu+tcp://` URIs without one (libvirtd's `tcp_port`).
const DEFAULT_TCP_PORT: u16 = 16509;
/// The socket of `qemu:///system` when the URI names none.
const DEFAULT_SOCKET: &str = "/run/libvirt/libvirt-sock";

/// How to reach the destination daemon, and the driver URI to open there.
#[derive(Debug, PartialEq)]
enum Peer {
    Unix(String),
    Tcp(String, u16),
    Tls(String, u16, super::migration_peer_tls::PeerTls),
}

fn unsupported(uri: &str) -> RemoteError {
    RemoteError::new(
        codes::ARGUMENT_UNSUPPORTED,
        domains::QEMU,
        format!(
            "argument unsupported: destination URI '{}' is not supported for peer-to-peer \
             migration (qemu+unix, qemu+tcp and qemu+tls are)",
            uri.escape_default()
        ),
    )
}

/// Parses `qemu[+unix|+tcp]://[host[:port]]/system[?socket=PATH]`.
fn parse_peer(uri: &str) -> Result<(Peer, String), RemoteError> {
    let (scheme, rest) = uri.split_once("://").ok_or_else(|| unsupported(uri))?;
    let (driver, transport) = scheme.split_once('+').unwrap_or((scheme, "unix"));
    if driver != "qemu" || uri.chars().any(char::is_control) {
        return Err(unsupported(uri));
    }
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = location.split_at(location.find('/').unwrap_or(location.len()));
    if path != "/system" && path != "/session" {
        return Err(unsupported(uri));
    }
    let open = format!("qemu://{path}");
    let socket = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("socket="))
        .map(str::to_string);
    let peer = match transport {
        "unix" if authority.is_empty() => {
            let socket = socket.unwrap_or_else(|| DEFAULT_SOCKET.to_string());
            if !socket.starts_with('/') {
                return Err(unsupported(uri));
            }
            Peer::Unix(socket)
        }
        "tcp" | "tls" if !authority.is_empty() => {
            let default_port = if transport == "tls" {
                super::migration_peer_tls::DEFAULT_TLS_PORT
            } else {
                DEFAULT_TCP_PORT
            };
            let (host, port) = match authority.rsplit_once(':') {
                Some((host, port)) if !host.ends_with(']') || port.is_empty() => {
                    (host, port.parse().map_err(|_| unsupported(uri))?)
                }
                _ => (authority, default_port),
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if transport == "tcp" {
                Peer::Tcp(host.to_string(), port)
            } else {
                let tls = super::migration_peer_tls::PeerTls::from_query(query)
                    .map_err(|_| unsupported(uri))?;
                Peer::Tls(host.to_string(), port, tls)
            }
        }
        _ => return Err(unsupported(uri)),
    };
    Ok((peer, open))
}

fn peer_error(e: ClientError) -> RemoteError {
    match e.remote() {
        Some(remote) => remote.clone(),
        None => RemoteError::new(
            codes::OPERATION_FAILED,
            domains::QEMU,
            format!("operation failed: Failed to connect to remote libvirt URI: {e}"),
        ),
    }
}

fn connect(uri: &str) -> Result<Client, RemoteError> {
    let (peer, open) = parse_peer(uri)?;
    let mut client = match peer {
        Peer::Unix(path) => Client::connect_unix(Path::new(&path)).map_err(peer_error),
        Peer::Tcp(host, port) => Client::connect_tcp(&host, port).map_err(peer_error),
        Peer::Tls(host, port, tls) => tls.connect(&host, port),
    }?;
    client.set_read_timeout(Some(PEER_TIMEOUT));
    client.open(Some(&open), 0).map_err(peer_error)?;
    Ok(client)
}

fn wire_params(params: &[NamedParam]) -> Vec<protocol::TypedParam> {
    params
        .iter()
        .cloned()
        .map(super::tuning::wire_param)
        .collect()
}

fn with_param(params: &mut Vec<NamedParam>, field: &str, value: String) {
    params.retain(|p| p.field != field);
    params.push(NamedParam::new(field, ParamValue::String(value)));
}

/// The source's part of `virDomainMigratePerform3Params` with PEER2PEER.
pub fn perform(
    c: &Arc<dyn Connection>,
    a: DomainMigratePerform3ParamsArgs,
) -> Result<DomainMigratePerform3ParamsRet, RemoteError> {
    let dconnuri = a.dconnuri.clone().ok_or_else(|| {
        RemoteError::new(
            codes::INVALID_ARG,
            domains::QEMU,
            "invalid argument: a destination URI is required for peer-to-peer migration",
        )
    })?;
    let dom: DomainRef = dom_ref(&a.dom);
    let mut params = driver_params(a.params)?;
    let flags = a.flags & !migrate_flags::PEER2PEER;
    let mut peer = connect(&dconnuri)?;
    let begun = drv(c.migrate_begin(&dom, &params, flags))?;
    with_param(
        &mut params,
        migrate_param::DEST_XML,
        begun.text.unwrap_or_default(),
    );
    let performed = if flags & migrate_flags::TUNNELLED != 0 {
        perform_tunnelled(c, &dom, &params, begun.cookie, flags, &mut peer)?
    } else {
        let prepared: DomainMigratePrepare3ParamsRet = peer
            .call(
                REMOTE_PROGRAM,
                p::DOMAIN_MIGRATE_PREPARE3_PARAMS,
                &DomainMigratePrepare3ParamsArgs {
                    params: wire_params(&params),
                    cookie_in: Opaque(begun.cookie),
                    flags,
                },
            )
            .map_err(peer_error)?;
        if let Some(uri) = prepared.uri_out {
            if !params.iter().any(|p| p.field == migrate_param::URI) {
                with_param(&mut params, migrate_param::URI, uri);
            }
        }
        drv(c.migrate_perform(&dom, None, &params, &prepared.cookie_out.0, flags))
    };
    let cookie = performed
        .as_ref()
        .map(|step| step.cookie.clone())
        .unwrap_or_default();
    // libvirt's finish finds the guest by this name (as libvirt's client, the
    // source names it when the caller did not).
    if !params.iter().any(|p| p.field == migrate_param::DEST_NAME) {
        with_param(&mut params, migrate_param::DEST_NAME, dom.name.clone());
    }
    let finished: Result<DomainMigrateFinish3ParamsRet, RemoteError> = peer
        .call(
            REMOTE_PROGRAM,
            p::DOMAIN_MIGRATE_FINISH3_PARAMS,
            &DomainMigrateFinish3ParamsArgs {
                params: wire_params(&params),
                cookie_in: Opaque(cookie),
                flags,
                cancelled: performed.is_err() as i32,
            },
        )
        .map_err(peer_error);
    let _ = peer.close();
    let cancelled = performed.is_err() || finished.is_err();
    let confirmed = drv(c.migrate_confirm(&dom, &params, &[], flags, cancelled));
    // The first failure is the one to report: perform's, then finish's.
    performed?;
    finished?;
    confirmed?;
    Ok(DomainMigratePerform3ParamsRet {
        cookie_out: Opaque(Vec::new()),
    })
}

/// Prepare and perform of a tunnelled migration: QEMU writes the guest into
/// a socket pair whose other end a thread relays as the stream's data.
fn perform_tunnelled(
    c: &Arc<dyn Connection>,
    dom: &DomainRef,
    params: &[NamedParam],
    cookie: Vec<u8>,
    flags: u32,
    peer: &mut Client,
) -> Result<Result<drivers::api::MigrationStep, RemoteError>, RemoteError> {
    let args = DomainMigratePrepareTunnel3ParamsArgs {
        params: wire_params(params),
        cookie_in: Opaque(cookie),
        flags,
    };
    let (tunnel, dest_cookie) = Tunnel::open(peer, &args).map_err(peer_error)?;
    let (ours, qemus) = match UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => {
            tunnel.abort(peer);
            return Err(RemoteError::new(
                codes::SYSTEM_ERROR,
                domains::QEMU,
                format!("cannot create the migration tunnel: {e}"),
            ));
        }
    };
    let stopper = ours.try_clone().ok();
    let (performed, pumped) = std::thread::scope(|scope| {
        let pump = scope.spawn(|| tunnel.pump(peer, ours));
        let performed = drv(c.migrate_perform_tunnel(dom, params, &dest_cookie, flags, qemus));
        if performed.is_err() {
            if let Some(socket) = &stopper {
                stop_reading(socket);
            }
        }
        let pumped = pump.join().unwrap_or_else(|_| {
            Err(RemoteError::new(
                codes::INTERNAL_ERROR,
                domains::QEMU,
                "migration tunnel failed",
            ))
        });
        (performed, pumped)
    });
    let performed = match (performed, pumped) {
        (Ok(step), Ok(bytes)) => {
            tracing::info!(bytes, "guest sent through the migration tunnel");
            tunnel.finish(peer).map(|_| step)
        }
        (Err(e), _) | (Ok(_), Err(e)) => {
            tunnel.abort(peer);
            Err(e)
        }
    };
    Ok(performed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_uris() {
        assert_eq!(
            parse_peer("qemu+unix:///system?socket=/r/sock").unwrap(),
            (Peer::Unix("/r/sock".into()), "qemu:///system".into())
        );
        assert_eq!(
            parse_peer("qemu:///system").unwrap().0,
            Peer::Unix(DEFAULT_SOCKET.into())
        );
        assert_eq!(
            parse_peer("qemu+tcp://h:1234/system").unwrap().0,
            Peer::Tcp("h".into(), 1234)
        );
        assert_eq!(
            parse_peer("qemu+tcp://h/system").unwrap().0,
            Peer::Tcp("h".into(), DEFAULT_TCP_PORT)
        );
        assert!(matches!(
            parse_peer("qemu+tls://h/system?pkipath=/p").unwrap().0,
            Peer::Tls(h, 16514, _) if h == "h"
        ));
        assert!(parse_peer("lxc:///system").is_err());
        assert!(parse_peer("qemu+ssh://h/system").is_err());
        assert!(parse_peer("qemu+unix:///system?socket=rel").is_err());
    }
}
