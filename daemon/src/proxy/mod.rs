//! virtproxyd: the daemon that stands in for libvirtd on its sockets (and TCP
//! and TLS) in a modular setup. It authenticates clients as libvirtd does,
//! then at CONNECT_OPEN connects to the per-driver daemon serving the URI
//! (`virtqemud-sock`, or `-sock-ro` for a read-only client), passes the
//! client's identity, and from then on relays whole messages both ways.

mod handshake;
mod link;
pub mod secondary;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use protocol::error::{codes, domains, RemoteError};
use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::remote_proc as p;
use protocol::remote::ConnectOpenArgs;
use protocol::typed_param::{TypedParam, TypedParamValue};
use tracing::{debug, warn};

use crate::dispatch::{error_reply, Action, Job, Session};
use crate::server::ClientDetails;
pub use link::{Keepalive, PeerLoss, ProxyLink};

/// Where the per-driver daemons listen (their default socket directory).
#[derive(Clone, Debug)]
pub struct ProxyTargets {
    pub sock_dir: PathBuf,
}

/// The session's backend leg, filled in by the worker that opened it.
pub type LinkSlot = Arc<Mutex<Option<ProxyLink>>>;

/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`.
const FEATURE_PROGRAM_KEEPALIVE: i32 = 7;

/// The per-driver daemon that serves URI scheme `scheme`, as libvirt names them.
pub fn daemon_for_scheme(scheme: &str) -> Option<&'static str> {
    Some(match scheme {
        "qemu" => "virtqemud",
        "lxc" => "virtlxcd",
        "network" => "virtnetworkd",
        "storage" => "virtstoraged",
        "secret" => "virtsecretd",
        "nodedev" => "virtnodedevd",
        "nwfilter" => "virtnwfilterd",
        "interface" => "virtinterfaced",
        "xen" | "libxl" => "virtxend",
        "vbox" => "virtvboxd",
        "ch" => "virtchd",
        _ => return None,
    })
}

/// Daemons tried, in order, for a client that names no URI (libvirt probes
/// the hypervisor drivers the same way).
const PROBE_ORDER: [&str; 2] = ["virtqemud", "virtlxcd"];

fn no_driver(uri: &str) -> RemoteError {
    crate::dispatch::from_driver(drivers::api::DriverError::new(
        drivers::api::codes::NO_CONNECT,
        drivers::api::domains::NONE,
        uri,
    ))
}

fn rpc_failure(code: i32, message: String) -> RemoteError {
    let mut e = RemoteError::new(code, domains::RPC, &message);
    e.str1 = Some("%s".to_string());
    e.str2 = Some(message);
    e
}

/// The identity the per-driver daemon is told about: the local peer's user,
/// group and process, the TLS client's certificate name, the peer's
/// security label.
fn identity(session: &Session, details: Option<ClientDetails>) -> Vec<TypedParam> {
    let mut params = Vec::new();
    if let Some(uid) = session.info.peer_uid {
        if let Some(name) = user_name(uid) {
            params.push(TypedParam::new("user-name", TypedParamValue::String(name)));
        }
        params.push(TypedParam::new(
            "unix-user-id",
            TypedParamValue::ULLong(uid.into()),
        ));
    }
    if let Some(gid) = session.info.peer_gid {
        if let Some(name) = group_name(gid) {
            params.push(TypedParam::new("group-name", TypedParamValue::String(name)));
        }
        params.push(TypedParam::new(
            "unix-group-id",
            TypedParamValue::ULLong(gid.into()),
        ));
    }
    if let Some(pid) = session.info.peer_pid {
        params.push(TypedParam::new(
            "process-id",
            TypedParamValue::LLong(pid.into()),
        ));
        if let Some(start) = session.peer_start_time {
            params.push(TypedParam::new(
                "process-time",
                TypedParamValue::ULLong(start),
            ));
        }
    }
    let details = details.unwrap_or_default();
    if let Some(dname) = details.x509_dname {
        params.push(TypedParam::new(
            "x509-distinguished-name",
            TypedParamValue::String(dname),
        ));
    }
    if let Some(label) = details.security_label {
        params.push(TypedParam::new(
            "selinux-context",
            TypedParamValue::String(label),
        ));
    }
    params
}

/// The identity of `session`'s client as another daemon is to learn it:
/// the one a proxy set on this connection, else the client's own.
fn client_identity(daemon: &crate::context::Daemon, session: &Session) -> Vec<TypedParam> {
    if let Some(params) = &session.identity {
        return params.clone();
    }
    let details = daemon
        .main
        .clients
        .get_with_details(session.info.id)
        .map(|(_, d)| d);
    identity(session, details)
}

fn user_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

fn group_name(gid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == gid).then(|| name.to_string())
    })
}

/// CONNECT_OPEN on virtproxyd: a worker opens the backend leg; its reply (or
/// the daemon's refusal) answers the client's call.
pub fn open(
    daemon: &crate::context::Daemon,
    targets: &ProxyTargets,
    session: &mut Session,
    h: &Header,
    args: ConnectOpenArgs,
) -> Action {
    if session
        .proxy_link
        .lock()
        .map(|l| l.is_some())
        .unwrap_or(true)
    {
        return Action::Reply(error_reply(
            h,
            &rpc_failure(
                codes::INTERNAL_ERROR,
                "internal error: connection already open".into(),
            ),
        ));
    }
    let uri = args.name.clone().unwrap_or_default();
    let candidates: Vec<&'static str> = if uri.is_empty() {
        PROBE_ORDER.to_vec()
    } else {
        let scheme = uri.split(':').next().unwrap_or("");
        let scheme = scheme.split('+').next().unwrap_or(scheme);
        match daemon_for_scheme(&scheme.to_ascii_lowercase()) {
            Some(d) => vec![d],
            None => return Action::Reply(error_reply(h, &no_driver(&uri))),
        }
    };
    let suffix = if session.read_only {
        "-sock-ro"
    } else {
        "-sock"
    };
    let sockets: Vec<(String, PathBuf)> = candidates
        .iter()
        .map(|d| (d.to_string(), targets.sock_dir.join(format!("{d}{suffix}"))))
        .collect();
    let identity = (!session.read_only).then(|| client_identity(daemon, session));
    let keepalive = link_keepalive(daemon);
    let slot = session.proxy_link.clone();
    let client = session.sender();
    let header = *h;
    Action::Job(Job {
        header: *h,
        run: Box::new(move || {
            let result = if uri.is_empty() {
                // No URI: the first daemon that is there.
                sockets
                    .iter()
                    .find(|(_, s)| s.exists())
                    .map(|(d, s)| (d.clone(), s.clone()))
                    .ok_or_else(|| {
                        handshake::HandshakeError::Connect(
                            "no connection driver available for the default URI".into(),
                        )
                    })
            } else {
                Ok(sockets[0].clone())
            };
            match result.and_then(|(name, socket)| {
                backend(&socket, &args, identity).map(|stream| (name, stream))
            }) {
                Ok((name, stream)) => {
                    match ProxyLink::start(
                        stream,
                        client,
                        name.clone(),
                        keepalive,
                        PeerLoss::DisconnectClient,
                    ) {
                        Ok(link) => {
                            debug!(daemon = %name, "client forwarded");
                            if let Ok(mut slot) = slot.lock() {
                                *slot = Some(link);
                            }
                            encode_message(&header.reply_to(), &[])
                        }
                        Err(e) => error_reply(
                            &header,
                            &rpc_failure(codes::INTERNAL_ERROR, format!("internal error: {e}")),
                        ),
                    }
                }
                Err(e) => handshake_failure(&header, &e),
            }
        }),
    })
}

/// Keepalive on links to other daemons: this daemon's own settings.
fn link_keepalive(daemon: &crate::context::Daemon) -> Keepalive {
    let limits = daemon.main.limits();
    Keepalive {
        interval: (limits.keepalive_interval > 0)
            .then(|| std::time::Duration::from_secs(limits.keepalive_interval as u64)),
        count: limits.keepalive_count,
    }
}

/// The reply to `call` when the link it needed could not be opened: the
/// daemon's own refusal as it sent it, libvirt's text for a socket that
/// cannot be reached, or an internal error.
fn handshake_failure(call: &Header, e: &handshake::HandshakeError) -> Vec<u8> {
    match e {
        handshake::HandshakeError::Refused(h, body) => {
            let reply = Header {
                serial: call.serial,
                proc_: call.proc_,
                prog: call.prog,
                ..*h
            };
            encode_message(&reply, body)
        }
        handshake::HandshakeError::Connect(msg) => {
            error_reply(call, &rpc_failure(codes::SYSTEM_ERROR, msg.clone()))
        }
        handshake::HandshakeError::Other(msg) => {
            warn!("link to another daemon: {msg}");
            error_reply(
                call,
                &rpc_failure(codes::INTERNAL_ERROR, format!("internal error: {msg}")),
            )
        }
    }
}

/// Connects, authenticates, opens and sets the identity on the daemon at `socket`.
fn backend(
    socket: &std::path::Path,
    args: &ConnectOpenArgs,
    identity: Option<Vec<TypedParam>>,
) -> Result<std::os::unix::net::UnixStream, handshake::HandshakeError> {
    let mut hs = handshake::Handshake::connect(socket)?;
    hs.authenticate()?;
    hs.open(args)?;
    if let Some(params) = identity {
        hs.set_identity(params)?;
    }
    Ok(hs.into_stream())
}

/// Forwards a client message when the session is relayed; `None` otherwise.
pub fn relay(session: &mut Session, h: &Header, body: &[u8]) -> Option<Action> {
    let slot = session.proxy_link.clone();
    let sender = session.sender();
    let guard = slot.lock().ok()?;
    let link = guard.as_ref()?;
    let call = matches!(
        h.message_type(),
        Some(MessageType::Call) | Some(MessageType::CallWithFds)
    );
    if call && h.prog == protocol::programs::REMOTE_PROGRAM {
        if h.proc_ == p::CONNECT_CLOSE {
            link.mark_closing();
        }
        if h.proc_ == p::CONNECT_SUPPORTS_FEATURE
            && body.get(..4) == Some(&FEATURE_PROGRAM_KEEPALIVE.to_be_bytes()[..])
        {
            // The client asked for keepalive: this leg pings it as libvirtd would.
            session.keepalive_requested = true;
        }
    }
    if call {
        let _ = sender.send(crate::server::client::Outgoing::CallForwarded);
    }
    // Descriptors passed with a call go on with it.
    let fds = std::mem::take(&mut session.fds);
    match link.forward_with_fds(h, encode_message(h, body), fds) {
        Ok(()) => Some(Action::Nothing),
        Err(why) => {
            warn!(daemon = %link.target, ?why, "cannot forward to the proxied daemon");
            let _ = sender.send(crate::server::client::Outgoing::Disconnect(
                "the proxied daemon does not take more messages",
            ));
            Some(Action::Nothing)
        }
    }
}
