//! The connection of one client session and its sending side: a queue
//! bounded in bytes in front of the socket, and a writer task that drains it.
//!
//! Whoever has a message for the client (the session's reader with inline
//! replies and PONGs, a worker with a call's reply, the event hub, a console
//! relay) writes it straight to the socket when nothing is queued, without
//! waking any task. Only what the socket does not take at once is queued, and
//! only then does the writer task exist: most clients never need it. Because
//! no one waits for a write to finish, the reader keeps watching the close
//! request, the auth timeout and keepalive while a peer does not read.
//!
//! Limits: the reader stops reading a client whose queue holds more than
//! [`READ_PAUSE_BYTES`] (its own PINGs and calls then wait in the kernel);
//! events and stream data that would push the queue past
//! [`UNSOLICITED_LIMIT`] disconnect the client, as does a queue that makes no
//! progress for [`WRITE_STALL`]. Stream relays do not get that far: they
//! stop reading their source while more than [`STREAM_PAUSE_BYTES`] are
//! queued ([`OutgoingSender::stream_room`]), which pushes back on the guest.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tracing::{debug, warn, Instrument};

use super::registry::Activity;

/// Queued bytes above which the session stops reading the client.
pub const READ_PAUSE_BYTES: usize = 64 * 1024;
/// Queued bytes beyond which an event or stream message disconnects the
/// client instead of being queued.
pub const UNSOLICITED_LIMIT: usize = 1024 * 1024;
/// Queued bytes above which stream relays stop reading their source (a
/// console) until the client has taken some: far enough below
/// [`UNSOLICITED_LIMIT`] that a few streams' last chunks still fit.
pub const STREAM_PAUSE_BYTES: usize = 256 * 1024;
/// How long queued bytes may wait without the peer taking any of them.
pub const WRITE_STALL: Duration = Duration::from_secs(60);

/// Messages produced outside the session's reader for this client.
pub enum Outgoing {
    /// Reply of a call that ran on a worker thread; the call no longer
    /// counts against `max_client_requests`.
    CallDone(Vec<u8>),
    /// An event message or stream data (anything unsolicited).
    Message(Vec<u8>),
    /// [`Outgoing::CallDone`] for a REPLY_WITH_FDS (a reply relayed from
    /// another daemon); its descriptors follow it as in
    /// [`Outgoing::MessageWithFds`].
    CallDoneWithFds(Vec<u8>, Vec<std::os::fd::OwnedFd>),
    /// A REPLY_WITH_FDS message: the descriptors follow its bytes, each on
    /// its own carrier byte (unix sockets only; elsewhere the client is
    /// disconnected, as libvirtd does when it cannot send them).
    MessageWithFds(Vec<u8>, Vec<std::os::fd::OwnedFd>),
    /// A call running on a worker established the client's identity (polkit
    /// granted the action); sent before that call's reply.
    Authenticated,
    /// A call was forwarded to another daemon (virtproxyd); its reply comes
    /// back as [`Outgoing::CallDone`].
    CallForwarded,
    /// The client is to be disconnected (its proxied daemon went away).
    Disconnect(&'static str),
}

/// The client is gone (or being disconnected): the message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// A handle for sending to one client; cheap to clone.
#[derive(Clone)]
pub struct OutgoingSender(Option<Arc<Outbox>>);

impl OutgoingSender {
    pub fn new(outbox: Arc<Outbox>) -> OutgoingSender {
        OutgoingSender(Some(outbox))
    }

    /// A sender whose messages go nowhere (a session without a socket).
    pub fn detached() -> OutgoingSender {
        OutgoingSender(None)
    }

    pub fn send(&self, message: Outgoing) -> Result<(), Closed> {
        let Some(outbox) = &self.0 else {
            return Err(Closed);
        };
        match message {
            Outgoing::CallDone(bytes) => {
                let sent = outbox.push(bytes, false);
                outbox.call_finished();
                sent
            }
            Outgoing::Message(bytes) => outbox.push(bytes, true),
            Outgoing::CallDoneWithFds(bytes, fds) => {
                let sent = outbox.push_with_fds(bytes, fds);
                outbox.call_finished();
                sent
            }
            Outgoing::MessageWithFds(bytes, fds) => outbox.push_with_fds(bytes, fds),
            Outgoing::Authenticated => {
                outbox.authenticated_by_call.store(true, Ordering::SeqCst);
                Ok(())
            }
            Outgoing::CallForwarded => {
                outbox.call_started();
                Ok(())
            }
            Outgoing::Disconnect(reason) => {
                outbox.fail(reason);
                Ok(())
            }
        }
    }

