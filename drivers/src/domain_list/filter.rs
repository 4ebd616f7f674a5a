//! The `virConnectListAllDomains` filter, on the facts of one domain.

use crate::api::{list_flags, state, DomainState};

/// What a list filter looks at.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListFacts {
    pub active: bool,
    pub persistent: bool,
    pub state: DomainState,
    pub managed_save: bool,
    pub autostart: bool,
    pub has_snapshot: bool,
    pub has_checkpoint: bool,
}

/// Does a domain with these facts pass the `flags` filter? Each yes/no pair
/// filters only when exactly one of its two flags is given; the state flags
/// accept any of the states asked for.
pub fn matches_list_flags(flags: u32, facts: &ListFacts) -> bool {
    let pair = |yes: u32, no: u32, value: bool| {
        let want_yes = flags & yes != 0;
        let want_no = flags & no != 0;
        want_yes == want_no || (want_yes && value) || (want_no && !value)
    };
    let state_mask =
        list_flags::RUNNING | list_flags::PAUSED | list_flags::SHUTOFF | list_flags::OTHER;
    let s = facts.state;
    let state_ok = flags & state_mask == 0
        || (flags & list_flags::RUNNING != 0 && s == state::RUNNING)
        || (flags & list_flags::PAUSED != 0 && s == state::PAUSED)
        || (flags & list_flags::SHUTOFF != 0 && s == state::SHUTOFF)
        || (flags & list_flags::OTHER != 0
            && !matches!(s, state::RUNNING | state::PAUSED | state::SHUTOFF));
    pair(list_flags::ACTIVE, list_flags::INACTIVE, facts.active)
        && pair(
            list_flags::PERSISTENT,
            list_flags::TRANSIENT,
            facts.persistent,
        )
        && state_ok
        && pair(
            list_flags::MANAGEDSAVE,
            list_flags::NO_MANAGEDSAVE,
            facts.managed_save,
        )
        && pair(
            list_flags::AUTOSTART,
            list_flags::NO_AUTOSTART,
            facts.autostart,
        )
        && pair(
            list_flags::HAS_SNAPSHOT,
            list_flags::NO_SNAPSHOT,
            facts.has_snapshot,
        )
        && pair(
            list_flags::HAS_CHECKPOINT,
            list_flags::NO_CHECKPOINT,
            facts.has_checkpoint,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_filter_only_when_one_side_is_asked() {
        let running = ListFacts {
            active: true,
            persistent: true,
            state: state::RUNNING,
            ..ListFacts::default()
        };
        assert!(matches_list_flags(0, &running));
        assert!(matches_list_flags(list_flags::ACTIVE, &running));
        assert!(!matches_list_flags(list_flags::INACTIVE, &running));
        assert!(matches_list_flags(
            list_flags::ACTIVE | list_flags::INACTIVE,
            &running
        ));
        assert!(!matches_list_flags(list_flags::TRANSIENT, &running));
        assert!(matches_list_flags(
            list_flags::RUNNING | list_flags::PAUSED,
            &running
        ));
        assert!(!matches_list_flags(list_flags::SHUTOFF, &running));
        assert!(!matches_list_flags(list_flags::MANAGEDSAVE, &running));
        assert!(matches_list_flags(list_flags::NO_SNAPSHOT, &running));
    }
}
