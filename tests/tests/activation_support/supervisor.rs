//! A minimal service manager: it keeps the listening sockets open, and
//! whenever one of them has a connection waiting and the daemon is not
//! running, it starts the daemon with the sockets passed in (as systemd
//! does for a `.socket` unit whose service exited). Each start and exit is
//! reported as an event, in order.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
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
fn poll_readable(fds: &[RawFd]) -> bool {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: *fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `polled` is a valid array of pollfd of the given length.
    let rc = unsafe {
        libc::poll(
            polled.as_mut_ptr(),
            polled.len() as libc::nfds_t,
            POLL_INTERVAL_MS,
        )
    };
    rc > 0
}

/// A pidfd for `pid`: readable once the process has exited.
fn pidfd(pid: i32) -> OwnedFd {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: the fd was just created for us.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

fn serve(
    service: Service,
    sockets: Vec<OwnedFd>,
    stop: Arc<AtomicBool>,
    events: Sender<SupervisorEvent>,
) {
    let fds: Vec<RawFd> = sockets.iter().map(|s| s.as_raw_fd()).collect();
    while !stop.load(Ordering::SeqCst) {
        if !poll_readable(&fds) {
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
            poll_readable(&[exited.as_raw_fd()]);
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
