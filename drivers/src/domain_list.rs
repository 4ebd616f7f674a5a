//! Rules every driver's domain list shares: the `virConnectListAllDomains`
//! filter and libvirt's refusal of a definition that clashes with another
//! domain. Drivers keep their own domain objects and pass the facts in.

use crate::api::{format_uuid, list_flags, state, DriverError, DriverResult, Uuid};

/// What a list filter looks at.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListFacts {
    pub active: bool,
    pub persistent: bool,
    pub state: u8,
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

/// The existing domain (index into `existing`, given as name and uuid) that a
/// new definition `name`/`uuid` replaces, or libvirt's refusal when the uuid
/// belongs to another name or the name to another uuid. `error_domain` is the
/// driver's libvirt error domain.
pub fn check_clash<'a>(
    existing: impl Iterator<Item = (&'a str, &'a Uuid)> + Clone,
    name: &str,
    uuid: &Uuid,
    error_domain: i32,
) -> DriverResult<Option<usize>> {
    let clash = |message: String| {
        DriverError::new(crate::api::codes::OPERATION_FAILED, error_domain, message)
    };
    if let Some((index, (other_name, _))) =
        existing.clone().enumerate().find(|(_, (_, u))| *u == uuid)
    {
        if other_name != name {
            return Err(clash(format!(
                "domain '{other_name}' is already defined with uuid {}",
                format_uuid(uuid)
            )));
        }
        return Ok(Some(index));
    }
    if let Some((_, other_uuid)) = existing.into_iter().find(|(n, _)| *n == name) {
        return Err(clash(format!(
            "domain '{name}' already exists with uuid {}",
            format_uuid(other_uuid)
        )));
    }
    Ok(None)
}

/// Reads every `*.xml` of `dir` in name order with `parse`. Broken files, and
/// files whose domain name differs from the file name, are reported and
/// skipped, as libvirt does, so one bad file does not hide the other domains.
pub fn load_definitions(
    dir: &std::path::Path,
    parse: impl Fn(&str) -> Result<crate::domain_xml::DomainDef, String>,
) -> (Vec<crate::domain_xml::DomainDef>, Vec<String>) {
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (loaded, problems);
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml") && p.is_file())
        .collect();
    files.sort();
    for file in files {
        let parsed = std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|text| parse(&text));
        match parsed {
            Ok(def) => {
                let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
                if stem.as_deref() != Some(def.name.as_str()) {
                    problems.push(format!(
                        "{}: domain name '{}' does not match the file name",
                        file.display(),
                        def.name
                    ));
                    continue;
                }
                loaded.push(def);
            }
            Err(e) => problems.push(format!("{}: {e}", file.display())),
        }
    }
    (loaded, problems)
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

    #[test]
    fn clashes_are_refused_and_redefinitions_found() {
        let a = [1u8; 16];
        let b = [2u8; 16];
        let list = [("a", &a), ("b", &b)];
        assert_eq!(
            check_clash(list.iter().copied(), "b", &b, 10).expect("redefine"),
            Some(1)
        );
        assert_eq!(
            check_clash(list.iter().copied(), "c", &[3; 16], 10).expect("new"),
            None
        );
        let err = check_clash(list.iter().copied(), "c", &a, 10).expect_err("uuid clash");
        assert!(
            err.message
                .contains("domain 'a' is already defined with uuid"),
            "{}",
            err.message
        );
        let err = check_clash(list.iter().copied(), "a", &[9; 16], 10).expect_err("name clash");
        assert!(
            err.message
                .contains("domain 'a' already exists with uuid 01010101"),
            "{}",
            err.message
        );
        assert_eq!(
            (err.code, err.domain),
            (crate::api::codes::OPERATION_FAILED, 10)
        );
    }
}
