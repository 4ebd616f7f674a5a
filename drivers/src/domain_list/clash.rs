//! libvirt's refusal of a definition that clashes with another domain.

use crate::api::{format_uuid, DriverError, DriverResult, Uuid};

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

#[cfg(test)]
mod tests {
    use super::*;

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
