//! From a decoded message to a reply: program routing, the authentication gate,
//! decoding through the procedure table, the read-only check, and the
//! procedure handlers (one exhaustive match per program).

mod access;
pub mod admin;
mod remote;
mod reply;
mod streams;
pub(crate) mod vol_streams;

use std::sync::Arc;

use drivers::api::{
    Connection, InterfaceConnection, NetworkConnection, NodeDeviceConnection, SecretConnection,
    StorageConnection,
};
use protocol::error::codes;
use protocol::header::{Header, MessageType, Status};
use protocol::programs::{
    ADMIN_PROGRAM, LXC_PROGRAM, PROTOCOL_VERSION, QEMU_PROGRAM, REMOTE_PROGRAM,
};

use crate::context::Daemon;
use crate::server::client::OutgoingSender;
use crate::server::registry::ClientInfo;
use crate::server::ServiceKind;

pub use access::not_supported;
pub use reply::{error_reply, from_driver, rpc_error};

/// A call that may block (starting a guest, probing the host): it runs on a
/// worker thread and its reply comes back through the session's channel.
pub struct Job {
    pub header: Header,
    pub run: Box<dyn FnOnce() -> Vec<u8> + Send + 'static>,
}

/// What the session loop does with a message.
pub enum Action {
    Nothing,
    Reply(Vec<u8>),
    Job(Job),
}

/// Per-client protocol state.
pub struct Session {
    pub info: ClientInfo,
    pub kind: ServiceKind,
    pub authenticated: bool,
    pub read_only: bool,
    pub conn: Option<Arc<dyn Connection>>,
    /// The network driver reached through this connection (none on test:///).
    pub network: Option<Arc<dyn NetworkConnection>>,
    /// The storage driver's side of the connection (none on test:///).
    pub storage: Option<Arc<dyn StorageConnection>>,
    /// The secret driver's side of the connection (none on test:///).
    pub secret: Option<Arc<dyn SecretConnection>>,
    /// The node device driver's side of the connection (none on test:///).
    pub nodedev: Option<Arc<dyn NodeDeviceConnection>>,
    /// The host interface driver's side of the connection (none on test:///).
    pub interface: Option<Arc<dyn InterfaceConnection>>,
    pub scheme: &'static str,
    pub keepalive_requested: bool,
    pub keepalive_armed: bool,
    /// Set once CONNECT_CLOSE was answered: the loop writes the reply and hangs up.
    pub closing: bool,
    pub admin_open: bool,
    /// Start time of the local peer process, read when the session begins so
    /// that a polkit check names the process that connected, not a later
    /// one that reused its pid.
    pub peer_start_time: Option<u64>,
    /// Where messages for this client go outside a call's own reply; set by
    /// the session once its connection is set up.
    sender: Option<OutgoingSender>,
    /// Streams opened by this client's calls (consoles).
    pub streams: streams::StreamTable,
    /// virtproxyd: the per-driver daemon this client is forwarded to.
    pub proxy_link: crate::proxy::LinkSlot,
    /// Another daemon of this host presented the system identity token
    /// (CONNECT_SET_IDENTITY): its calls are the daemons' own.
    pub system_identity: bool,
    /// The identity a proxy set for this connection (CONNECT_SET_IDENTITY),
    /// passed on to the secondary drivers' daemons.
    pub identity: Option<Vec<protocol::typed_param::TypedParam>>,
    /// virtqemud, virtlxcd: links to the secondary drivers' daemons, opened
    /// on a hypervisor connection's first call of their family.
    pub secondary: crate::proxy::secondary::Links,
    /// Descriptors passed with the call being handled (CALL_WITH_FDS); a
    /// handler takes those it uses, the rest are closed after it returns.
    pub fds: Vec<std::os::fd::OwnedFd>,
}

impl Session {
    pub fn new(info: ClientInfo, kind: ServiceKind, authenticated: bool) -> Self {
        let asks_polkit = kind.auth == crate::server::AuthScheme::Polkit
            && info.transport == crate::server::registry::Transport::Unix;
        let peer_start_time = if asks_polkit {
            info.peer_pid.and_then(crate::polkit::process_start_time)
        } else {
            None
        };
        Session {
            read_only: kind.read_only,
            info,
            kind,
            authenticated,
            conn: None,
            network: None,
            storage: None,
            secret: None,
            nodedev: None,
            interface: None,
            scheme: "",
            keepalive_requested: false,
            keepalive_armed: false,
            closing: false,
            admin_open: false,
            peer_start_time,
            sender: None,
            streams: streams::StreamTable::default(),
            proxy_link: Default::default(),
            system_identity: false,
            identity: None,
            secondary: Default::default(),
            fds: Vec::new(),
        }
    }

