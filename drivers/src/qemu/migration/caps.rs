//! QEMU migration capabilities a migration's flags ask for: `auto-converge`
//! (`--auto-converge`, source), `xbzrle` (`--compressed` with libvirt's default
//! method, source), `postcopy-ram` (`--postcopy`, both sides) and `events`
//! (QEMU's `MIGRATION_PASS`, behind libvirt's `MIGRATION_ITERATION` event).
//! Each is set on or off, so a guest migrated twice does not keep what the
//! first migration asked for.

use serde_json::json;

use super::super::qmp::{Monitor, QmpError};
use crate::api::{
    codes, domains, migrate_flags as mf, migrate_param as mp, DriverError, DriverResult,
    NamedParam, ParamValue,
};

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

/// The `--compressed` parameters of a migration: every `compression` method
/// named must be xbzrle (the only one offered; others are refused rather than
/// replaced by it), and the xbzrle cache size to set, which needs the flag.
pub fn xbzrle_cache(params: &[NamedParam], flags: u32) -> DriverResult<Option<u64>> {
    let other_method = params.iter().find_map(|p| match &p.value {
        ParamValue::String(method) if p.field == mp::COMPRESSION && method != "xbzrle" => {
            Some(method.clone())
        }
        _ => None,
    });
    if let Some(method) = other_method {
        return Err(DriverError::new(
            codes::ARGUMENT_UNSUPPORTED,
            domains::QEMU,
            format!("compression method '{method}' is not offered; xbzrle is"),
        ));
    }
    let Some(bytes) = super::param_u64(params, mp::COMPRESSION_XBZRLE_CACHE) else {
        return Ok(None);
    };
    if flags & mf::COMPRESSED == 0 {
        return Err(DriverError::new(
            codes::INVALID_ARG,
            domains::QEMU,
            "Turn xbzrle compression on to tune cache size",
        ));
    }
    Ok(Some(bytes))
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
    fn only_xbzrle_compression_is_taken_and_its_cache_needs_the_flag() {
        let text = |field: &str, v: &str| NamedParam::new(field, ParamValue::String(v.into()));
        let size = NamedParam::new(mp::COMPRESSION_XBZRLE_CACHE, ParamValue::ULLong(1 << 25));
        let on = mf::COMPRESSED;
        assert_eq!(xbzrle_cache(&[], on).unwrap(), None);
        let params = [text(mp::COMPRESSION, "xbzrle"), size.clone()];
        assert_eq!(xbzrle_cache(&params, on).unwrap(), Some(1 << 25));
        let mt = [text(mp::COMPRESSION, "xbzrle"), text(mp::COMPRESSION, "mt")];
        let err = xbzrle_cache(&mt, on).unwrap_err();
        assert!(
            err.message.contains("compression method 'mt'"),
            "{}",
            err.message
        );
        let err = xbzrle_cache(&[size], 0).unwrap_err();
        assert!(
            err.message.contains("Turn xbzrle compression on"),
            "{}",
            err.message
        );
    }

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