    /// Whether a stream relay may read more from its source now: the queue
    /// holds at most [`STREAM_PAUSE_BYTES`] (or the client is gone, which
    /// the next send reports).
    pub fn stream_has_room(&self) -> bool {
        self.0.as_ref().is_none_or(|o| o.stream_has_room())
    }

    /// Completes once [`OutgoingSender::stream_has_room`] holds.
    pub async fn stream_room(&self) {
        let Some(outbox) = &self.0 else {
            return;
        };
        loop {
            let room = outbox.stream_room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if outbox.stream_has_room() {
                return;
            }
            room.await;
        }
    }

    /// Wakes the session's reader, which may have stopped reading because
    /// a stream's input was full.
    pub fn wake_reader(&self) {
        if let Some(outbox) = &self.0 {
            outbox.resume.notify_one();
        }
    }
}

/// The client's connection (Unix, TCP or TLS stream).
pub trait Transport: AsyncRead + AsyncWrite + Send {}
impl<T: AsyncRead + AsyncWrite + Send> Transport for T {}

/// The connection, owned here and used under the outbox's lock by both the
/// reader (reads) and whoever writes: one lock, no split halves.
type Sink = Pin<Box<dyn Transport>>;

/// The shared sending state of one client.
pub struct Outbox {
    /// This outbox, for starting the writer task.
    me: std::sync::Weak<Outbox>,
    client_id: u64,
    state: Mutex<State>,
    activity: Arc<Activity>,
    /// Set by a worker call that authenticated the client; the reader
    /// applies it to the session before the next message.
    pub authenticated_by_call: std::sync::atomic::AtomicBool,
    /// Wakes the reader: the queue drained or a call finished.
    pub resume: Notify,
    /// Wakes stream relays: the queue fell to [`STREAM_PAUSE_BYTES`] or the
    /// client is gone.
    stream_room: Notify,
    /// The session's close request (shared with the registry).
    close: Arc<Notify>,
    /// How long queued bytes may wait for the peer ([`WRITE_STALL`]).
    stall: Duration,
    runtime: tokio::runtime::Handle,
    /// The unix socket's descriptor passing, when the transport has it.
    fd_port: std::sync::OnceLock<Arc<super::fd_port::FdPort>>,
}

struct State {
    /// Bytes ever pushed: the stream offset where the next message starts.
    pushed_total: u64,
    /// None once the session ended: nothing more is sent.
    sink: Option<Sink>,
    queue: VecDeque<Vec<u8>>,
    /// Bytes of the front message already written.
    offset: usize,
    /// Bytes queued and not yet written.
    queued: usize,
    /// Written bytes may still sit in the transport (TLS) until flushed.
    flush_pending: bool,
    writer: Option<Waker>,
    writer_started: bool,
    /// Why the client is being disconnected.
    failure: Option<&'static str>,
    /// Last time the peer took bytes, or the queue became non-empty.
    last_progress: Instant,
}

impl Outbox {
    pub fn new(
        client_id: u64,
        sink: Sink,
        activity: Arc<Activity>,
        close: Arc<Notify>,
        stall: Duration,
    ) -> Arc<Outbox> {
        Arc::new_cyclic(|me| Outbox {
            me: me.clone(),
            client_id,
            state: Mutex::new(State {
                pushed_total: 0,
                sink: Some(sink),
                queue: VecDeque::new(),
                offset: 0,
                queued: 0,
                flush_pending: false,
                writer: None,
                writer_started: false,
                failure: None,
                last_progress: Instant::now(),
            }),
            activity,
            authenticated_by_call: std::sync::atomic::AtomicBool::new(false),
            resume: Notify::new(),
            stream_room: Notify::new(),
            close,
            stall,
            runtime: tokio::runtime::Handle::current(),
            fd_port: std::sync::OnceLock::new(),
        })
    }

    /// Lets this outbox send descriptors (the transport is a unix socket).
    pub fn set_fd_port(&self, port: Arc<super::fd_port::FdPort>) {
        let _ = self.fd_port.set(port);
    }

