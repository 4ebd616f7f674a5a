//! libvirt's domain states (`virDomainState`), with the numbers the wire carries
//! and the words status files use. Every driver keeps its domains' state as one.

/// `virDomainState`; the discriminant is libvirt's number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DomainState {
    NoState = 0,
    Running = 1,
    Blocked = 2,
    Paused = 3,
    Shutdown = 4,
    #[default]
    Shutoff = 5,
    Crashed = 6,
    PmSuspended = 7,
}

impl DomainState {
    const ALL: [(DomainState, &'static str); 8] = [
        (DomainState::NoState, "nostate"),
        (DomainState::Running, "running"),
        (DomainState::Blocked, "blocked"),
        (DomainState::Paused, "paused"),
        (DomainState::Shutdown, "shutdown"),
        (DomainState::Shutoff, "shutoff"),
        (DomainState::Crashed, "crashed"),
        (DomainState::PmSuspended, "pmsuspended"),
    ];

    /// The number on the wire.
    pub fn wire(self) -> u8 {
        self as u8
    }

    pub fn from_wire(value: u8) -> Option<DomainState> {
        Self::ALL
            .iter()
            .find(|(s, _)| s.wire() == value)
            .map(|(s, _)| *s)
    }

    /// libvirt's word for the state, as in `<domstatus state='running'>`.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("nostate", |(_, w)| w)
    }

    pub fn from_name(name: &str) -> Option<DomainState> {
        Self::ALL.iter().find(|(_, w)| *w == name).map(|(s, _)| *s)
    }
}

impl From<DomainState> for i32 {
    fn from(state: DomainState) -> i32 {
        i32::from(state.wire())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_words_round_trip() {
        for (s, w) in DomainState::ALL {
            assert_eq!(DomainState::from_wire(s.wire()), Some(s));
            assert_eq!(s.name(), w);
            assert_eq!(DomainState::from_name(w), Some(s));
        }
        assert_eq!(DomainState::Paused.wire(), 3);
        assert_eq!(i32::from(DomainState::Shutoff), 5);
        assert_eq!(DomainState::from_wire(99), None);
        assert_eq!(DomainState::from_name("dancing"), None);
    }
}
