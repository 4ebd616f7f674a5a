//! sd_notify: tells a service manager how start-up, reloads and shutdown go.
//!
//! One datagram per state change to `$NOTIFY_SOCKET` (a path, or an abstract
//! name when it starts with `@`). Without the variable every call does nothing.
//!
//! libvirt 9.0 sends only `READY=1`, and sends it before its drivers are
//! loaded. This daemon sends `READY=1` once it answers calls (drivers loaded,
//! listeners serving), `RELOADING=1`/`READY=1` around a SIGHUP reload (with
//! `MONOTONIC_USEC`, which `Type=notify-reload` managers require),
//! `STOPPING=1` at shutdown, a `STATUS=` line with each, and `WATCHDOG=1`
//! pings when the manager asks for them with `WATCHDOG_USEC`.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use tracing::warn;

pub struct Notifier {
    target: Option<SocketAddr>,
}

impl Notifier {
    pub fn from_env() -> Notifier {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|value| {
            let text = value.to_string_lossy().into_owned();
            let addr = match text.strip_prefix('@') {
                Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
                None => SocketAddr::from_pathname(&text),
            };
            addr.map_err(|e| warn!("ignoring NOTIFY_SOCKET '{text}': {e}"))
                .ok()
        });
        Notifier { target }
    }

    /// A notifier that sends nothing (tests, or no service manager).
    pub fn disabled() -> Notifier {
        Notifier { target: None }
    }

    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `state` (e.g. "READY=1\nSTATUS=..."); failures are logged, never fatal.
    pub fn send(&self, state: &str) {
        let Some(target) = &self.target else { return };
        let result =
            UnixDatagram::unbound().and_then(|sock| sock.send_to_addr(state.as_bytes(), target));
        if let Err(e) = result {
            warn!("cannot notify the service manager: {e}");
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    pub fn reloading(&self) {
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=Reloading configuration",
            monotonic_usec()
        ));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=Shutting down");
    }

    /// The watchdog period requested by the service manager, if it is for us.
    pub fn watchdog_interval() -> Option<Duration> {
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        if let Some(pid) = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
        {
            if pid != std::process::id() {
                return None;
            }
        }
        (usec > 0).then(|| Duration::from_micros(usec / 2))
    }
}

/// CLOCK_MONOTONIC in microseconds, the clock service managers compare with.
fn monotonic_usec() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
        return 0;
    }
    (now.tv_sec as u64) * 1_000_000 + (now.tv_nsec as u64) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).expect("bind");
        let notifier = Notifier {
            target: Some(SocketAddr::from_pathname(&path).expect("addr")),
        };
        notifier.ready("Serving");
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).expect("datagram");
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=Serving");
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        let name = format!("libvirtd-notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let listener = UnixDatagram::bind_addr(&addr).expect("bind");
        let notifier = Notifier { target: Some(addr) };
        notifier.stopping();
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).expect("datagram");
        assert!(buf[..n].starts_with(b"STOPPING=1"));
    }

    #[test]
    fn reloading_carries_the_monotonic_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).expect("bind");
        let notifier = Notifier {
            target: Some(SocketAddr::from_pathname(&path).expect("addr")),
        };
        let before = monotonic_usec();
        notifier.reloading();
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).expect("datagram");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("RELOADING=1"));
        let usec: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("MONOTONIC_USEC="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no MONOTONIC_USEC in {text:?}"));
        assert!(
            usec >= before && usec <= monotonic_usec(),
            "{usec} {before}"
        );
    }

    #[test]
    fn disabled_sends_nothing() {
        let notifier = Notifier::disabled();
        assert!(!notifier.enabled());
        notifier.ready("x");
    }
}
