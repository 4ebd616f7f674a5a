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
//!
//! The datagrams are sent by the `sd-notify` crate (which also reads the
//! monotonic clock and the watchdog variables); this module decides what is
//! sent when.

use std::time::Duration;

use sd_notify::NotifyState;
use tracing::warn;

pub struct Notifier {
    enabled: bool,
}

impl Notifier {
    /// Notifies when `NOTIFY_SOCKET` is set (a path, or an abstract name
    /// starting with `@`); otherwise every call does nothing.
    pub fn from_env() -> Notifier {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some_and(|v| !v.is_empty()),
        }
    }

    /// A notifier that sends nothing (tests, or no service manager).
    pub fn disabled() -> Notifier {
        Notifier { enabled: false }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Sends `states` in one datagram; failures are logged, never fatal.
    fn notify(&self, states: &[NotifyState]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states) {
            warn!("cannot notify the service manager: {e}");
        }
    }

    /// Sends one raw `KEY=value` state (e.g. "WATCHDOG=1").
    pub fn send(&self, state: &str) {
        self.notify(&[NotifyState::Custom(state)]);
    }

    pub fn ready(&self, status: &str) {
        self.notify(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    pub fn reloading(&self) {
        let mut states = vec![NotifyState::Reloading];
        match NotifyState::monotonic_usec_now() {
            Ok(now) => states.push(now),
            Err(e) => warn!("cannot read the monotonic clock: {e}"),
        }
        states.push(NotifyState::Status("Reloading configuration"));
        self.notify(&states);
    }

    pub fn stopping(&self) {
        self.notify(&[NotifyState::Stopping, NotifyState::Status("Shutting down")]);
    }

    /// Half the watchdog period requested by the service manager, if the
    /// request is for this process (`WATCHDOG_PID` unset or ours).
    pub fn watchdog_interval() -> Option<Duration> {
        sd_notify::watchdog_enabled()
            .filter(|period| !period.is_zero())
            .map(|period| period / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_sends_nothing() {
        let notifier = Notifier::disabled();
        assert!(!notifier.enabled());
        notifier.ready("x");
    }
}
