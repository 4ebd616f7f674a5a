//! QEMU migration capabilities a migration's flags ask for: `auto-converge`
//! (`--auto-converge`, source), `xbzrle` (`--compressed` with libvirt's default
//! method, source), `postcopy-ram` (`--postcopy`, both sides) and `events`
//! (QEMU's `MIGRATION_PASS`, behind libvirt's `MIGRATION_ITERATION` event).
//! Each is set on or off, so a guest migrated twice does not keep what the
//! first migration asked for.

use serde_json::json;

use super::super::qmp::{Monitor, QmpError};
use crate::api::{codes, domains, migrate_flags as mf, DriverError, DriverResult};

/// Which QEMU the capabilities are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Source,
    Destination,
}

/// The capability list for `migrate-set-capabilities`.
pub fn wanted(flags: u32, side: Side) -> Vec<(&'static str, bool)> {
    let source = side == Side::Source;
    vec![
        ("events", true),
        ("auto-converge", source && flags & mf::AUTO_CONVERGE != 0),
        ("xbzrle", source && flags & mf::COMPRESSED != 0),
        ("postcopy-ram", flags & mf::POSTCOPY != 0),
    ]
}

pub fn apply(monitor: &Monitor, flags: u32, side: Side) -> DriverResult<()> {
    let caps: Vec<_> = wanted(flags, side)
        .into_iter()
        .map(|(name, state)| json!({ "capability": name, "state": state }))
        .collect();
    monitor
        .execute(
            "migrate-set-capabilities",
            Some(json!({ "capabilities": caps })),
        )
        .map_err(|e| match e {
            QmpError::Command(text) => DriverError::new(
                codes::INTERNAL_ERROR,
                domains::QEMU,
                format!("unable to execute QEMU command 'migrate-set-capabilities': {text}"),
            ),
            other => super::super::error::QemuError::from(other).into(),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_to_capabilities() {
        let on = |flags, side| -> Vec<&str> {
            wanted(flags, side)
                .into_iter()
                .filter(|(_, on)| *on)
                .map(|(name, _)| name)
                .collect()
        };
        assert_eq!(on(mf::LIVE, Side::Source), vec!["events"]);
        assert_eq!(
            on(
                mf::AUTO_CONVERGE | mf::COMPRESSED | mf::POSTCOPY,
                Side::Source
            ),
            vec!["events", "auto-converge", "xbzrle", "postcopy-ram"]
        );
        assert_eq!(
            on(mf::AUTO_CONVERGE | mf::POSTCOPY, Side::Destination),
            vec!["events", "postcopy-ram"]
        );
    }
}
