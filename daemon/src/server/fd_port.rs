//! File descriptors passed over a client's unix socket (SCM_RIGHTS), as
//! libvirt frames them: each descriptor travels alone, attached to one data
//! byte (0x00) that follows the whole message it belongs to.
//!
//! [`UnixFdStream`] is the unix transport of a session. Reading, it uses
//! `recvmsg` and files every descriptor that arrives under the stream offset
//! of the byte that carried it; the kernel ends a read after such a byte, so
//! that byte is the last one the read returned. Writing, it sends the byte at
//! an offset registered with [`FdPort::send_at`] with its descriptor
//! attached. The session and the outbox see only bytes and offsets.

use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::UnixStream;

/// Descriptors one `recvmsg` can take; more are closed by the kernel.
const FDS_PER_READ: usize = protocol::frame::NUM_FDS_MAX as usize;

/// Received descriptors not yet claimed by a message; beyond this the
/// newest are closed (the message that wanted them then fails).
const MAX_UNCLAIMED: usize = 2 * protocol::frame::NUM_FDS_MAX as usize;

/// The descriptors a session received and has to send, by stream offset.
#[derive(Default)]
pub struct FdPort {
    state: Mutex<PortState>,
}

#[derive(Default)]
struct PortState {
    /// Bytes read from the socket so far.
    read_total: u64,
    /// Received descriptors, each with the offset of the byte that carried it.
    received: VecDeque<(u64, OwnedFd)>,
    /// Bytes written to the socket so far.
    written_total: u64,
    /// Descriptors to send, each with the offset of its carrier byte.
    to_send: VecDeque<(u64, OwnedFd)>,
}

impl FdPort {
    fn lock(&self) -> MutexGuard<'_, PortState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes read from the socket so far.
    pub fn read_total(&self) -> u64 {
        self.lock().read_total
    }

    /// Takes the descriptors carried by the bytes at `offsets`, one each;
    /// descriptors that came with earlier bytes were not asked for and are
    /// closed. `None` when a carrier byte came without its descriptor (the
    /// descriptors taken so far are closed too).
    pub fn claim(&self, offsets: std::ops::Range<u64>) -> Option<Vec<OwnedFd>> {
        let mut s = self.lock();
        s.received.retain(|(at, _)| *at >= offsets.start);
        let mut fds = Vec::with_capacity((offsets.end - offsets.start) as usize);
        for at in offsets {
            match s.received.front() {
                Some((got, _)) if *got == at => {
                    fds.push(s.received.pop_front()?.1);
                }
                _ => return None,
            }
        }
        Some(fds)
    }

    /// Closes descriptors that came with bytes before `offset` (attached to
    /// message bytes, where nobody looks for them).
    pub fn drop_before(&self, offset: u64) {
        let mut s = self.lock();
        if s.received.front().is_some_and(|(at, _)| *at < offset) {
            s.received.retain(|(at, _)| *at >= offset);
        }
    }

    /// Files what a read outside [`UnixFdStream`] returned: `n` bytes, the
    /// last of which carried `fds`.
    pub fn record(&self, n: usize, fds: Vec<OwnedFd>) {
        let mut s = self.lock();
        s.read_total += n as u64;
        let at = s.read_total.saturating_sub(1);
        for fd in fds {
            if n > 0 && s.received.len() < MAX_UNCLAIMED {
                s.received.push_back((at, fd));
            }
        }
    }

    /// Sends `fd` attached to the byte at stream offset `offset` (a 0x00 the
    /// caller puts there).
    pub fn send_at(&self, offset: u64, fd: OwnedFd) {
        self.lock().to_send.push_back((offset, fd));
    }
}

/// A client's unix socket that carries descriptors; see the module docs.
pub struct UnixFdStream {
    inner: UnixStream,
    port: Arc<FdPort>,
}

impl UnixFdStream {
    pub fn new(inner: UnixStream) -> (UnixFdStream, Arc<FdPort>) {
        let port = Arc::new(FdPort::default());
        (
            UnixFdStream {
                inner,
                port: port.clone(),
            },
            port,
        )
    }
}

