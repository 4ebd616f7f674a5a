//! The load generator: many connections driven in lock-step (one call in
//! flight per connection) from a single epoll loop.
//!
//! One thread with epoll keeps the client's own CPU cost per call small
//! (no thread wake-ups), which matters on a 2-core machine where the client
//! and the daemon share the CPUs.

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use protocol::frame::FrameDecoder;
use protocol::header::MessageType;

use crate::wire::{call_message, check_reply, Session, WireError, SERIAL_OFFSET};

/// How long draining the last replies may take before the daemon is
/// declared stuck.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// First serial the engine uses, far from those of the set-up calls.
const FIRST_SERIAL: u32 = 0x1000_0000;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("epoll: {0}")]
    Epoll(io::Error),
    #[error("socket i/o: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("bad frame from the daemon: {0}")]
    Frame(#[from] protocol::frame::FrameError),
    #[error("the daemon closed a connection during the load")]
    Closed,
    #[error("a short write of a {0}-byte call")]
    ShortWrite(usize),
    #[error("no reply for {0:?} while draining")]
    Stalled(Duration),
}

/// When a phase stops: after `max_calls` calls or `max_time`, whichever
/// comes first. Calls in flight at that moment are still answered and
/// counted.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_calls: u64,
    pub max_time: Duration,
}

/// What one phase measured.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    pub calls: u64,
    pub elapsed: Duration,
    /// One round-trip time per call, in nanoseconds.
    pub latencies_ns: Vec<u64>,
}

impl LoadOutcome {
    pub fn calls_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.calls as f64 / secs
        } else {
            0.0
        }
    }
}

/// Per-connection state during a run.
struct Slot<'a> {
    session: &'a mut Session,
    message: Vec<u8>,
    serial: u32,
    sent_at: Instant,
    decoder: FrameDecoder,
}

impl Slot<'_> {
    fn send(&mut self, now: Instant) -> Result<(), LoadError> {
        self.serial = self.serial.wrapping_add(1);
        self.message[SERIAL_OFFSET..SERIAL_OFFSET + 4].copy_from_slice(&self.serial.to_be_bytes());
        self.sent_at = now;
        // In lock-step the socket's send buffer is empty, so a small call
        // is always taken whole.
        let n = self.session.stream_mut().write(&self.message)?;
        if n != self.message.len() {
            return Err(LoadError::ShortWrite(self.message.len()));
        }
        Ok(())
    }

    /// Reads what is available; returns false at end of stream.
    fn fill(&mut self, scratch: &mut [u8]) -> Result<bool, LoadError> {
        loop {
            match self.session.stream_mut().read(scratch) {
                Ok(0) => return Ok(false),
                Ok(n) => self.decoder.push(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LoadError::Io(e)),
            }
        }
    }
}

fn epoll_create() -> Result<Epoll, LoadError> {
    Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(|e| LoadError::Epoll(e.into()))
}

fn epoll_add(epoll: &Epoll, fd: BorrowedFd<'_>, index: usize) -> Result<(), LoadError> {
    epoll
        .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, index as u64))
        .map_err(|e| LoadError::Epoll(e.into()))
}

fn epoll_wait(
    epoll: &Epoll,
    events: &mut [EpollEvent],
    timeout: Duration,
) -> Result<usize, LoadError> {
    let ms = timeout.as_micros().div_ceil(1000);
    match epoll.wait(
        events,
        EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::MAX),
    ) {
        Ok(n) => Ok(n),
        Err(nix::errno::Errno::EINTR) => Ok(0),
        Err(e) => Err(LoadError::Epoll(e.into())),
    }
}

/// Sends `proc_` with `body` on every session, one call in flight each,
/// until the bounds are reached, and waits for the last replies.
pub fn run_lockstep(
    sessions: &mut [Session],
    proc_: i32,
    body: &[u8],
    bounds: Bounds,
) -> Result<LoadOutcome, LoadError> {
    for s in sessions.iter() {
        s.stream().set_nonblocking(true)?;
    }
    let result = drive(sessions, proc_, body, bounds);
    for s in sessions.iter() {
        s.stream().set_nonblocking(false)?;
    }
    result
}

