//! virtqemud and virtlxcd: the calls of the secondary drivers (networks,
//! storage, secrets, node devices, network filters, host interfaces) made on
//! a hypervisor connection go to the daemon that runs that driver, as
//! libvirt's modular daemons route them. On the connection's first call of a
//! family a worker opens a link to that daemon's socket (`virtnetworkd-sock`,
//! `-sock-ro` for a read-only client), opens `network:///system` there
//! (`network:///session` for an unprivileged daemon) and passes on the
//! client's identity; messages of the family arriving meanwhile wait in a
//! bounded queue and follow in order. From then on whole messages are relayed
//! both ways: calls and stream data out, replies, events and stream data back.
//!
//! A daemon that is not there fails the call with libvirt's error for a
//! socket that cannot be reached, and the next call tries again. A daemon
//! that goes away fails what its link still owed (calls, open streams) and
//! the next call opens a new link; the hypervisor connection itself stays.
//! CONNECT_CLOSE and the client's disconnection close the links.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::{remote_proc, REMOTE_PROGRAM};
use protocol::remote::ConnectOpenArgs;
use protocol::table::Family;
use tracing::debug;

use super::link::{Owed, PeerLoss};
use super::{backend, daemon_for_scheme, handshake, Keepalive, ProxyLink};
use crate::context::Daemon;
use crate::dispatch::{Action, Job, Session};
use crate::server::client::{Outgoing, OutgoingSender};

/// The families libvirt's hypervisor daemons hand to other daemons.
const SECONDARY: [Family; 6] = [
    Family::Network,
    Family::Storage,
    Family::Secret,
    Family::Nodedev,
    Family::Nwfilter,
    Family::Interface,
];
/// Messages that may wait for a link being opened.
const OPENING_QUEUE: usize = 64;
/// `VIR_CONNECT_RO`.
const CONNECT_RO: u32 = 1;

/// Where the secondary drivers' daemons listen, and which families this
/// daemon does not serve itself.
#[derive(Clone, Debug)]
pub struct SecondaryTargets {
    sock_dir: PathBuf,
    privileged: bool,
    families: Vec<Family>,
}

impl SecondaryTargets {
    /// `served(family)` says whether this daemon runs that family's driver.
    pub fn new(sock_dir: PathBuf, privileged: bool, served: impl Fn(Family) -> bool) -> Self {
        SecondaryTargets {
            sock_dir,
            privileged,
            families: SECONDARY.into_iter().filter(|f| !served(*f)).collect(),
        }
    }

    /// The daemon that serves `family` when this one does not.
    fn daemon_for(&self, family: Family) -> Option<&'static str> {
        if !self.families.contains(&family) {
            return None;
        }
        daemon_for_scheme(family.label())
    }
}

/// One family's link: being opened (with what waits for it), or open.
enum Slot {
    Opening {
        attempt: u64,
        queue: Vec<(Header, Vec<u8>)>,
    },
    Open(ProxyLink),
}

/// A session's links to the secondary drivers' daemons.
#[derive(Clone, Default)]
pub struct Links(Arc<Mutex<HashMap<Family, Slot>>>);

static ATTEMPTS: AtomicU64 = AtomicU64::new(0);

/// What became of a message handed to [`Links::push`].
enum Pushed {
    Relayed,
    /// No link yet: a worker is to open one (this attempt).
    Open(u64),
    /// Neither relayed nor queued (a stream packet without a link).
    NoLink,
    /// The link or its queue is full.
    Backlog,
    /// The daemon went away just now.
    Gone,
}

impl Links {
    fn lock(&self) -> MutexGuard<'_, HashMap<Family, Slot>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a link holds back so much of the client's input that the
    /// session should stop reading.
    pub fn input_full(&self) -> bool {
        self.lock().values().any(|slot| match slot {
            Slot::Open(link) => link.input_full(),
            Slot::Opening { queue, .. } => queue.len() >= OPENING_QUEUE,
        })
    }

    /// Closes every link (CONNECT_CLOSE, the client went away).
    pub fn close(&self) {
        self.lock().clear();
    }