fn receive(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut space = nix::cmsg_space!([RawFd; FDS_PER_READ]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(fd, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(io::Error::from)?;
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(raw) = cmsg {
            // SAFETY: the kernel just installed these descriptors in this
            // process for us; nothing else owns them.
            fds.extend(raw.into_iter().map(|r| unsafe { OwnedFd::from_raw_fd(r) }));
        }
    }
    Ok((msg.bytes, fds))
}

/// Reads from `stream` into `buf` with `recvmsg`, returning the byte count
/// and the descriptors that came with them.
pub async fn read_with_fds(
    stream: &UnixStream,
    buf: &mut [u8],
) -> io::Result<(usize, Vec<OwnedFd>)> {
    let raw = stream.as_raw_fd();
    loop {
        stream.readable().await?;
        match stream.try_io(Interest::READABLE, || receive(raw, buf)) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}

/// Sends `fd` on its own carrier byte (0x00), as libvirt passes each one.
pub async fn send_carrier(stream: &UnixStream, fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    let raw = stream.as_raw_fd();
    let rights = [fd.as_raw_fd()];
    loop {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            sendmsg::<()>(
                raw,
                &[IoSlice::new(&[0])],
                &[ControlMessage::ScmRights(&rights)],
                MsgFlags::MSG_NOSIGNAL,
                None,
            )
            .map_err(io::Error::from)
        });
        match sent {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

impl AsyncRead for UnixFdStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.inner.poll_read_ready(cx))?;
            let raw = this.inner.as_raw_fd();
            // SAFETY: recvmsg writes at most `remaining` initialised bytes
            // into the unfilled part, which `assume_init` below covers.
            let unfilled = unsafe { &mut *(buf.unfilled_mut() as *mut [_] as *mut [u8]) };
            match this
                .inner
                .try_io(Interest::READABLE, || receive(raw, unfilled))
            {
                Ok((n, fds)) => {
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    this.port.record(n, fds);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for UnixFdStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut s = this.port.lock();
        let written = s.written_total;
        let next_fd = s.to_send.front().map(|(at, _)| *at);
        match next_fd {
            Some(at) if at == written => {
                let raw = this.inner.as_raw_fd();
                loop {
                    ready!(this.inner.poll_write_ready(cx))?;
                    let fd = s.to_send.front().map(|(_, fd)| fd.as_raw_fd());
                    let Some(fd) = fd else {
                        return Poll::Ready(Err(io::ErrorKind::InvalidData.into()));
                    };
                    let carrier = [IoSlice::new(&buf[..1])];
                    let rights = [fd];
                    let sent = this.inner.try_io(Interest::WRITABLE, || {
                        sendmsg::<()>(
                            raw,
                            &carrier,
                            &[ControlMessage::ScmRights(&rights)],
                            MsgFlags::MSG_NOSIGNAL,
                            None,
                        )
                        .map_err(io::Error::from)
                    });
                    match sent {
                        Ok(n) => {
                            s.to_send.pop_front();
                            s.written_total += n as u64;
                            return Poll::Ready(Ok(n));
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
            }
            Some(at) if at < written => {
                // The carrier byte went out without its descriptor: the
                // stream can no longer be trusted.
                Poll::Ready(Err(io::ErrorKind::InvalidData.into()))
            }
            _ => {
                let limit = next_fd.map_or(buf.len(), |at| buf.len().min((at - written) as usize));
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..limit]))?;
                s.written_total += n as u64;
                Poll::Ready(Ok(n))
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn send_fd(sock: &std::os::unix::net::UnixStream, fd: RawFd) {
        let rights = [fd];
        sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(&[0])],
            &[ControlMessage::ScmRights(&rights)],
            MsgFlags::empty(),
            None,
        )
        .unwrap();
    }

    #[tokio::test]
    async fn descriptors_are_filed_under_their_carrier_byte() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let (mut stream, port) = UnixFdStream::new(UnixStream::from_std(ours).unwrap());
        let (mut peer, theirs) = (theirs.try_clone().unwrap(), theirs);
        peer.write_all(b"hello").unwrap();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        send_fd(&theirs, a.as_raw_fd());
        send_fd(&theirs, a.as_raw_fd());
        let mut got = Vec::new();
        while got.len() < 7 {
            let mut buf = [0u8; 64];
            let n = stream.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(&got, b"hello\0\0");
        assert!(port.claim(5..7).is_some_and(|fds| fds.len() == 2));
        assert!(port.claim(7..8).is_none(), "no third descriptor was sent");
        // Sending: the carrier byte at offset 3 takes the descriptor.
        port.send_at(3, b.as_fd().try_clone_to_owned().unwrap());
        stream.write_all(b"abc\0def").await.unwrap();
        let mut back = [0u8; 7];
        let mut peer_reader = peer;
        peer_reader.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"abc\0def");
    }
}
