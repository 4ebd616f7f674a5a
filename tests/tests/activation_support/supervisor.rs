//! A minimal service manager: it keeps the listening sockets open, and
//! whenever one of them has a connection waiting and the daemon is not
//! running, it starts the daemon with the sockets passed in (as systemd
//! does for a `.socket` unit whose service exited). Each start and exit is
//! reported as an event, in order.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::process::Launch;

/// How the daemon is started each time.
#[derive(Clone)]
pub struct Service {
    pub program: PathBuf,
    pub arg0: String,
    pub args: Vec<String>,
    pub fdnames: String,
    pub env: Vec<(String, String)>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupervisorEvent {
    Started(i32),
    Exited(i32, ExitStatus),
}

pub struct Supervisor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    events: Receiver<SupervisorEvent>,
    /// Every event received so far.
    pub history: Vec<SupervisorEvent>,
}

/// How often the loop looks at the stop flag while nothing happens.
const POLL_INTERVAL_MS: i32 = 100;

/// Waits until one of `fds` is readable or the poll interval passes.
fn poll_readable(fds: &[&OwnedFd]) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout};
    let mut polled: Vec<PollFd> = fds
        .iter()
        .map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
        .collect();
    nix::poll::poll(&mut polled, PollTimeout::from(POLL_INTERVAL_MS as u16)).is_ok_and(|n| n > 0)
}

/// A pidfd for `pid`: readable once the process has exited.
fn pidfd(pid: i32) -> OwnedFd {
    let pid = rustix::process::Pid::from_raw(pid).expect("a positive pid");
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).expect("pidfd_open")
}

fn serve(
    service: Service,
    sockets: Vec<OwnedFd>,
    stop: Arc<AtomicBool>,
    events: Sender<SupervisorEvent>,
) {
    let fds: Vec<RawFd> = sockets.iter().map(|s| s.as_raw_fd()).collect();
    while !stop.load(Ordering::SeqCst) {
        if !poll_readable(&sockets.iter().collect::<Vec<_>>()) {
            continue;
        }
        let launch = Launch {
            program: &service.program,
            arg0: &service.arg0,
            args: service.args.clone(),
            fds: fds.clone(),
            fdnames: Some(service.fdnames.clone()),
            env: service.env.clone(),
            stdout: &service.stdout,
            stderr: &service.stderr,
        };
        let mut process = launch.spawn();
        let pid = process.pid();
        let _ = events.send(SupervisorEvent::Started(pid));
        let exited = pidfd(pid);
        loop {
            if let Some(status) = process.try_wait() {
                let _ = events.send(SupervisorEvent::Exited(pid, status));
                break;
            }
            if stop.load(Ordering::SeqCst) {
                // Dropping the process kills its group.
                return;
            }
            poll_readable(&[&exited]);
        }
    }
    drop(sockets);
}

impl Supervisor {
    /// Starts supervising; the daemon is started on the first connection.
    pub fn start(service: Service, sockets: Vec<OwnedFd>) -> Supervisor {
        let stop = Arc::new(AtomicBool::new(false));
        let (sender, events) = mpsc::channel();
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::spawn(move || serve(service, sockets, thread_stop, sender));
        Supervisor {
            stop,
            thread: Some(thread),
            events,
            history: Vec::new(),
        }
    }

    /// The next event, or `None` after `timeout`.
    pub fn next_event(&mut self, timeout: Duration) -> Option<SupervisorEvent> {
        let event = self.events.recv_timeout(timeout).ok()?;
        self.history.push(event);
        Some(event)
    }

    /// Waits for the next exit of the daemon.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left)? {
                SupervisorEvent::Exited(_, status) => return Some(status),
                SupervisorEvent::Started(_) => {}
            }
        }
    }

    /// Number of times the daemon was started so far.
    pub fn starts(&self) -> usize {
        self.history
            .iter()
            .filter(|e| matches!(e, SupervisorEvent::Started(_)))
            .count()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
