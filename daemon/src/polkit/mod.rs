//! Asking polkitd whether a local process may use the daemon, the way
//! libvirtd's `polkit` auth does: a `CheckAuthorization` call over the system
//! bus for a `unix-process` subject (pid, start time, uid).
//!
//! Each check opens its own bus connection and closes it afterwards: unlike
//! libvirtd, which keeps the first outcome of connecting for the life of the
//! process, a bus that starts after the daemon is used as soon as it is there.
//! The call blocks (polkitd may take its time), so callers run it on a worker.

mod bus;

use std::collections::HashMap;

use thiserror::Error;
use zbus::zvariant::Value;

pub use bus::{system_bus_address, DEFAULT_SYSTEM_BUS};

/// The action a read-only socket's clients ask for.
pub const ACTION_MONITOR: &str = "org.libvirt.unix.monitor";
/// The action a read-write socket's clients ask for.
pub const ACTION_MANAGE: &str = "org.libvirt.unix.manage";

/// `CheckAuthorization` flag: polkitd may ask an agent to authenticate the user.
const ALLOW_USER_INTERACTION: u32 = 1;

/// The process whose rights are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject {
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/PID/stat` field 22): it
    /// tells polkitd which process of that pid is meant.
    pub start_time: u64,
    pub uid: u32,
}

/// Why an authorization check did not grant the action.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PolkitError {
    #[error("access denied by policy")]
    Denied,
    /// Only an interactive authentication could grant it, and nobody can answer.
    #[error("no polkit agent available to authenticate action '{0}'")]
    NeedsAgent(String),
    #[error("user cancelled authentication process")]
    Cancelled,
    #[error("Unable to get system bus connection: {0}")]
    NoBus(String),
    /// polkitd could not be asked (not on the bus, failed, or answered nonsense).
    #[error("{0}")]
    Service(String),
}

/// The `(sa{sv})` subject of `CheckAuthorization`.
type SubjectArg<'a> = (&'a str, HashMap<&'a str, Value<'a>>);

/// The arguments of `CheckAuthorization` (`(sa{sv})sa{ss}us`): subject,
/// action, no details, flags, no cancellation id.
type CheckArgs<'a> = (
    SubjectArg<'a>,
    &'a str,
    HashMap<&'a str, &'a str>,
    u32,
    &'a str,
);

/// The reply of `CheckAuthorization` (`(bba{ss})`).
type CheckReply = (bool, bool, HashMap<String, String>);

/// Asks polkitd, on the system bus at `address`, whether `subject` may do `action`.
pub fn check_authorization(
    address: &str,
    subject: Subject,
    action: &str,
    allow_interaction: bool,
) -> Result<(), PolkitError> {
    let connection = bus::connect(address).map_err(PolkitError::NoBus)?;
    let reply = connection
        .call_method(
            Some("org.freedesktop.PolicyKit1"),
            "/org/freedesktop/PolicyKit1/Authority",
            Some("org.freedesktop.PolicyKit1.Authority"),
            "CheckAuthorization",
            &check_args(subject, action, allow_interaction),
        )
        .map_err(|e| PolkitError::Service(bus::call_error_text(&e)))?;
    let body = reply.body();
    let signature = body.signature().to_string();
    if signature != "(bba{ss})" {
        return Err(PolkitError::Service(format!(
            "Method 'CheckAuthorization' returned type '({signature})', but expected '((bba{{ss}}))'"
        )));
    }
    let (authorized, challenge, details): CheckReply = body
        .deserialize()
        .map_err(|e| PolkitError::Service(format!("Invalid reply from polkit: {e}")))?;
    AuthorizationResult {
        authorized,
        challenge,
        dismissed: details.get("polkit.dismissed").map(String::as_str) == Some("true"),
    }
    .into_outcome(action)
}

/// The typed arguments of `CheckAuthorization` for `subject` and `action`.
fn check_args(subject: Subject, action: &str, allow_interaction: bool) -> CheckArgs<'_> {
    let details = HashMap::from([
        ("pid", Value::U32(subject.pid)),
        ("start-time", Value::U64(subject.start_time)),
        // polkitd wants the uid as a signed int32.
        ("uid", Value::I32(subject.uid as i32)),
    ]);
    let flags = if allow_interaction {
        ALLOW_USER_INTERACTION
    } else {
        0
    };
    (("unix-process", details), action, HashMap::new(), flags, "")
}

/// polkitd's answer: `(is_authorized, is_challenge, details)`.
#[derive(Debug, PartialEq, Eq)]
struct AuthorizationResult {
    authorized: bool,
    challenge: bool,
    dismissed: bool,
}

impl AuthorizationResult {
    fn into_outcome(self, action: &str) -> Result<(), PolkitError> {
        if self.authorized {
            Ok(())
        } else if self.dismissed {
            Err(PolkitError::Cancelled)
        } else if self.challenge {
            Err(PolkitError::NeedsAgent(action.to_string()))
        } else {
            Err(PolkitError::Denied)
        }
    }
}

/// The start time of process `pid` from `/proc/PID/stat`, in clock ticks
/// since boot; None when the process is gone or the file is unreadable.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    start_time_from_stat(&stat)
}

/// Field 22 of a stat line; the command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last ')'.
fn start_time_from_stat(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 3 is the first after the name, so field 22 is the 20th.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_command_names() {
        let stat = "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 10 18446744073709551615";
        assert_eq!(start_time_from_stat(stat), Some(987_654));
        assert_eq!(start_time_from_stat("12 (x) S 1"), None);
        let own = process_start_time(std::process::id() as i32).expect("own start time");
        assert!(own > 0);
    }

    #[test]
    fn the_request_has_the_signature_and_types_polkitd_expects() {
        use zbus::zvariant::DynamicType;
        let subject = Subject {
            pid: 0x0102_0304,
            start_time: 0x0a0b,
            uid: 65534,
        };
        let args = check_args(subject, ACTION_MANAGE, true);
        assert_eq!(args.signature().to_string(), "((sa{sv})sa{ss}us)");
        let ((kind, details), action, extra, flags, cancellation) = &args;
        assert_eq!(*kind, "unix-process");
        assert_eq!(details["pid"], Value::U32(0x0102_0304));
        assert_eq!(details["start-time"], Value::U64(0x0a0b));
        assert_eq!(details["uid"], Value::I32(65534));
        assert_eq!(
            (*action, extra.len(), *flags, *cancellation),
            (ACTION_MANAGE, 0, 1, "")
        );
    }

    #[test]
    fn answers_map_to_libvirts_outcomes() {
        let outcome = |(authorized, challenge, details): (bool, bool, &[(&str, &str)])| {
            AuthorizationResult {
                authorized,
                challenge,
                dismissed: details.contains(&("polkit.dismissed", "true")),
            }
            .into_outcome(ACTION_MONITOR)
        };
        assert_eq!(outcome((true, false, &[])), Ok(()));
        assert_eq!(outcome((false, false, &[])), Err(PolkitError::Denied));
        assert_eq!(
            outcome((false, true, &[])),
            Err(PolkitError::NeedsAgent(ACTION_MONITOR.into()))
        );
        assert_eq!(
            outcome((false, true, &[("polkit.dismissed", "true")])),
            Err(PolkitError::Cancelled)
        );
        assert_eq!(
            PolkitError::NeedsAgent(ACTION_MONITOR.into()).to_string(),
            "no polkit agent available to authenticate action 'org.libvirt.unix.monitor'"
        );
    }
}
