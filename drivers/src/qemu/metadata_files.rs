//! The per-domain metadata directories libvirt keeps for snapshots and
//! checkpoints (`<statedir>/qemu/{snapshot,checkpoint}/DOMAIN/NAME.xml`): one
//! XML file per object, written atomically, read back at start.

use std::path::{Path, PathBuf};

use crate::api::{DriverError, DriverResult};

/// Bounds what one metadata file may hold (a domain definition and some lines).
const MAX_FILE: u64 = 4 << 20;

/// The metadata directory of `domain` under `kind` (`snapshot`, `checkpoint`).
pub fn dir(lib_dir: &Path, kind: &str, domain: &str) -> PathBuf {
    lib_dir.join(kind).join(domain)
}

/// The objects stored in `dir`, parsed by `parse` and named by `name`; files
/// that are too large, unreadable or unnamed are skipped (logged as `what`).
pub fn load_all<T>(
    dir: &Path,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
    name: impl Fn(&T) -> &str,
) -> DriverResult<Vec<T>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(DriverError::internal(format!(
                "cannot read {}: {e}",
                dir.display()
            )))
        }
    };
    let mut all = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("xml") {
            continue;
        }
        if entry.metadata().map(|m| m.len() > MAX_FILE).unwrap_or(true) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match parse(&text) {
            Some(object) if !name(&object).is_empty() => all.push(object),
            _ => tracing::warn!("ignoring unreadable {what} metadata {}", path.display()),
        }
    }
    Ok(all)
}

/// Writes `xml` as `dir/NAME.xml` (atomically, 0600), creating `dir`.
pub fn save(dir: &Path, name: &str, xml: &str) -> DriverResult<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| DriverError::internal(format!("cannot create {}: {e}", dir.display())))?;
    crate::fsutil::atomic_write(&dir.join(format!("{name}.xml")), xml.as_bytes())
        .map_err(|e| DriverError::internal(e.to_string()))
}

/// Removes `dir/NAME.xml` if it is there.
pub fn remove(dir: &Path, name: &str) -> DriverResult<()> {
    crate::fsutil::remove_if_exists(&dir.join(format!("{name}.xml")))
        .map_err(|e| DriverError::internal(e.to_string()))
}

/// Removes the two-space indentation an embedded `<domain>` carries inside a
/// `<domainsnapshot>` or `<domaincheckpoint>` document.
pub fn dedent(text: &str) -> String {
    let mut lines = text.lines();
    let mut out = String::new();
    if let Some(first) = lines.next() {
        out.push_str(first);
    }
    for line in lines {
        out.push('\n');
        out.push_str(line.strip_prefix("  ").unwrap_or(line));
    }
    out
}