fn drive(
    sessions: &mut [Session],
    proc_: i32,
    body: &[u8],
    bounds: Bounds,
) -> Result<LoadOutcome, LoadError> {
    let epoll = epoll_create()?;
    let template = call_message(proc_, 0, body);
    let start = Instant::now();
    let mut slots = Vec::with_capacity(sessions.len());
    for (index, session) in sessions.iter_mut().enumerate() {
        epoll_add(&epoll, session.stream().as_fd(), index)?;
        slots.push(Slot {
            session,
            message: template.clone(),
            serial: FIRST_SERIAL,
            sent_at: start,
            decoder: FrameDecoder::new(),
        });
    }
    let capacity = bounds.max_calls.min(4_000_000) as usize;
    let mut outcome = LoadOutcome {
        latencies_ns: Vec::with_capacity(capacity),
        ..LoadOutcome::default()
    };
    let deadline = start + bounds.max_time;
    let mut issued = 0u64;
    let mut outstanding = 0usize;
    for slot in slots.iter_mut() {
        if issued < bounds.max_calls {
            slot.send(Instant::now())?;
            issued += 1;
            outstanding += 1;
        }
    }
    let mut events = vec![EpollEvent::empty(); slots.len().clamp(1, 256)];
    let mut scratch = vec![0u8; 64 * 1024];
    let mut stopping = false;
    let mut last_progress = Instant::now();
    while outstanding > 0 {
        let now = Instant::now();
        stopping |= now >= deadline;
        let wait = if stopping {
            DRAIN_LIMIT.saturating_sub(now - last_progress)
        } else {
            deadline - now
        };
        if stopping && wait.is_zero() {
            return Err(LoadError::Stalled(DRAIN_LIMIT));
        }
        let ready = epoll_wait(&epoll, &mut events, wait)?;
        for event in &events[..ready] {
            let Some(slot) = slots.get_mut(event.data() as usize) else {
                continue;
            };
            let open = slot.fill(&mut scratch)?;
            while let Some(msg) = slot.decoder.next_message()? {
                if msg.header.message_type() != Some(MessageType::Reply) {
                    continue;
                }
                check_reply(&msg.header, &msg.body, proc_, slot.serial)?;
                let now = Instant::now();
                outcome
                    .latencies_ns
                    .push((now - slot.sent_at).as_nanos() as u64);
                outcome.calls += 1;
                outcome.elapsed = now - start;
                outstanding -= 1;
                last_progress = now;
                if !stopping && issued < bounds.max_calls {
                    slot.send(now)?;
                    issued += 1;
                    outstanding += 1;
                }
            }
            if !open {
                return Err(LoadError::Closed);
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::frame::encode_message;
    use protocol::header::Header;
    use std::os::unix::net::UnixStream;
    use std::thread;

    /// A stand-in server on one end of a socket pair: answers every call
    /// with an empty OK reply, `delay` after reading it.
    fn echo_server(mut stream: UnixStream, delay: Duration) -> thread::JoinHandle<u64> {
        thread::spawn(move || {
            let mut decoder = FrameDecoder::new();
            let mut buf = [0u8; 4096];
            let mut answered = 0;
            loop {
                let n = match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return answered,
                    Ok(n) => n,
                };
                decoder.push(&buf[..n]);
                while let Ok(Some(msg)) = decoder.next_message() {
                    thread::sleep(delay);
                    let reply = encode_message(&msg.header.reply_to(), &[]);
                    if stream.write_all(&reply).is_err() {
                        return answered;
                    }
                    answered += 1;
                }
            }
        })
    }

    fn pair(delay: Duration) -> (Session, thread::JoinHandle<u64>) {
        let (client, server) = UnixStream::pair().unwrap();
        (Session::from_stream(client), echo_server(server, delay))
    }

    #[test]
    fn call_budget_is_respected_across_connections() {
        let (a, ha) = pair(Duration::ZERO);
        let (b, hb) = pair(Duration::ZERO);
        let mut sessions = vec![a, b];
        let bounds = Bounds {
            max_calls: 1001,
            max_time: Duration::from_secs(30),
        };
        let out = run_lockstep(&mut sessions, 157, &[], bounds).unwrap();
        assert_eq!(out.calls, 1001);
        assert_eq!(out.latencies_ns.len(), 1001);
        drop(sessions);
        assert_eq!(ha.join().unwrap() + hb.join().unwrap(), 1001);
    }

    #[test]
    fn time_bound_stops_a_slow_server_and_latency_is_measured() {
        let (s, h) = pair(Duration::from_millis(20));
        let mut sessions = vec![s];
        let bounds = Bounds {
            max_calls: u64::MAX,
            max_time: Duration::from_millis(100),
        };
        let out = run_lockstep(&mut sessions, 157, &[], bounds).unwrap();
        assert!((1..=6).contains(&out.calls), "calls = {}", out.calls);
        assert!(out.latencies_ns.iter().all(|&ns| ns >= 20_000_000));
        assert!(out.calls_per_second() < 60.0);
        drop(sessions);
        assert_eq!(h.join().unwrap(), out.calls);
    }

    #[test]
    fn error_reply_stops_the_run() {
        let (client, mut server) = UnixStream::pair().unwrap();
        let h = thread::spawn(move || {
            let mut buf = [0u8; 28];
            server.read_exact(&mut buf).unwrap();
            let call = Header::decode(buf[4..].try_into().unwrap());
            let body = protocol::xdr::to_bytes(&protocol::RemoteError::new(1, 7, "nope"));
            server
                .write_all(&encode_message(&call.error_reply_to(), &body))
                .unwrap();
            server
        });
        let mut sessions = vec![Session::from_stream(client)];
        let bounds = Bounds {
            max_calls: 10,
            max_time: Duration::from_secs(5),
        };
        let err = run_lockstep(&mut sessions, 157, &[], bounds).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        drop(h.join().unwrap());
    }
}
