//! One connection of libvirt-guests to one driver of one daemon: the client
//! crate's connection, opened as the URI says and closed politely on drop.
//! libvirt-guests makes a handful of calls per guest, one at a time.

use client::{ServerCheck, TlsConfig};
use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
use protocol::Xdr;

pub use client::ClientError;

use super::target::{Target, Transport};

/// An open connection to one driver of one daemon.
pub struct Client {
    inner: client::Client,
}

impl Client {
    /// Dials the daemon, authenticates (none or polkit) and opens the driver.
    pub fn open(target: &Target) -> Result<Client, ClientError> {
        let mut inner = match &target.transport {
            Transport::Unix(path) => client::Client::connect_unix(path)?,
            Transport::Tcp { host, port } => client::Client::connect_tcp(host, *port)?,
            Transport::Tls {
                host,
                port,
                pki,
                verify_server,
            } => {
                let check = if *verify_server {
                    ServerCheck::Verify
                } else {
                    ServerCheck::AcceptAny
                };
                let config = TlsConfig::new(pki, check, true)?;
                client::Client::connect_tls((host.as_str(), *port), host, &config)?
            }
        };
        inner.open(target.open_name.as_deref(), 0)?;
        Ok(Client { inner })
    }

    /// Sends one call of the remote program and waits for its reply.
    pub fn call<A: Xdr, R: Xdr>(&mut self, proc_: i32, args: &A) -> Result<R, ClientError> {
        self.inner.call(REMOTE_PROGRAM, proc_, args)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // A polite goodbye; the daemon copes with a plain hang-up too.
        let _ = self
            .inner
            .call::<_, ()>(REMOTE_PROGRAM, p::CONNECT_CLOSE, &());
    }
}