    /// Sends a `*_WITH_FDS` message and then its descriptors, one per
    /// carrier byte, as libvirt does. Without descriptor passing the client
    /// is disconnected.
    pub fn push_with_fds(
        &self,
        mut bytes: Vec<u8>,
        fds: Vec<std::os::fd::OwnedFd>,
    ) -> Result<(), Closed> {
        let Some(port) = self.fd_port.get() else {
            warn!(
                client = self.client_id,
                "disconnecting client: descriptors cannot be sent over its socket"
            );
            self.fail("descriptor passing not supported");
            return Err(Closed);
        };
        let message_len = bytes.len() as u64;
        bytes.resize(bytes.len() + fds.len(), 0);
        self.push_inner(bytes, false, |start| {
            for (i, fd) in fds.into_iter().enumerate() {
                port.send_at(start + message_len + i as u64, fd);
            }
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads what the client sent into `buf`.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut s = self.lock();
        match s.sink.as_mut() {
            Some(stream) => stream.as_mut().poll_read(cx, buf),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    /// Reads what the client sent into the spare capacity of `buf`
    /// (reserved by the caller); 0 bytes means end of file.
    pub fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let mut read_buf = ReadBuf::uninit(buf.spare_capacity_mut());
        match self.poll_read(cx, &mut read_buf) {
            Poll::Ready(Ok(())) => {
                let n = read_buf.filled().len();
                // SAFETY: the transport initialised the first `n` bytes of
                // the spare capacity (ReadBuf tracks that), so they are
                // valid u8 values now part of the vector.
                unsafe { buf.set_len(len + n) };
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Calls of this client running on workers.
    pub fn in_flight(&self) -> usize {
        self.activity.in_flight.load(Ordering::Acquire)
    }

    /// A call was handed to a worker.
    pub fn call_started(&self) {
        self.activity.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    fn call_finished(&self) {
        self.activity.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.resume.notify_one();
    }

    fn stream_has_room(&self) -> bool {
        let s = self.lock();
        s.failure.is_some() || s.queued <= STREAM_PAUSE_BYTES
    }

    /// Whether the reader may take more input from the client.
    pub fn has_room(&self) -> bool {
        self.lock().queued <= READ_PAUSE_BYTES
    }

    /// Why the client is being disconnected, if it is.
    pub fn failure(&self) -> Option<&'static str> {
        self.lock().failure
    }

    /// Nothing is left to write.
    pub fn is_drained(&self) -> bool {
        let s = self.lock();
        s.sink.is_none() || (s.queue.is_empty() && !s.flush_pending)
    }

    /// Sends `bytes` (whole messages): written at once if the socket takes
    /// them, else queued for the writer task. `unsolicited` messages (events,
    /// stream data) may not grow the queue past [`UNSOLICITED_LIMIT`].
    pub fn push(&self, bytes: Vec<u8>, unsolicited: bool) -> Result<(), Closed> {
        self.push_inner(bytes, unsolicited, |_| {})
    }

    /// [`Outbox::push`]; `at_offset` learns the stream offset where the
    /// bytes start before any of them is written.
    fn push_inner(
        &self,
        bytes: Vec<u8>,
        unsolicited: bool,
        at_offset: impl FnOnce(u64),
    ) -> Result<(), Closed> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut s = self.lock();
        if s.failure.is_some() {
            return Err(Closed);
        }
        let refused = s.sink.is_none()
            || (!s.queue.is_empty() && unsolicited && s.queued + bytes.len() > UNSOLICITED_LIMIT);
        if !refused {
            at_offset(s.pushed_total);
            s.pushed_total += bytes.len() as u64;
        }
        let State {
            sink,
            queue,
            offset,
            queued,
            flush_pending,
            ..
        } = &mut *s;
        let Some(sink) = sink.as_mut() else {
            return Err(Closed);
        };
        let mut written = 0;
        if queue.is_empty() {
            match write_now(sink, &bytes) {
                Ok(n) => written = n,
                Err(e) => {
                    debug!(client = self.client_id, "write failed: {e}");
                    drop(s);
                    self.fail("write failed");
                    return Err(Closed);
                }
            }
            if written == bytes.len() {
                if !*flush_pending {
                    let mut cx = Context::from_waker(Waker::noop());
                    *flush_pending = !matches!(sink.as_mut().poll_flush(&mut cx), Poll::Ready(_));
                }
                if *flush_pending {
                    self.start_writer(&mut s);
                }
                return Ok(());
            }
        } else if unsolicited && *queued + bytes.len() > UNSOLICITED_LIMIT {
            drop(s);
            warn!(
                client = self.client_id,
                limit = UNSOLICITED_LIMIT,
                "disconnecting client: it does not read its events or stream data"
            );
            self.fail("outgoing queue full");
            return Err(Closed);
        }
        if queue.is_empty() {
            *offset = written;
            s.last_progress = Instant::now();
        }
        s.queued += bytes.len() - written;
        s.queue.push_back(bytes);
        self.start_writer(&mut s);
        Ok(())
    }

    /// Wakes the writer task, starting it the first time it is needed.
    fn start_writer(self: &Outbox, s: &mut State) {
        if let Some(waker) = s.writer.take() {
            waker.wake();
        } else if !s.writer_started {
            s.writer_started = true;
            let Some(outbox) = self.me.upgrade() else {
                return;
            };
            let span = tracing::Span::current();
            self.runtime.spawn(run_writer(outbox).instrument(span));
        }
    }

    /// Disconnects the client for `reason`: nothing more is sent and the
    /// session's reader is asked to stop.
    pub fn fail(&self, reason: &'static str) {
        let mut s = self.lock();
        if s.failure.is_none() {
            s.failure = Some(reason);
        }
        if let Some(waker) = s.writer.take() {
            waker.wake();
        }
        drop(s);
        self.stream_room.notify_waiters();
        self.close.notify_one();
    }

    /// The session ended: closes the connection and drops whatever was
    /// queued.
    pub fn shut(&self) {
        let mut s = self.lock();
        if s.failure.is_none() {
            s.failure = Some("session ended");
        }
        s.sink = None;
        s.queue.clear();
        s.queued = 0;
        if let Some(waker) = s.writer.take() {
            waker.wake();
        }
        drop(s);
        self.stream_room.notify_waiters();
    }

    /// Writes queued bytes until an error or the session ends.
    fn poll_drain(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.lock();
        loop {
            if s.failure.is_some() {
                return Poll::Ready(());
            }
            let State {
                sink,
                queue,
                offset,
                queued,
                flush_pending,
                last_progress,
                ..
            } = &mut *s;
            let Some(sink) = sink.as_mut() else {
                return Poll::Ready(());
            };
            if let Some(front) = queue.front() {
                match sink.as_mut().poll_write(cx, &front[*offset..]) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        let was_paused = *queued > READ_PAUSE_BYTES;
                        *offset += n;
                        *queued -= n;
                        *last_progress = Instant::now();
                        *flush_pending = true;
                        if *offset == front.len() {
                            queue.pop_front();
                            *offset = 0;
                        }
                        if was_paused && *queued <= READ_PAUSE_BYTES {
                            self.resume.notify_one();
                        }
                        if *queued + n > STREAM_PAUSE_BYTES && *queued <= STREAM_PAUSE_BYTES {
                            self.stream_room.notify_waiters();
                        }
                    }
                    Poll::Ready(result) => {
                        if let Err(e) = result {
                            debug!(client = self.client_id, "write failed: {e}");
                        }
                        drop(s);
                        self.fail("write failed");
                        return Poll::Ready(());
                    }
                    Poll::Pending => return Poll::Pending,
                }
            } else if *flush_pending {
                match sink.as_mut().poll_flush(cx) {
                    Poll::Ready(Ok(())) => {
                        *flush_pending = false;
                        // The reader may be waiting for the queue to drain.
                        self.resume.notify_one();
                    }
                    Poll::Ready(Err(_)) => {
                        drop(s);
                        self.fail("write failed");
                        return Poll::Ready(());
                    }
                    Poll::Pending => return Poll::Pending,
                }
            } else {
                match &s.writer {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => s.writer = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
        }
    }

    /// When the queue counts as stalled: `None` while it is empty.
    fn stall_deadline(&self) -> Option<Instant> {
        let s = self.lock();
        (!s.queue.is_empty()).then(|| s.last_progress + self.stall)
    }
}

/// Writes as much of `buf` as the transport takes without waiting.
fn write_now(sink: &mut Sink, buf: &[u8]) -> io::Result<usize> {
    let mut cx = Context::from_waker(Waker::noop());
    let mut done = 0;
    while done < buf.len() {
        match sink.as_mut().poll_write(&mut cx, &buf[done..]) {
            Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) => done += n,
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    Ok(done)
}

/// The writer task: drains the queue whenever the socket takes bytes and
/// disconnects a client whose queue makes no progress for [`WRITE_STALL`].
async fn run_writer(outbox: Arc<Outbox>) {
    let drain = std::future::poll_fn(|cx| outbox.poll_drain(cx));
    let stall = async {
        loop {
            match outbox.stall_deadline() {
                Some(at) if Instant::now() >= at => return,
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => tokio::time::sleep(outbox.stall).await,
            }
        }
    };
    tokio::select! {
        _ = drain => {}
        _ = stall => {
            warn!(
                client = outbox.client_id,
                stall_secs = outbox.stall.as_secs(),
                "disconnecting client: it has not read what we sent"
            );
            outbox.fail("write stalled");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn outbox(sink: tokio::io::DuplexStream) -> (Arc<Outbox>, Arc<Notify>) {
        let close = Arc::new(Notify::new());
        let stall = Duration::from_millis(200);
        let outbox = Outbox::new(7, Box::pin(sink), Arc::default(), close.clone(), stall);
        (outbox, close)
    }

    #[tokio::test]
    async fn writes_at_once_and_queues_what_the_peer_does_not_take() {
        let (ours, mut peer) = tokio::io::duplex(100);
        let (outbox, _close) = outbox(ours);
        outbox.push(vec![1; 60], false).unwrap();
        assert!(outbox.is_drained(), "written without the writer task");
        outbox.push(vec![2; 200], false).unwrap();
        assert!(!outbox.is_drained());
        let mut got = vec![0; 260];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!((got[0], got[59], got[60], got[259]), (1, 1, 2, 2));
        tokio::time::timeout(Duration::from_secs(10), async {
            while !outbox.is_drained() {
                outbox.resume.notified().await;
            }
        })
        .await
        .expect("queue drained");
    }

    #[tokio::test]
    async fn unread_events_disconnect_the_client() {
        let (ours, _peer) = tokio::io::duplex(64);
        let (outbox, close) = outbox(ours);
        outbox.push(vec![0; 100], false).unwrap();
        assert!(outbox.lock().queued > 0, "the peer took only 64 bytes");
        let mut sent = 0;
        while outbox.push(vec![0; 4096], true).is_ok() {
            sent += 4096;
            assert!(sent <= UNSOLICITED_LIMIT, "queue never bounded");
        }
        assert_eq!(outbox.failure(), Some("outgoing queue full"));
        let notified = close.notified();
        tokio::pin!(notified);
        assert!(notified.as_mut().enable(), "the reader is told to stop");
        assert_eq!(outbox.push(vec![1], false), Err(Closed));
    }

    #[tokio::test]
    async fn a_peer_that_stops_reading_is_disconnected_after_the_stall_time() {
        let (ours, _peer) = tokio::io::duplex(64);
        let (outbox, close) = outbox(ours);
        outbox.push(vec![0; 1000], false).unwrap();
        tokio::time::timeout(Duration::from_secs(10), close.notified())
            .await
            .expect("disconnected");
        assert_eq!(outbox.failure(), Some("write stalled"));
    }

    #[tokio::test]
    async fn replies_pause_reading_beyond_the_limit() {
        let (ours, _peer) = tokio::io::duplex(64);
        let (outbox, _close) = outbox(ours);
        assert!(outbox.has_room());
        outbox
            .push(vec![0; READ_PAUSE_BYTES + 1000], false)
            .unwrap();
        assert!(!outbox.has_room());
        assert_eq!(outbox.failure(), None, "replies never disconnect");
        outbox.shut();
        assert!(outbox.is_drained());
    }

    #[tokio::test]
    async fn stream_relays_wait_for_room_instead_of_filling_the_queue() {
        let (ours, mut peer) = tokio::io::duplex(4096);
        let (outbox, _close) = outbox(ours);
        let sender = OutgoingSender::new(outbox.clone());
        let mut pushed = 0;
        while sender.stream_has_room() {
            sender.send(Outgoing::Message(vec![3; 16 * 1024])).unwrap();
            pushed += 16 * 1024;
        }
        assert!(outbox.lock().queued < UNSOLICITED_LIMIT);
        assert_eq!(outbox.failure(), None);
        let waiting = tokio::spawn({
            let sender = sender.clone();
            async move { sender.stream_room().await }
        });
        let mut sink = vec![0; pushed];
        peer.read_exact(&mut sink).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the relay is woken once the peer reads")
            .unwrap();
    }
}
