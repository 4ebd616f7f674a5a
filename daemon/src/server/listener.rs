//! Listening sockets: created in traditional mode, inherited under socket
//! activation, or handed in by tests. All of them end up as [`Listener`]s
//! served by the same accept loop.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::registry::{ClientDetails, ClientInfo, Transport};
use super::{client, Server, ServiceKind};
use crate::context::Daemon;
use crate::tls::TlsServer;

/// Pause after a failed accept() before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// How long a TLS handshake and its checks may take when `auth_timeout` is 0.
pub const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(60);

/// A listening socket in blocking std form: made before the runtime exists.
#[derive(Debug)]
pub enum Socket {
    Unix(std::os::unix::net::UnixListener),
    Tcp(std::net::TcpListener),
    /// A TCP socket whose clients first pass the TLS handshake, libvirtd's
    /// certificate checks and the confirmation byte (see [`crate::tls`]).
    Tls(std::net::TcpListener, Arc<TlsServer>),
}

pub struct Listener {
    pub socket: Socket,
    pub kind: ServiceKind,
    /// Unlinked on exit: only for socket files this daemon created itself.
    pub unlink_on_exit: Option<PathBuf>,
}

/// Creates a unix socket at `path` (replacing a stale file), with `mode` and
/// optional group, listening with `backlog`.
pub fn bind_unix(
    path: &Path,
    mode: u32,
    gid: Option<u32>,
    backlog: u32,
) -> io::Result<std::os::unix::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => debug!(path = %path.display(), "removed stale socket"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    set_backlog(&listener, backlog)?;
    Ok(listener)
}

/// Binds every address `host:port` resolves to (all addresses when `host` is
/// None, as libvirtd does), each listening with `backlog`.
pub fn bind_tcp(
    host: Option<&str>,
    port: &str,
    backlog: u32,
) -> io::Result<Vec<std::net::TcpListener>> {
    let port: u16 = port.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("Unable to resolve port '{port}'"),
        )
    })?;
    let addrs: Vec<SocketAddr> = match host {
        Some(host) => (host, port).to_socket_addrs()?.collect(),
        None => vec![
            SocketAddr::from(([0u8; 16], port)),
            SocketAddr::from(([0u8; 4], port)),
        ],
    };
    let mut listeners = Vec::new();
    let mut last_err = None;
    for addr in addrs {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => {
                set_backlog(&l, backlog)?;
                listeners.push(l);
            }
            // With no host, [::] is usually dual-stack and 0.0.0.0 then fails: fine.
            Err(e)
                if host.is_none()
                    && e.kind() == io::ErrorKind::AddrInUse
                    && !listeners.is_empty() => {}
            Err(e) => last_err = Some(e),
        }
    }
    match (listeners.is_empty(), last_err) {
        (true, Some(e)) => Err(e),
        (true, None) => Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no address to listen on",
        )),
        _ => Ok(listeners),
    }
}

/// `listen()` again with the configured queue length (`max_queued_clients`).
pub fn set_backlog(fd: impl AsFd, backlog: u32) -> io::Result<()> {
    let backlog = backlog.min(i32::MAX as u32) as i32;
    Ok(rustix::net::listen(fd, backlog)?)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The facts of a client just accepted; unix peer credentials are added by the caller.
fn client_info(
    server: &Server,
    kind: ServiceKind,
    transport: Transport,
    peer: Option<std::net::SocketAddr>,
) -> ClientInfo {
    ClientInfo {
        id: server.clients.next_id(),
        connected_at: now_secs(),
        transport,
        read_only: kind.read_only,
        peer_uid: None,
        peer_gid: None,
        peer_pid: None,
        peer_addr: peer.map(|p| p.to_string()),
    }
}

/// Calls `accept` whenever the server has room and hands each connection to
/// `accepted`, until `shutdown`.
async fn accept_while_room<T, Fut>(
    server: &Server,
    shutdown: &CancellationToken,
    pending: impl Fn() -> usize,
    mut accept: impl FnMut() -> Fut,
    mut accepted: impl FnMut(T),
) where
    Fut: std::future::Future<Output = io::Result<T>>,
{
    loop {
        if !wait_for_room(server, &pending, shutdown).await {
            return;
        }
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = accept() => a,
        };
        match result {
            Ok(connection) => accepted(connection),
            Err(e) => {
                // Out of descriptors (EMFILE, ENFILE) or memory: the
                // pending connection stays in the queue, so retrying at
                // once would spin. Wait for a client to leave.
                warn!("accept failed: {e}");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(ACCEPT_RETRY) => {}
                }
            }
        }
    }
}