    /// Relays or queues one message of `family`; only a call opens a link.
    fn push(&self, family: Family, header: &Header, bytes: Vec<u8>, call: bool) -> Pushed {
        let mut links = self.lock();
        match links.get_mut(&family) {
            Some(Slot::Open(link)) if !link.is_dead() => match link.forward(header, bytes) {
                Ok(()) => Pushed::Relayed,
                Err(super::link::ForwardError::Backlog) => Pushed::Backlog,
                // Gone between the check and the send: the next call reopens.
                Err(super::link::ForwardError::Gone) => {
                    links.remove(&family);
                    Pushed::Gone
                }
            },
            Some(Slot::Opening { queue, .. }) => {
                if queue.len() >= OPENING_QUEUE {
                    return Pushed::Backlog;
                }
                queue.push((*header, bytes));
                Pushed::Relayed
            }
            _ if !call => Pushed::NoLink,
            _ => {
                let attempt = ATTEMPTS.fetch_add(1, Ordering::Relaxed);
                links.insert(
                    family,
                    Slot::Opening {
                        attempt,
                        queue: vec![(*header, bytes)],
                    },
                );
                Pushed::Open(attempt)
            }
        }
    }

    /// A worker finished opening `family`'s link: what waited is relayed,
    /// or each waiting call gets the reason it could not be.
    fn opened(
        &self,
        family: Family,
        attempt: u64,
        result: Result<ProxyLink, handshake::HandshakeError>,
        client: &OutgoingSender,
    ) {
        let mut links = self.lock();
        let queue = match links.get_mut(&family) {
            Some(Slot::Opening { attempt: a, queue }) if *a == attempt => std::mem::take(queue),
            // Closed meanwhile: nothing waits for this link any more.
            _ => return,
        };
        match result {
            Ok(link) => {
                for (header, bytes) in queue {
                    if link.forward(&header, bytes).is_err() && is_call(&header) {
                        let error = super::link::peer_gone_error();
                        let reply = crate::dispatch::error_reply(&header, &error);
                        let _ = client.send(Outgoing::CallDone(reply));
                    }
                }
                links.insert(family, Slot::Open(link));
            }
            Err(e) => {
                links.remove(&family);
                for (header, _) in queue.iter().filter(|(h, _)| is_call(h)) {
                    let reply = super::handshake_failure(header, &e);
                    let _ = client.send(Outgoing::CallDone(reply));
                }
            }
        }
    }
}

fn is_call(h: &Header) -> bool {
    matches!(
        h.message_type(),
        Some(MessageType::Call) | Some(MessageType::CallWithFds)
    )
}

/// A call of a secondary driver's family on a hypervisor connection of
/// virtqemud or virtlxcd: relayed to that driver's daemon. `None` when this
/// daemon serves the call itself.
pub fn relay_call(
    daemon: &Daemon,
    session: &mut Session,
    h: &Header,
    body: &[u8],
    family: Family,
) -> Option<Action> {
    let targets = daemon.secondary.as_ref()?;
    if !matches!(session.scheme, "qemu" | "lxc") {
        return None;
    }
    let name = targets.daemon_for(family)?;
    // Descriptors are not passed on (no procedure served here takes any).
    let header = Header {
        mtype: MessageType::Call as u32,
        ..*h
    };
    let sender = session.sender();
    let _ = sender.send(Outgoing::CallForwarded);
    match session
        .secondary
        .push(family, &header, encode_message(&header, body), true)
    {
        Pushed::Relayed | Pushed::NoLink => Some(Action::Nothing),
        Pushed::Backlog => Some(backlog(&sender)),
        Pushed::Gone => {
            let error = super::link::peer_gone_error();
            let reply = crate::dispatch::error_reply(&header, &error);
            let _ = sender.send(Outgoing::CallDone(reply));
            Some(Action::Nothing)
        }
        Pushed::Open(attempt) => Some(open(daemon, targets, session, h, (family, name), attempt)),
    }
}

/// A stream packet of a stream a secondary driver's daemon holds (an upload
/// or download of a volume): relayed on that family's link. `None` when no
/// such link exists.
pub fn relay_stream(session: &mut Session, h: &Header, body: &[u8]) -> Option<Action> {
    if h.prog != REMOTE_PROGRAM {
        return None;
    }
    let family = remote_proc::info(h.proc_)?.family;
    if !SECONDARY.contains(&family) {
        return None;
    }
    let sender = session.sender();
    match session
        .secondary
        .push(family, h, encode_message(h, body), false)
    {
        Pushed::Relayed | Pushed::Gone => Some(Action::Nothing),
        Pushed::Backlog => Some(backlog(&sender)),
        Pushed::NoLink | Pushed::Open(_) => None,
    }
}

/// A client that sends faster than the linked daemon takes: disconnected,
/// as virtproxyd does.
fn backlog(sender: &OutgoingSender) -> Action {
    let _ = sender.send(Outgoing::Disconnect(
        "a secondary driver's daemon does not take more messages",
    ));
    Action::Nothing
}

