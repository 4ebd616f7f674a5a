//! The supervisor's life after start-up: answer control requests, copy console output to
//! the log, and when init dies clean up and tell every watcher.
//!
//! The console relay holds at most one read's worth of bytes in each direction: while
//! output waits for the console client to take it, the console is not read (the
//! container's writes to it block once the pty's buffer is full); while input waits for
//! the container to read its console, the client is not read. Neither a client that
//! does not read nor a container that does not read can grow the supervisor or stall
//! its answers to control requests.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{network, RunningContainer};
use crate::lxc::control::{ExitNotice, Request};

struct Client {
    stream: UnixStream,
    buffer: Vec<u8>,
    /// Relays console bytes instead of reading requests.
    console: bool,
}

/// Console bytes read but not yet written on.
#[derive(Default)]
struct Pending {
    /// Container output for the console client.
    to_client: Vec<u8>,
    /// Client input for the container.
    to_console: Vec<u8>,
}

/// Runs until init exits; returns the supervisor's exit code.
pub fn serve(mut running: RunningContainer) -> i32 {
    let signal_fd = match signal_fd() {
        Ok(fd) => fd,
        Err(e) => {
            tracing::error!("cannot watch signals: {e}");
            return 1;
        }
    };
    let _ = running.listener.set_nonblocking(true);
    let mut clients: Vec<Client> = Vec::new();
    let mut pending = Pending::default();
    let mut console_open = running.console.is_some();
    let notice = loop {
        if let Some(notice) = reap(running.init_pid) {
            break notice;
        }
        let mut fds = vec![
            pollfd(signal_fd.as_fd().as_raw_fd(), libc::POLLIN),
            pollfd(running.listener.as_raw_fd(), libc::POLLIN),
        ];
        let console_fd = running.console.as_ref().map(|c| c.master.as_raw_fd());
        let mut console_events = 0;
        if pending.to_client.is_empty() {
            console_events |= libc::POLLIN;
        }
        if !pending.to_console.is_empty() {
            console_events |= libc::POLLOUT;
        }
        fds.push(match console_fd {
            Some(fd) if console_open && console_events != 0 => pollfd(fd, console_events),
            _ => pollfd(-1, 0),
        });
        fds.extend(clients.iter().map(|c| {
            let mut events = libc::POLLIN;
            if c.console {
                events = 0;
                if pending.to_console.is_empty() {
                    events |= libc::POLLIN;
                }
                if !pending.to_client.is_empty() {
                    events |= libc::POLLOUT;
                }
            }
            pollfd(c.stream.as_raw_fd(), events)
        }));
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            continue;
        }
        // What happened on existing clients, taken before new ones are accepted.
        let ready: Vec<i16> = fds[3..].iter().map(|f| f.revents).collect();
        if fds[0].revents != 0 {
            drain_signals(&signal_fd, &running);
        }
        if fds[1].revents != 0 {
            while let Ok((stream, _)) = running.listener.accept() {
                let _ = stream.set_nonblocking(true);
                clients.push(Client {
                    stream,
                    buffer: Vec::new(),
                    console: false,
                });
            }
        }
        let console_revents = fds[2].revents;
        if console_revents & libc::POLLOUT != 0 {
            if let Some(console) = running.console.as_ref() {
                let _ = flush(&mut pending.to_console, &console.master);
            }
        }
        if console_revents & !libc::POLLOUT != 0 {
            console_open = copy_console(&mut running, &mut clients, &mut pending);
        }
        let mut index = 0;
        let console_taken = clients.iter().any(|c| c.console);
        clients.retain_mut(|client| {
            let revents = ready.get(index).copied().unwrap_or(libc::POLLIN);
            index += 1;
            if client.console {
                serve_console_client(client, revents, &running, &mut pending)
            } else if revents != 0 {
                let keep = handle_client(client, &running, console_taken, &mut pending);
                if client.console {
                    pending.to_client.clear();
                }
                keep
            } else {
                true
            }
        });
        if !clients.iter().any(|c| c.console) {
            pending.to_client.clear();
        }
    };
    finish(&running, notice, &mut clients);
    0
}