    /// The client has proven who it is: it stops counting as anonymous and
    /// a full accept loop may take the next client.
    pub fn mark_authenticated(&mut self, server: &crate::server::Server) {
        if !self.authenticated {
            self.authenticated = true;
            server.clients.authenticated();
            server.capacity_freed.notify_waiters();
        }
    }

    /// Whether input waits for a stream's guest or for another daemon a
    /// link forwards to: the session then stops reading the client.
    pub fn input_full(&self) -> bool {
        self.streams.input_full()
            || self.secondary.input_full()
            || self
                .proxy_link
                .lock()
                .is_ok_and(|l| l.as_ref().is_some_and(|l| l.input_full()))
    }

    /// Connects the session to its client's outgoing queue.
    pub fn attach_sender(&mut self, sender: OutgoingSender) {
        self.sender = Some(sender);
    }

    /// Where replies of worker-thread calls, event messages and stream data
    /// for this client go (nowhere for a session without a connection).
    pub fn sender(&mut self) -> OutgoingSender {
        self.sender.clone().unwrap_or_else(OutgoingSender::detached)
    }

    /// Releases what the session holds: event registrations and the driver connection.
    pub fn finish(&mut self, daemon: &Daemon) {
        daemon.events.forget_client(self.info.id);
        daemon.network_events.forget_client(self.info.id);
        if let Some(network) = self.network.take() {
            network.close();
        }
        daemon.storage_events.forget_client(self.info.id);
        self.storage = None;
        daemon.secret_events.forget_client(self.info.id);
        daemon.nodedev_events.forget_client(self.info.id);
        if let Ok(mut link) = self.proxy_link.lock() {
            link.take();
        }
        self.secondary.close();
        self.secret = None;
        self.nodedev = None;
        self.interface = None;
        if let Some(conn) = self.conn.take() {
            conn.close();
        }
    }
}

/// Handles one non-keepalive message from the client.
pub fn handle_message(
    daemon: &Arc<Daemon>,
    session: &mut Session,
    header: &Header,
    body: &[u8],
) -> Action {
    // virtproxyd: once the client is forwarded, every message goes through.
    if let Some(action) = crate::proxy::relay(session, header, body) {
        return action;
    }
    let call = matches!(
        header.message_type(),
        Some(MessageType::Call) | Some(MessageType::CallWithFds)
    );
    if !call {
        if matches!(
            header.message_type(),
            Some(MessageType::Stream) | Some(MessageType::StreamHole)
        ) {
            // Data of a stream a secondary driver's daemon opened.
            if let Some(action) = crate::proxy::secondary::relay_stream(session, header, body) {
                return action;
            }
            if let Some(reply) = session.streams.incoming(header, body) {
                return Action::Reply(reply);
            }
        }
        // Replies, stray stream packets and unknown types from a client are
        // ignored, as libvirtd does: no answer, no disconnect.
        return Action::Nothing;
    }
    if header.status != Status::Ok as u32 {
        let msg = format!("Unexpected message status {}", header.status);
        return Action::Reply(error_reply(header, &rpc_error(codes::RPC, &msg)));
    }
    let served = if session.kind.admin {
        header.prog == ADMIN_PROGRAM
    } else {
        matches!(header.prog, REMOTE_PROGRAM | QEMU_PROGRAM | LXC_PROGRAM)
    };
    if !served || header.vers != PROTOCOL_VERSION {
        let msg = format!(
            "Cannot find program {} version {}",
            header.prog, header.vers
        );
        return Action::Reply(error_reply(header, &rpc_error(codes::RPC, &msg)));
    }
    let body = if header.message_type() == Some(MessageType::CallWithFds) {
        // The descriptor count word precedes the arguments; the session
        // put the descriptors themselves in `session.fds`.
        body.get(4..).unwrap_or(&[])
    } else {
        body
    };
    match header.prog {
        ADMIN_PROGRAM => admin::handle(daemon, session, header, body),
        REMOTE_PROGRAM => remote::handle(daemon, session, header, body),
        QEMU_PROGRAM => remote::qemu_program::handle(daemon, session, header, body),
        // LXC_PROGRAM: the only other program that passed the check above.
        _ => remote::qemu_program::handle_lxc(session, header, body),
    }
}

/// The libvirt version this daemon answers as (9.0.0).
pub fn remote_lib_version() -> u64 {
    remote::LIB_VERSION
}