/// Accepts clients while the server has room, until `shutdown`.
pub async fn accept_loop(listener: Listener, daemon: Arc<Daemon>, shutdown: CancellationToken) {
    let server = if listener.kind.admin {
        daemon.admin.clone()
    } else {
        daemon.main.clone()
    };
    let kind = listener.kind;
    match listener.socket {
        Socket::Unix(std_listener) => {
            let listener = match to_tokio_unix(std_listener) {
                Ok(l) => l,
                Err(e) => return warn!("cannot serve unix socket: {e}"),
            };
            let accepted = |(stream, _): (tokio::net::UnixStream, _)| {
                let cred = stream.peer_cred().ok();
                let mut info = client_info(&server, kind, Transport::Unix, None);
                info.peer_uid = cred.map(|c| c.uid());
                info.peer_gid = cred.map(|c| c.gid());
                info.peer_pid = cred.and_then(|c| c.pid());
                let details = ClientDetails {
                    security_label: peer_security_label(stream.as_raw_fd()),
                    ..ClientDetails::default()
                };
                server.clients.arriving();
                tokio::spawn(client::serve_unix(
                    stream,
                    daemon.clone(),
                    server.clone(),
                    kind,
                    info,
                    details,
                ));
            };
            accept_while_room(&server, &shutdown, || 0, || listener.accept(), accepted).await
        }
        Socket::Tcp(std_listener) => {
            let listener = match to_tokio_tcp(std_listener) {
                Ok(l) => l,
                Err(e) => return warn!("cannot serve tcp socket: {e}"),
            };
            let accepted = |(stream, peer): (tokio::net::TcpStream, std::net::SocketAddr)| {
                let _ = stream.set_nodelay(true);
                let info = client_info(&server, kind, kind.transport, Some(peer));
                server.clients.arriving();
                tokio::spawn(client::serve(
                    stream,
                    daemon.clone(),
                    server.clone(),
                    kind,
                    info,
                ));
            };
            accept_while_room(&server, &shutdown, || 0, || listener.accept(), accepted).await
        }
        Socket::Tls(std_listener, tls) => {
            accept_tls(std_listener, tls, kind, daemon, server, shutdown).await
        }
    }
}

/// Accepts TCP connections and admits each through TLS in its own task, so
/// a slow or silent peer never holds up the accept loop. Handshakes in
/// progress count as clients still authenticating only when an
/// authentication step (polkit) follows them.
async fn accept_tls(
    std_listener: std::net::TcpListener,
    tls: Arc<TlsServer>,
    kind: ServiceKind,
    daemon: Arc<Daemon>,
    server: Arc<Server>,
    shutdown: CancellationToken,
) {
    let listener = match to_tokio_tcp(std_listener) {
        Ok(l) => l,
        Err(e) => return warn!("cannot serve tls socket: {e}"),
    };
    let accepted = |(stream, peer): (tokio::net::TcpStream, std::net::SocketAddr)| {
        let _ = stream.set_nodelay(true);
        let info = client_info(&server, kind, Transport::Tls, Some(peer));
        let handshake = tls.begin_handshake(peer.ip());
        tokio::spawn(admit_and_serve(
            stream,
            handshake,
            daemon.clone(),
            server.clone(),
            kind,
            info,
        ));
    };
    // With auth_tls = "none" a handshake is bounded by its own table
    // (crate::tls::handshakes), which pushes out old handshakes instead of
    // refusing new ones; counting them as anonymous clients too would let
    // a few silent sockets stop the accept loop for everyone.
    let counted = kind.auth != super::AuthScheme::None;
    let pending = || {
        if counted {
            tls.handshakes_in_progress()
        } else {
            0
        }
    };
    accept_while_room(&server, &shutdown, pending, || listener.accept(), accepted).await
}

