//! The supervisor's life after start-up: answer control requests, copy console output to
//! the log, and when init dies clean up and tell every watcher.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use super::{network, RunningContainer};
use crate::lxc::control::{ExitNotice, Request};

struct Client {
    stream: UnixStream,
    buffer: Vec<u8>,
    /// Relays console bytes instead of reading requests.
    console: bool,
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
    let mut console_open = running.console.is_some();
    let notice = loop {
        if let Some(notice) = reap(running.init_pid) {
            break notice;
        }
        let mut fds = vec![
            pollfd(signal_fd.as_raw_fd()),
            pollfd(running.listener.as_raw_fd()),
        ];
        let console_fd = running.console.as_ref().map(|c| c.master.as_raw_fd());
        fds.push(pollfd(if console_open {
            console_fd.unwrap_or(-1)
        } else {
            -1
        }));
        fds.extend(clients.iter().map(|c| pollfd(c.stream.as_raw_fd())));
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            continue;
        }
        // Which existing clients have input, taken before new ones are accepted.
        let ready: Vec<bool> = fds[3..].iter().map(|f| f.revents != 0).collect();
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
        if fds[2].revents != 0 {
            console_open = copy_console(&mut running, &mut clients);
        }
        let mut index = 0;
        let console_taken = clients.iter().any(|c| c.console);
        clients.retain_mut(|client| {
            let has_input = ready.get(index).copied().unwrap_or(true);
            let keep = !has_input
                || if client.console {
                    relay_to_console(client, &mut running)
                } else {
                    handle_client(client, &running, console_taken)
                };
            index += 1;
            keep
        });
    };
    finish(&running, notice, &mut clients);
    0
}

fn pollfd(fd: i32) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Non-blocking check whether init has exited.
fn reap(pid: i32) -> Option<ExitNotice> {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if rc == pid {
        let (code, signal) = if libc::WIFEXITED(status) {
            (libc::WEXITSTATUS(status), 0)
        } else if libc::WIFSIGNALED(status) {
            (0, libc::WTERMSIG(status))
        } else {
            return None;
        };
        return Some(ExitNotice { code, signal });
    }
    if rc < 0 {
        return Some(ExitNotice { code: 0, signal: 0 });
    }
    None
}

/// Reads one request from a client; false when the client is gone.
fn handle_client(client: &mut Client, running: &RunningContainer, console_taken: bool) -> bool {
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
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(running.init_pid, libc::SIGTERM) };
                "ok\n".to_string()
            }
            Some(Request::Destroy) => {
                // SAFETY: as above; killing init ends the whole PID namespace.
                unsafe { libc::kill(running.init_pid, libc::SIGKILL) };
                running.cgroup.kill_all();
                "ok\n".to_string()
            }
            Some(Request::Reboot) => {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(running.init_pid, libc::SIGHUP) };
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
            let pending = std::mem::take(&mut client.buffer);
            return write_console(running, &pending);
        }
    }
    true
}

/// Console input from the relay client; false when it is gone.
fn relay_to_console(client: &mut Client, running: &mut RunningContainer) -> bool {
    let mut chunk = [0u8; 4096];
    match client.stream.read(&mut chunk) {
        Ok(0) => false,
        Ok(n) => write_console(running, &chunk[..n]),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
        Err(_) => false,
    }
}

fn write_console(running: &RunningContainer, bytes: &[u8]) -> bool {
    let Some(console) = running.console.as_ref() else {
        return false;
    };
    let mut master = &console.master;
    let _ = master.write_all(bytes);
    true
}

/// Copies console output into the log (stderr) and to the console client;
/// false once the console is gone.
fn copy_console(running: &mut RunningContainer, clients: &mut [Client]) -> bool {
    let Some(console) = running.console.as_mut() else {
        return false;
    };
    let mut buffer = [0u8; 4096];
    match console.master.read(&mut buffer) {
        Ok(0) => false,
        Ok(n) => {
            running.log.write(&buffer[..n]);
            // The client socket stays non-blocking: a reader that falls
            // behind loses console output rather than stalling the container.
            for client in clients.iter_mut().filter(|c| c.console) {
                let _ = client.stream.write_all(&buffer[..n]);
            }
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
        Err(_) => false,
    }
}

/// SIGCHLD only wakes the loop; SIGTERM/SIGINT to the supervisor destroy the container.
fn drain_signals(fd: &fs::File, running: &RunningContainer) {
    let mut info = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
    let mut reader = fd;
    while let Ok(n) = reader.read(&mut info) {
        if n < info.len() {
            break;
        }
        // SAFETY: the kernel wrote a complete signalfd_siginfo into the buffer.
        let si: libc::signalfd_siginfo = unsafe { std::ptr::read_unaligned(info.as_ptr().cast()) };
        if si.ssi_signo == libc::SIGTERM as u32 || si.ssi_signo == libc::SIGINT as u32 {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(running.init_pid, libc::SIGKILL) };
            running.cgroup.kill_all();
        }
    }
}

fn signal_fd() -> std::io::Result<fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: set is initialised by sigemptyset before use; signalfd returns a new fd.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT] {
            libc::sigaddset(&mut set, sig);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(fs::File::from_raw_fd(fd))
    }
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
