//! Asking polkitd whether a local process may use the daemon, the way
//! libvirtd's `polkit` auth does: a `CheckAuthorization` call over the system
//! bus for a `unix-process` subject (pid, start time, uid).
//!
//! Each check opens its own bus connection and closes it afterwards: unlike
//! libvirtd, which keeps the first outcome of connecting for the life of the
//! process, a bus that starts after the daemon is used as soon as it is there.
//! The call blocks (polkitd may take its time), so callers run it on a worker.

mod bus;
mod wire;

use thiserror::Error;

pub use bus::{system_bus_address, BusError, DEFAULT_SYSTEM_BUS};
use wire::{Basic, Call, Reader, WireError, Writer};

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

/// Asks polkitd, on the system bus at `address`, whether `subject` may do `action`.
pub fn check_authorization(
    address: &str,
    subject: Subject,
    action: &str,
    allow_interaction: bool,
) -> Result<(), PolkitError> {
    let mut bus = bus::Bus::connect(address).map_err(|e| PolkitError::NoBus(e.to_string()))?;
    let call = Call {
        destination: "org.freedesktop.PolicyKit1",
        path: "/org/freedesktop/PolicyKit1/Authority",
        interface: "org.freedesktop.PolicyKit1.Authority",
        member: "CheckAuthorization",
        signature: "(sa{sv})sa{ss}us",
    };
    let body = check_body(subject, action, allow_interaction);
    let reply = bus
        .call(&call, &body)
        .map_err(|e| PolkitError::Service(e.to_string()))?;
    if reply.signature != "(bba{ss})" {
        return Err(PolkitError::Service(format!(
            "Method 'CheckAuthorization' returned type '({})', but expected '((bba{{ss}}))'",
            reply.signature
        )));
    }
    let result = parse_result(&reply.body, reply.little)
        .map_err(|e| PolkitError::Service(format!("Invalid reply from polkit: {e}")))?;
    result.into_outcome(action)
}

/// The marshalled arguments of `CheckAuthorization` (no details, no cancellation id).
fn check_body(subject: Subject, action: &str, allow_interaction: bool) -> Vec<u8> {
    let mut w = Writer::default();
    w.align(8);
    w.string("unix-process");
    w.array(8, |w| {
        for (key, value) in [
            ("pid", Basic::U32(subject.pid)),
            ("start-time", Basic::U64(subject.start_time)),
            ("uid", Basic::I32(subject.uid as i32)),
        ] {
            w.align(8);
            w.string(key);
            value.write_variant(w);
        }
    });
    w.string(action);
    w.array(8, |_| {});
    w.u32(if allow_interaction {
        ALLOW_USER_INTERACTION
    } else {
        0
    });
    w.string("");
    w.buf
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

fn parse_result(body: &[u8], little: bool) -> Result<AuthorizationResult, WireError> {
    let mut r = Reader::new(body, little);
    r.start_struct()?;
    let authorized = r.u32()? != 0;
    let challenge = r.u32()? != 0;
    let mut dismissed = false;
    r.array(8, |r| {
        r.start_struct()?;
        let key = r.string()?;
        let value = r.string()?;
        if key == "polkit.dismissed" && value == "true" {
            dismissed = true;
        }
        Ok(())
    })?;
    Ok(AuthorizationResult {
        authorized,
        challenge,
        dismissed,
    })
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
    fn the_request_body_has_the_subject_types_polkitd_expects() {
        let subject = Subject {
            pid: 0x0102_0304,
            start_time: 0x0a0b,
            uid: 65534,
        };
        let body = check_body(subject, ACTION_MANAGE, true);
        let mut r = Reader::new(&body, true);
        r.start_struct().expect("struct");
        assert_eq!(r.string().expect("kind"), "unix-process");
        let mut fields = Vec::new();
        r.array(8, |r| {
            r.start_struct()?;
            let key = r.string()?;
            let sig = r.signature()?;
            let value = match sig.as_str() {
                "t" => r.u64()?,
                _ => u64::from(r.u32()?),
            };
            fields.push((key, sig, value));
            Ok(())
        })
        .expect("subject details");
        assert_eq!(
            fields,
            vec![
                ("pid".to_string(), "u".to_string(), 0x0102_0304),
                ("start-time".to_string(), "t".to_string(), 0x0a0b),
                ("uid".to_string(), "i".to_string(), 65534),
            ]
        );
        assert_eq!(r.string().expect("action"), ACTION_MANAGE);
        r.array(8, |_| Err(WireError::Truncated))
            .expect("no details");
        assert_eq!(r.u32().expect("flags"), 1);
        assert_eq!(r.string().expect("cancellation id"), "");
    }

    fn result_body(authorized: bool, challenge: bool, details: &[(&str, &str)]) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(authorized as u32);
        w.u32(challenge as u32);
        w.array(8, |w| {
            for (k, v) in details {
                w.align(8);
                w.string(k);
                w.string(v);
            }
        });
        w.buf
    }

    #[test]
    fn answers_map_to_libvirts_outcomes() {
        let outcome = |body: Vec<u8>| {
            parse_result(&body, true)
                .expect("parse")
                .into_outcome(ACTION_MONITOR)
        };
        assert_eq!(outcome(result_body(true, false, &[])), Ok(()));
        assert_eq!(
            outcome(result_body(false, false, &[])),
            Err(PolkitError::Denied)
        );
        assert_eq!(
            outcome(result_body(false, true, &[])),
            Err(PolkitError::NeedsAgent(ACTION_MONITOR.into()))
        );
        assert_eq!(
            outcome(result_body(false, true, &[("polkit.dismissed", "true")])),
            Err(PolkitError::Cancelled)
        );
        assert_eq!(
            PolkitError::NeedsAgent(ACTION_MONITOR.into()).to_string(),
            "no polkit agent available to authenticate action 'org.libvirt.unix.monitor'"
        );
        assert!(parse_result(&[1, 0, 0], true).is_err());
    }
}