async fn admit_and_serve(
    stream: tokio::net::TcpStream,
    handshake: crate::tls::PendingHandshake,
    daemon: Arc<Daemon>,
    server: Arc<Server>,
    kind: ServiceKind,
    info: ClientInfo,
) {
    let peer = info.peer_addr.clone().unwrap_or_default();
    // A handshake holds a slot, so it always has a deadline, even when
    // auth_timeout = 0 lets authentication take forever.
    let timeout = client::auth_timeout().unwrap_or(HANDSHAKE_DEADLINE);
    let admitted = handshake.tls().admit(stream);
    let result = tokio::select! {
        r = tokio::time::timeout(timeout, admitted) => {
            r.unwrap_or(Err(crate::tls::SessionError::Timeout))
        }
        _ = handshake.evicted() => Err(crate::tls::SessionError::Evicted),
    };
    if result.is_ok() {
        server.clients.arriving();
    }
    drop(handshake);
    server.capacity_freed.notify_waiters();
    match result {
        Ok(admitted) => {
            let details = ClientDetails {
                x509_dname: admitted.dname,
                ..ClientDetails::default()
            };
            client::serve_with_details(admitted.stream, daemon, server, kind, info, details).await;
        }
        Err(e) => info!(client = info.id, peer = %peer, "TLS client not admitted: {e}"),
    }
}

/// Waits until `max_clients` and `max_anonymous_clients` allow one more
/// client besides `pending()` ones; meanwhile new connections wait in the
/// listen queue, as in libvirtd.
async fn wait_for_room(
    server: &Server,
    pending: &impl Fn() -> usize,
    shutdown: &CancellationToken,
) -> bool {
    loop {
        let freed = server.capacity_freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        if server.has_room_with_pending(pending()) {
            return true;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = &mut freed => {}
        }
    }
}

/// The peer's security label (SELinux context or AppArmor profile) from
/// `SO_PEERSEC`; None when no security module labels sockets.
fn peer_security_label(fd: i32) -> Option<String> {
    let mut buf = vec![0u8; 256];
    loop {
        let mut len = buf.len() as libc::socklen_t;
        // SAFETY: buf is valid for len bytes and fd is an open socket.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PEERSEC,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc == 0 {
            buf.truncate(len as usize);
            break;
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ERANGE) && (len as usize) > buf.len() {
            buf.resize(len as usize, 0);
            continue;
        }
        return None;
    }
    let label = String::from_utf8_lossy(&buf);
    let label = label.trim_end_matches('\0').trim();
    (!label.is_empty()).then(|| label.to_string())
}

fn to_tokio_unix(l: std::os::unix::net::UnixListener) -> io::Result<tokio::net::UnixListener> {
    l.set_nonblocking(true)?;
    tokio::net::UnixListener::from_std(l)
}

fn to_tokio_tcp(l: std::net::TcpListener) -> io::Result<tokio::net::TcpListener> {
    l.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_label_matches_what_the_kernel_says_about_us() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let ours = std::fs::read_to_string("/proc/self/attr/current")
            .ok()
            .map(|l| l.trim_end_matches('\0').trim().to_string())
            .filter(|l| !l.is_empty());
        assert_eq!(peer_security_label(a.as_raw_fd()), ours);
        assert_eq!(peer_security_label(-1), None, "a bad fd has no label");
    }
}