/// The worker that opens `family`'s link for `session`.
fn open(
    daemon: &Daemon,
    targets: &SecondaryTargets,
    session: &mut Session,
    h: &Header,
    (family, name): (Family, &'static str),
    attempt: u64,
) -> Action {
    let scheme = family.label();
    let suffix = if session.read_only {
        "-sock-ro"
    } else {
        "-sock"
    };
    let socket = targets.sock_dir.join(format!("{name}{suffix}"));
    let instance = if targets.privileged {
        "system"
    } else {
        "session"
    };
    let args = ConnectOpenArgs {
        name: Some(format!("{scheme}:///{instance}")),
        flags: if session.read_only { CONNECT_RO } else { 0 },
    };
    // The read-only socket takes no identity (it is a privileged call).
    let identity = (!session.read_only).then(|| super::client_identity(daemon, session));
    let keepalive: Keepalive = super::link_keepalive(daemon);
    let links = session.secondary.clone();
    let client = session.sender();
    Action::Job(Job {
        header: *h,
        run: Box::new(move || {
            let result = backend(&socket, &args, identity).and_then(|stream| {
                let loss = PeerLoss::FailOwed(Arc::new(Owed::default()));
                ProxyLink::start(stream, client.clone(), name.to_string(), keepalive, loss)
                    .map_err(|e| handshake::HandshakeError::Other(e.to_string()))
            });
            match &result {
                Ok(_) => debug!(daemon = name, "secondary driver linked"),
                Err(e) => debug!(daemon = name, ?e, "secondary driver not linked"),
            }
            links.opened(family, attempt, result, &client);
            // The calls' own replies come from the link (or `opened`).
            Vec::new()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::programs::remote_proc as p;

    fn routed(proc_: i32) -> bool {
        SECONDARY.contains(&p::info(proc_).expect("a row").family)
    }

    #[test]
    fn connect_level_calls_of_the_families_are_routed() {
        for proc_ in [
            p::CONNECT_LIST_ALL_NETWORKS,
            p::CONNECT_NETWORK_EVENT_REGISTER_ANY,
            p::CONNECT_NETWORK_EVENT_DEREGISTER_ANY,
            p::NODE_LIST_DEVICES,
            p::NODE_NUM_OF_DEVICES,
            p::CONNECT_FIND_STORAGE_POOL_SOURCES,
            p::CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY,
            p::CONNECT_LIST_ALL_SECRETS,
            p::CONNECT_SECRET_EVENT_REGISTER_ANY,
            p::CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY,
            p::CONNECT_LIST_ALL_NWFILTERS,
            p::CONNECT_LIST_ALL_INTERFACES,
            p::STORAGE_VOL_UPLOAD,
            p::STORAGE_VOL_DOWNLOAD,
        ] {
            assert!(routed(proc_), "{:?}", p::name(proc_));
        }
    }

    /// Every call of the secondary drivers' public API is routed, and no
    /// call of the domain API is.
    #[test]
    fn routing_follows_the_public_api() {
        const SECONDARY_APIS: [&str; 10] = [
            "virNetwork",
            "virConnectListAllNetworks",
            "virStorage",
            "virSecret",
            "virNodeDevice",
            "virNWFilter",
            "virInterface",
            "virConnectListAllStoragePools",
            "virConnectListAllSecrets",
            "virConnectListAllNodeDevices",
        ];
        for row in p::ROWS {
            let family_routed = SECONDARY.contains(&row.family);
            if SECONDARY_APIS.iter().any(|a| row.api.starts_with(a)) {
                assert!(family_routed, "{} {}", row.name, row.api);
            }
            if row.api.starts_with("virDomain") {
                assert!(!family_routed, "{} {}", row.name, row.api);
            }
        }
    }

    #[test]
    fn a_daemon_routes_only_what_it_does_not_serve() {
        let targets =
            SecondaryTargets::new(PathBuf::from("/run/libvirt"), true, |f| f == Family::Secret);
        assert_eq!(targets.daemon_for(Family::Network), Some("virtnetworkd"));
        assert_eq!(targets.daemon_for(Family::Storage), Some("virtstoraged"));
        assert_eq!(targets.daemon_for(Family::Nodedev), Some("virtnodedevd"));
        assert_eq!(targets.daemon_for(Family::Nwfilter), Some("virtnwfilterd"));
        assert_eq!(
            targets.daemon_for(Family::Interface),
            Some("virtinterfaced")
        );
        assert_eq!(targets.daemon_for(Family::Secret), None);
        assert_eq!(targets.daemon_for(Family::Domain), None);
        assert_eq!(targets.daemon_for(Family::Connect), None);
    }
}