fn pollfd(fd: i32, events: i16) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Writes what `pending` holds until the destination would block; what
/// was written leaves `pending`.
fn flush(pending: &mut Vec<u8>, mut to: impl Write) -> std::io::Result<()> {
    while !pending.is_empty() {
        match to.write(pending) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                pending.drain(..n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The console client: its waiting output is written when it can take it,
/// and its input read only once the container took the previous input.
/// False when the client is gone.
fn serve_console_client(
    client: &mut Client,
    revents: i16,
    running: &RunningContainer,
    pending: &mut Pending,
) -> bool {
    if revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        return false;
    }
    if revents & libc::POLLOUT != 0 && flush(&mut pending.to_client, &client.stream).is_err() {
        return false;
    }
    if revents & libc::POLLIN != 0 && pending.to_console.is_empty() {
        return relay_to_console(client, running, pending);
    }
    true
}

/// Non-blocking check whether init has exited.
fn reap(pid: i32) -> Option<ExitNotice> {
    match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => Some(ExitNotice { code, signal: 0 }),
        Ok(WaitStatus::Signaled(_, signal, _)) => Some(ExitNotice {
            code: 0,
            signal: signal as i32,
        }),
        Ok(_) => None,
        Err(_) => Some(ExitNotice { code: 0, signal: 0 }),
    }
}

/// Reads one request from a client; false when the client is gone.
fn handle_client(
    client: &mut Client,
    running: &RunningContainer,
    console_taken: bool,
    pending: &mut Pending,
) -> bool {
    let mut chunk = [0u8; 256];
    match client.stream.read(&mut chunk) {
        Ok(0) => return false,
        Ok(n) => client.buffer.extend_from_slice(&chunk[..n]),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
        Err(_) => return false,
    }
    while let Some(end) = client.buffer.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = client.buffer.drain(..=end).collect();
        let word = String::from_utf8_lossy(&line).into_owned();
        let answer = match Request::parse(&word) {
            Some(Request::Info) => format!("running {}\n", running.init_pid),
            Some(Request::Shutdown) => {
                let _ = kill(Pid::from_raw(running.init_pid), Signal::SIGTERM);
                "ok\n".to_string()
            }
            Some(Request::Destroy) => {
                // Killing init ends the whole PID namespace.
                let _ = kill(Pid::from_raw(running.init_pid), Signal::SIGKILL);
                running.cgroup.kill_all();
                "ok\n".to_string()
            }
            Some(Request::Reboot) => {
                let _ = kill(Pid::from_raw(running.init_pid), Signal::SIGHUP);
                "ok\n".to_string()
            }
            Some(Request::Watch) => "watching\n".to_string(),
            Some(Request::Console) if running.console.is_none() => "error no console\n".to_string(),
            Some(Request::Console) if console_taken => "error the console is in use\n".to_string(),
            Some(Request::Console) => {
                client.console = true;
                "console\n".to_string()
            }
            None => format!("error unknown request '{}'\n", word.trim()),
        };
        let _ = client.stream.set_nonblocking(false);
        let written = client.stream.write_all(answer.as_bytes()).is_ok();
        let _ = client.stream.set_nonblocking(true);
        if !written {
            return false;
        }
        if client.console {
            // Anything sent after the request is already console input.
            pending.to_console = std::mem::take(&mut client.buffer);
            return write_console(running, pending);
        }
    }
    true
}

/// Console input from the relay client; false when it is gone.
fn relay_to_console(
    client: &mut Client,
    running: &RunningContainer,
    pending: &mut Pending,
) -> bool {
    let mut chunk = [0u8; 4096];
    match client.stream.read(&mut chunk) {
        Ok(0) => false,
        Ok(n) => {
            pending.to_console.extend_from_slice(&chunk[..n]);
            write_console(running, pending)
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
        Err(_) => false,
    }
}

/// Writes waiting input to the console as far as the pty takes it; the
/// rest waits for the console to become writable.
fn write_console(running: &RunningContainer, pending: &mut Pending) -> bool {
    let Some(console) = running.console.as_ref() else {
        return false;
    };
    let _ = flush(&mut pending.to_console, &console.master);
    true
}

/// Copies console output into the log (stderr) and to the console client;
/// false once the console is gone. Called only while no output waits for
/// the client.
fn copy_console(
    running: &mut RunningContainer,
    clients: &mut [Client],
    pending: &mut Pending,
) -> bool {
    let Some(console) = running.console.as_mut() else {
        return false;
    };
    let mut buffer = [0u8; 4096];
    match console.master.read(&mut buffer) {
        Ok(0) => false,
        Ok(n) => {
            running.log.write(&buffer[..n]);
            // What the client does not take at once waits, and the console
            // is not read again until it has been taken.
            if let Some(client) = clients.iter_mut().find(|c| c.console) {
                pending.to_client.extend_from_slice(&buffer[..n]);
                let _ = flush(&mut pending.to_client, &client.stream);
            }
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
        Err(_) => false,
    }
}

/// SIGCHLD only wakes the loop; SIGTERM/SIGINT to the supervisor destroy the container.
fn drain_signals(fd: &SignalFd, running: &RunningContainer) {
    while let Ok(Some(info)) = fd.read_signal() {
        if info.ssi_signo == libc::SIGTERM as u32 || info.ssi_signo == libc::SIGINT as u32 {
            let _ = kill(Pid::from_raw(running.init_pid), Signal::SIGKILL);
            running.cgroup.kill_all();
        }
    }
}

fn signal_fd() -> nix::Result<SignalFd> {
    let mut set = SigSet::empty();
    for sig in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT] {
        set.add(sig);
    }
    set.thread_block()?;
    SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
}

/// Init is gone: remove what the container left, then tell the watchers and go.
fn finish(running: &RunningContainer, notice: ExitNotice, clients: &mut [Client]) {
    running.cgroup.kill_all();
    if let Err(e) = running.cgroup.remove() {
        tracing::warn!(container = %running.spec.name, "{e}");
    }
    network::remove_interfaces(&running.host_interfaces);
    let _ = fs::remove_dir(&running.args.staging);
    let _ = fs::remove_file(&running.args.socket);
    tracing::info!(
        container = %running.spec.name,
        "init exited (code {}, signal {})",
        notice.code,
        notice.signal
    );
    for client in clients.iter_mut() {
        let _ = client.stream.set_nonblocking(false);
        let _ = client.stream.write_all(notice.line().as_bytes());
    }
}
