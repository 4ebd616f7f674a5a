//! Tunnelled migration (`virsh migrate --p2p --tunnelled`): the guest's state
//! travels inside the daemons' own connection, as the data of the stream that
//! `virDomainMigratePrepareTunnel3Params` opens.
//!
//! On the destination the stream relays into a socket QEMU reads the guest
//! from; on the source a thread copies what QEMU writes into stream messages.
//! Both directions hold at most one chunk here: the source's writes block
//! while the destination has [`STREAM_INPUT_LIMIT`](crate::dispatch::streams::STREAM_INPUT_LIMIT)
//! bytes waiting for its QEMU, and QEMU's writes block in turn.

use std::io::Read;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use client::{Client, ClientError};
use drivers::api::Connection;
use protocol::error::{codes, domains, RemoteError};
use protocol::frame::encode_message;
use protocol::header::{Header, MessageType, Status};
use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
use protocol::remote::*;

use super::tuning::driver_params;
use super::{reply_err, Action, Job, Session};
use crate::dispatch::reply::{error_reply, from_driver, ok_reply, rpc_error};
use crate::server::client::Outgoing;

/// How long the destination may take to confirm the end of the stream.
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);

/// The destination's `virDomainMigratePrepareTunnel3Params`.
pub fn prepare(
    session: &mut Session,
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: DomainMigratePrepareTunnel3ParamsArgs,
) -> Action {
    if session.streams.is_open(h.serial) {
        return reply_err(
            h,
            rpc_error(codes::RPC, "a stream with this serial is already open"),
        );
    }
    let pending = session.streams.reserve(h.serial);
    let out = session.sender();
    let runtime = tokio::runtime::Handle::current();
    let conn = Arc::clone(conn);
    let header = *h;
    let run = move || {
        let prepared = driver_params(a.params).and_then(|params| {
            let (step, socket) = conn
                .migrate_prepare_tunnel(&params, &a.cookie_in.0, a.flags)
                .map_err(from_driver)?;
            let stream = pending.attach(socket, &runtime).map_err(|e| {
                rpc_error(
                    codes::INTERNAL_ERROR,
                    &format!("internal error: cannot relay the migration: {e}"),
                )
            })?;
            Ok((step, stream))
        });
        match prepared {
            Ok((step, stream)) => {
                let ret = DomainMigratePrepareTunnel3ParamsRet {
                    cookie_out: Opaque(step.cookie),
                };
                let _ = out.send(Outgoing::Message(ok_reply(&header, &ret)));
                stream.relay(&header, out);
                Vec::new()
            }
            Err(e) => error_reply(&header, &e),
        }
    };
    Action::Job(Job {
        header,
        run: Box::new(run),
    })
}

/// The source's side of an open tunnel: the stream's serial on the peer.
pub struct Tunnel {
    serial: u32,
}

fn stream_header(serial: u32, status: Status) -> Header {
    let mut header = Header::new(
        REMOTE_PROGRAM,
        p::DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS,
        MessageType::Stream,
        serial,
    );
    header.status = status as u32;
    header
}

fn peer_failed(e: impl std::fmt::Display) -> RemoteError {
    RemoteError::new(
        codes::OPERATION_FAILED,
        domains::QEMU,
        format!("operation failed: migration tunnel to the destination failed: {e}"),
    )
}

impl Tunnel {
    /// Calls prepare on the peer, which opens the stream.
    pub fn open(
        peer: &mut Client,
        args: &DomainMigratePrepareTunnel3ParamsArgs,
    ) -> Result<(Tunnel, Vec<u8>), ClientError> {
        let serial = peer.send_call(
            REMOTE_PROGRAM,
            p::DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS,
            &protocol::xdr::to_bytes(args),
        )?;
        let body = match peer.wait_reply(serial)? {
            client::Reply::Ok(body) => body,
            client::Reply::Err(e) => return Err(ClientError::Remote(e)),
        };
        let ret: DomainMigratePrepareTunnel3ParamsRet = protocol::xdr::from_bytes_exact(&body)?;
        Ok((Tunnel { serial }, ret.cookie_out.0))
    }

    /// Copies what QEMU writes into `from_qemu` to the peer until QEMU closes
    /// it (or the source gives up: [`Shutdown::Read`] on a clone). A failed
    /// send closes `from_qemu`, which fails QEMU's migration.
    pub fn pump(&self, peer: &mut Client, mut from_qemu: UnixStream) -> Result<u64, RemoteError> {
        let header = stream_header(self.serial, Status::Continue);
        let mut buf = vec![0u8; STREAM_CHUNK_MAX];
        let mut total = 0u64;
        loop {
            let n = match from_qemu.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(peer_failed(e)),
            };
            peer.send_bytes(&encode_message(&header, &buf[..n]))
                .map_err(peer_failed)?;
            total += n as u64;
        }
    }

    /// Ends the stream after the guest went: the peer confirms that it had
    /// all of it.
    pub fn finish(self, peer: &mut Client) -> Result<(), RemoteError> {
        let header = stream_header(self.serial, Status::Ok);
        peer.send_bytes(&encode_message(&header, &[]))
            .map_err(peer_failed)?;
        let deadline = Instant::now() + FINISH_TIMEOUT;
        while Instant::now() < deadline {
            let message = peer
                .next_event()
                .map_err(peer_failed)?
                .ok_or_else(|| peer_failed("the destination closed the connection"))?;
            let h = message.header;
            if h.serial != self.serial || h.message_type() != Some(MessageType::Stream) {
                continue;
            }
            if h.status == Status::Ok as u32 {
                return Ok(());
            }
            if h.status == Status::Error as u32 {
                return Err(protocol::xdr::from_bytes::<RemoteError>(&message.body)
                    .unwrap_or_else(|_| peer_failed("the destination aborted the stream")));
            }
        }
        Err(peer_failed("the destination did not confirm the stream"))
    }

    /// Ends the stream after a failure: the destination's QEMU sees the end
    /// of its input.
    pub fn abort(self, peer: &mut Client) {
        let header = stream_header(self.serial, Status::Error);
        let error = peer_failed("the source cancelled the migration");
        let _ = peer.send_bytes(&encode_message(&header, &protocol::xdr::to_bytes(&error)));
    }
}

/// Shuts the daemon's end of QEMU's tunnel, so that a pump still reading it
/// stops.
pub fn stop_reading(socket: &UnixStream) {
    let _ = socket.shutdown(Shutdown::Read);
}
