//! A daemon context with only the test driver and a session on it, without
//! sockets or threads: for feeding calls to [`crate::dispatch::handle_message`]
//! in-process (the dispatcher's fuzz target).

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock};

use drivers::api::{DriverRegistry, EventSink};
use tokio::sync::mpsc;

use crate::context::Daemon;
use crate::dispatch::Session;
use crate::events::EventHub;
use crate::server::{AuthScheme, ClientInfo, Limits, Server, ServiceKind, Transport};

/// Which socket the session pretends to come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Socket {
    ReadWrite,
    ReadOnly,
    Admin,
}

/// A daemon serving `test:///default` with default limits, no hook scripts
/// and no logging handle; admin requests to the main loop go nowhere.
pub fn test_daemon() -> Arc<Daemon> {
    let events = Arc::new(EventHub::default());
    let hub = events.clone();
    let sink: EventSink = Arc::new(move |ev| hub.publish("test", &ev));
    let mut drivers = DriverRegistry::new();
    drivers.register(Arc::new(drivers::test_driver::TestDriver::new(sink)));
    let (control, _requests) = mpsc::unbounded_channel();
    Arc::new(Daemon {
        drivers,
        events,
        network_events: Default::default(),
        storage_events: Arc::default(),
        secret_events: Default::default(),
        nodedev_events: Default::default(),
        proxy: None,
        secondary: None,
        main: Server::new("libvirtd", Limits::default()),
        admin: Server::new("admin", Limits::default()),
        log: None,
        control,
        calls_in_flight: AtomicUsize::new(0),
        tls_reload: OnceLock::new(),
        hooks: hooks::Hooks::discover(Path::new("/nonexistent/libvirt/hooks"), None),
    })
}

/// A session of a local client running as this process's user, already
/// admitted (authentication `none`).
pub fn session(id: u64, socket: Socket) -> Session {
    let (uid, gid, pid) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
        nix::unistd::getpid().as_raw(),
    );
    let read_only = socket == Socket::ReadOnly;
    let info = ClientInfo {
        id,
        connected_at: 0,
        transport: Transport::Unix,
        read_only,
        peer_uid: Some(uid),
        peer_gid: Some(gid),
        peer_pid: Some(pid),
        peer_addr: None,
    };
    let kind = ServiceKind {
        admin: socket == Socket::Admin,
        read_only,
        auth: AuthScheme::None,
        transport: Transport::Unix,
    };
    Session::new(info, kind, true)
}
