//! libvirt's domain states (`VIR_DOMAIN_*`) and the reasons the drivers use
//! beyond those of [`crate::api::reason`]. The wire carries them as numbers;
//! this enum names them and gives the words status files use.

use crate::api::state;

/// `VIR_DOMAIN_PAUSED_SAVE`: paused while its state is written out.
pub const PAUSED_SAVE: i32 = 4;
/// `VIR_DOMAIN_RUNNING_RESTORED`: running again from a saved image.
pub const RUNNING_RESTORED: i32 = 3;

/// `virDomainState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainState {
    NoState,
    Running,
    Blocked,
    Paused,
    Shutdown,
    Shutoff,
    Crashed,
    PmSuspended,
}

impl DomainState {
    const ALL: [(DomainState, u8, &'static str); 8] = [
        (DomainState::NoState, state::NOSTATE, "nostate"),
        (DomainState::Running, state::RUNNING, "running"),
        (DomainState::Blocked, state::BLOCKED, "blocked"),
        (DomainState::Paused, state::PAUSED, "paused"),
        (DomainState::Shutdown, state::SHUTDOWN, "shutdown"),
        (DomainState::Shutoff, state::SHUTOFF, "shutoff"),
        (DomainState::Crashed, state::CRASHED, "crashed"),
        (DomainState::PmSuspended, state::PMSUSPENDED, "pmsuspended"),
    ];

    /// The number on the wire.
    pub fn wire(self) -> u8 {
        Self::ALL
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or(state::NOSTATE, |(_, n, _)| *n)
    }

    pub fn from_wire(value: u8) -> Option<DomainState> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == value)
            .map(|(s, _, _)| *s)
    }

    /// libvirt's word for the state, as in `<domstatus state='running'>`.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or("nostate", |(_, _, w)| w)
    }

    pub fn from_name(name: &str) -> Option<DomainState> {
        Self::ALL
            .iter()
            .find(|(_, _, w)| *w == name)
            .map(|(s, _, _)| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_words_round_trip() {
        for (s, n, w) in DomainState::ALL {
            assert_eq!(s.wire(), n);
            assert_eq!(DomainState::from_wire(n), Some(s));
            assert_eq!(s.name(), w);
            assert_eq!(DomainState::from_name(w), Some(s));
        }
        assert_eq!(DomainState::from_wire(99), None);
        assert_eq!(DomainState::from_name("dancing"), None);
    }
}
