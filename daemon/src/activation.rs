//! Socket activation: listening sockets handed over by systemd (or any
//! manager speaking its `LISTEN_FDS` protocol) instead of created here.
//!
//! The manager passes the sockets as fds 3, 4, ... and names them in
//! `LISTEN_FDNAMES` (by default the `.socket` unit's file name). The daemon
//! claims them by name: `libvirtd.socket` (read-write), `libvirtd-ro.socket`,
//! `libvirtd-admin.socket`, `libvirtd-tcp.socket` and `libvirtd-tls.socket`
//! (`virtqemud.socket`, ... for a modular daemon). Several fds may share a
//! name. Once activated, the daemon creates no socket of its own, even for a
//! name that is absent; every fd passed must be claimed, else start-up stops.
//!
//! Unlike libvirt 9.0, `LISTEN_FDS` without `LISTEN_FDNAMES` is an error:
//! libvirt logs it and then silently creates its own sockets next to the
//! inherited ones, which hides a broken unit.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use thiserror::Error;

use crate::server::listener::{self, Socket};

/// The first inherited fd (after stdin, stdout and stderr).
pub const FIRST_FD: RawFd = 3;

/// Why activation cannot go on; each stops start-up with exit status 6.
#[derive(Debug, Error)]
pub enum ActivationError {
    #[error(
        "Missing LISTEN_FDNAMES env from systemd socket activation: {count} socket(s) were \
         passed without names; name them (the default name is the .socket unit's file name, \
         systemd-socket-activate needs --fdname=)"
    )]
    MissingNames { count: u32 },
    #[error("Expecting {expected} FD names but got {got}")]
    NameCount { expected: u32, got: usize },
    #[error("activation file descriptor {fd} is not open: {source}")]
    NotOpen { fd: RawFd, source: io::Error },
    #[error("Some activation file descriptors are unclaimed: {}", describe(.0))]
    Unclaimed(Vec<(String, RawFd)>),
    #[error(
        "--listen parameter not permitted with systemd activation sockets, see 'man libvirtd' \
         for further guidance"
    )]
    ListenNotPermitted,
    #[error("activation socket '{name}' (fd {fd}) cannot be used: {source}")]
    BadSocket {
        name: String,
        fd: RawFd,
        source: io::Error,
    },
}

fn describe(unclaimed: &[(String, RawFd)]) -> String {
    unclaimed
        .iter()
        .map(|(name, fd)| format!("'{name}' (fd {fd})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The raw activation variables of this process.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ActivationEnv {
    pub listen_pid: Option<String>,
    pub listen_fds: Option<String>,
    pub listen_fdnames: Option<String>,
}

impl ActivationEnv {
    fn from_process() -> ActivationEnv {
        let var = |name: &str| std::env::var(name).ok();
        ActivationEnv {
            listen_pid: var("LISTEN_PID"),
            listen_fds: var("LISTEN_FDS"),
            listen_fdnames: var("LISTEN_FDNAMES"),
        }
    }

    /// How many fds are meant for process `pid`: 0 when the variables are
    /// absent, malformed or for another process (then activation is simply
    /// not in use, as in libvirt).
    pub fn fd_count_for(&self, pid: u32) -> u32 {
        let for_us = self
            .listen_pid
            .as_deref()
            .and_then(|p| p.trim().parse::<u32>().ok())
            == Some(pid);
        if !for_us {
            return 0;
        }
        self.listen_fds
            .as_deref()
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or(0)
    }

    /// The name of each of the `count` fds, in fd order.
    pub fn names(&self, count: u32) -> Result<Vec<String>, ActivationError> {
        let Some(text) = &self.listen_fdnames else {
            return Err(ActivationError::MissingNames { count });
        };
        let names: Vec<String> = text.split(':').map(str::to_string).collect();
        if names.len() != count as usize {
            return Err(ActivationError::NameCount {
                expected: count,
                got: names.len(),
            });
        }
        Ok(names)
    }
}

/// The inherited sockets not claimed yet, with their names.
#[derive(Debug)]
pub struct Activation {
    unclaimed: Vec<(String, OwnedFd)>,
}

impl Activation {
    /// Takes the sockets passed to this process, if any. Call it first thing
    /// in `main`, before anything else opens files, so fds 3.. are still the
    /// inherited ones. `LISTEN_PID` and `LISTEN_FDS` are removed from the
    /// environment and the fds are marked close-on-exec, so that nothing the
    /// daemon starts inherits them.
    pub fn from_env() -> Result<Option<Activation>, ActivationError> {
        let env = ActivationEnv::from_process();
        let count = env.fd_count_for(std::process::id());
        if count == 0 {
            return Ok(None);
        }
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        let mut fds = Vec::with_capacity(count as usize);
        for fd in FIRST_FD..FIRST_FD.saturating_add(count as RawFd) {
            // Open in our descriptor table (its /proc entry is there)?
            if let Err(source) = std::fs::symlink_metadata(format!("/proc/self/fd/{fd}")) {
                return Err(ActivationError::NotOpen { fd, source });
            }
            // SAFETY: the fd is open (checked above), was passed to us by the
            // service manager and nothing in this process owns it yet.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            let _ = rustix::io::fcntl_setfd(&owned, rustix::io::FdFlags::CLOEXEC);
            fds.push(owned);
        }
        let names = env.names(count)?;
        Ok(Some(Activation::from_parts(names.into_iter().zip(fds))))
    }

    /// An activation from already owned fds and their names.
    pub fn from_parts(fds: impl IntoIterator<Item = (String, OwnedFd)>) -> Activation {
        Activation {
            unclaimed: fds.into_iter().collect(),
        }
    }

    /// Whether some socket still unclaimed carries `name`.
    pub fn has_name(&self, name: &str) -> bool {
        self.unclaimed.iter().any(|(n, _)| n == name)
    }

    /// Takes every fd named `name`, in fd order (none is fine).
    pub fn claim(&mut self, name: &str) -> Vec<OwnedFd> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unclaimed)
            .into_iter()
            .partition(|(n, _)| n == name);
        self.unclaimed = rest;
        mine.into_iter().map(|(_, fd)| fd).collect()
    }

    /// Takes the sockets named `name` as listeners with queue length
    /// `backlog` (`max_queued_clients`, applied to inherited sockets too).
    /// UNIX and IP sockets are told apart by their address family.
    pub fn claim_sockets(
        &mut self,
        name: &str,
        backlog: u32,
    ) -> Result<Vec<Socket>, ActivationError> {
        self.claim(name)
            .into_iter()
            .map(|fd| {
                let raw = fd.as_raw_fd();
                let bad = |source| ActivationError::BadSocket {
                    name: name.to_string(),
                    fd: raw,
                    source,
                };
                let family = socket_family(&fd).map_err(bad)?;
                listener::set_backlog(&fd, backlog).map_err(bad)?;
                match family {
                    libc::AF_UNIX => Ok(Socket::Unix(fd.into())),
                    libc::AF_INET | libc::AF_INET6 => Ok(Socket::Tcp(fd.into())),
                    other => Err(bad(io::Error::new(
                        io::ErrorKind::Unsupported,
                        format!("address family {other} is neither UNIX nor IP"),
                    ))),
                }
            })
            .collect()
    }

    /// Ends activation: an error naming every socket no service claimed.
    pub fn complete(self) -> Result<(), ActivationError> {
        if self.unclaimed.is_empty() {
            return Ok(());
        }
        Err(ActivationError::Unclaimed(
            self.unclaimed
                .iter()
                .map(|(name, fd)| (name.clone(), fd.as_raw_fd()))
                .collect(),
        ))
    }
}

