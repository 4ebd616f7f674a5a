//! The network, storage and secret drivers of another daemon, as the qemu and
//! lxc drivers of `virtqemud` and `virtlxcd` reach them: each use opens a client
//! connection to that daemon's socket (`network:///system` on `virtnetworkd-sock`,
//! ...) and makes the public calls libvirt's drivers make there. A connection per
//! use keeps this working across restarts (and socket activation) of the peer.

mod network;
mod secret;
mod storage;

use std::path::{Path, PathBuf};
use std::time::Duration;

use client::{Client, ClientError};
use drivers::api::{codes, DriverError};

pub use network::PeerNetwork;
pub use secret::PeerSecrets;
pub use storage::PeerStorage;

/// How long one call to a peer daemon may take.
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a peer daemon listens and which URI it serves.
#[derive(Clone, Debug)]
pub struct PeerSocket {
    pub path: PathBuf,
    pub uri: &'static str,
}

impl PeerSocket {
    /// The read-write socket of `daemon` (e.g. `virtnetworkd`) in `sock_dir`, for
    /// `uri`; the session daemons use the `session` URIs.
    pub fn new(
        sock_dir: &Path,
        daemon: &str,
        system_uri: &'static str,
        session_uri: &'static str,
    ) -> Self {
        let privileged = nix::unistd::geteuid().is_root();
        PeerSocket {
            path: sock_dir.join(format!("{daemon}-sock")),
            uri: if privileged { system_uri } else { session_uri },
        }
    }

    /// A connection with the driver opened.
    fn open(&self) -> Result<Client, DriverError> {
        let mut client = Client::connect_unix(&self.path).map_err(|e| self.error(e))?;
        client.set_read_timeout(Some(PEER_TIMEOUT));
        client.open(Some(self.uri), 0).map_err(|e| self.error(e))?;
        Ok(client)
    }

    /// The peer's own error, or libvirt's text for a socket that does not answer.
    fn error(&self, e: ClientError) -> DriverError {
        if let Some(remote) = e.remote() {
            return DriverError {
                code: remote.code,
                domain: remote.domain,
                message: remote.message.clone().unwrap_or_default(),
                str1: remote.str1.clone(),
                str2: remote.str2.clone(),
                int1: remote.int1,
                int2: remote.int2,
            };
        }
        let detail = match &e {
            ClientError::Connect { source, .. } => format!(
                "Failed to connect socket to '{}': {}",
                self.path.display(),
                io_text(source)
            ),
            other => other.to_string(),
        };
        let mut error = DriverError::new(
            codes::SYSTEM_ERROR,
            protocol::error::domains::RPC,
            detail.clone(),
        );
        error.message = detail;
        error.str1 = Some("%s".into());
        error
    }
}

/// An I/O error as libvirt prints `strerror` (without Rust's "(os error N)").
fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Closes the connection politely; a failure there changes nothing.
fn close(mut client: Client) {
    let _ = client.close();
}