/// The address family of a socket fd (an error for anything not a socket).
fn socket_family(fd: &OwnedFd) -> io::Result<i32> {
    let address = rustix::net::getsockname(fd)?;
    Ok(i32::from(address.address_family().as_raw()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::{UnixDatagram, UnixListener};

    fn env(pid: &str, fds: &str, names: Option<&str>) -> ActivationEnv {
        ActivationEnv {
            listen_pid: Some(pid.into()),
            listen_fds: Some(fds.into()),
            listen_fdnames: names.map(str::to_string),
        }
    }

    #[test]
    fn fds_count_only_for_our_pid() {
        assert_eq!(env("42", "3", None).fd_count_for(42), 3);
        assert_eq!(env("41", "3", None).fd_count_for(42), 0);
        assert_eq!(env("x", "3", None).fd_count_for(42), 0);
        assert_eq!(env("42", "-1", None).fd_count_for(42), 0);
        assert_eq!(ActivationEnv::default().fd_count_for(42), 0);
    }

    #[test]
    fn names_must_be_present_and_match_the_count() {
        let names = env("1", "2", Some("a.socket:b.socket")).names(2);
        assert_eq!(
            names.expect("names"),
            vec!["a.socket".to_string(), "b.socket".to_string()]
        );
        let missing = env("1", "2", None).names(2).expect_err("missing");
        assert!(missing
            .to_string()
            .starts_with("Missing LISTEN_FDNAMES env from systemd socket activation"));
        let wrong = env("1", "2", Some("a")).names(2).expect_err("count");
        assert_eq!(wrong.to_string(), "Expecting 2 FD names but got 1");
    }

    fn unix_listener(dir: &std::path::Path, name: &str) -> OwnedFd {
        UnixListener::bind(dir.join(name)).expect("bind").into()
    }

    #[test]
    fn claims_by_name_and_reports_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut act = Activation::from_parts([
            (
                "libvirtd.socket".to_string(),
                unix_listener(dir.path(), "a"),
            ),
            (
                "libvirtd.socket".to_string(),
                unix_listener(dir.path(), "b"),
            ),
            ("other.socket".to_string(), unix_listener(dir.path(), "c")),
        ]);
        assert!(act.has_name("libvirtd.socket"));
        let rw = act.claim_sockets("libvirtd.socket", 10).expect("claim");
        assert_eq!(rw.len(), 2, "both fds sharing the name are claimed");
        assert!(rw.iter().all(|s| matches!(s, Socket::Unix(_))));
        assert!(act
            .claim_sockets("libvirtd-ro.socket", 10)
            .expect("none")
            .is_empty());
        let err = act.complete().expect_err("unclaimed");
        let text = err.to_string();
        assert!(
            text.starts_with("Some activation file descriptors are unclaimed: 'other.socket'"),
            "{text}"
        );
    }

    #[test]
    fn tcp_sockets_are_recognised_and_datagrams_refused() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let mut act = Activation::from_parts([
            ("x-tcp.socket".to_string(), OwnedFd::from(tcp)),
            (
                "dgram.socket".to_string(),
                OwnedFd::from(UnixDatagram::unbound().expect("dgram")),
            ),
        ]);
        let tcp = act.claim_sockets("x-tcp.socket", 5).expect("tcp");
        assert!(matches!(tcp.as_slice(), [Socket::Tcp(_)]));
        match act.claim_sockets("dgram.socket", 5) {
            Err(err) => assert!(
                err.to_string()
                    .starts_with("activation socket 'dgram.socket'"),
                "{err}"
            ),
            Ok(_) => panic!("a datagram socket was accepted as a listener"),
        }
        act.complete().expect("everything claimed");
    }
}
