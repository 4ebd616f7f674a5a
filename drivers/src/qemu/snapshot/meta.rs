//! A snapshot's metadata: the `<domainsnapshot>` document a client writes or reads,
//! and the files that keep it under `<statedir>/qemu/snapshot/<domain>/<name>.xml`
//! (with `<active>1</active>` marking the current snapshot, as libvirt stores it).

use std::path::{Path, PathBuf};

use crate::api::{codes, DriverError, DriverResult};
use crate::domain_xml::escape;

/// `VIR_FROM_DOMAIN_SNAPSHOT`.
pub const SNAPSHOT_DOMAIN: i32 = 35;

/// One disk of a snapshot: how it was captured and, for external ones, the overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapDisk {
    pub name: String,
    /// "internal", "external" or "no".
    pub kind: String,
    pub source: Option<String>,
    pub driver: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub name: String,
    pub description: Option<String>,
    /// "running", "paused", "shutoff" or "disk-snapshot".
    pub state: String,
    pub parent: Option<String>,
    pub creation_time: u64,
    /// `<memory snapshot>`: "internal", "external" or "no".
    pub memory: String,
    /// `<memory file>` of an external memory snapshot.
    pub memory_file: Option<String>,
    pub disks: Vec<SnapDisk>,
    /// The `<domain>` element as the snapshot saw the guest.
    pub domain_xml: Option<String>,
    pub current: bool,
}

impl Snapshot {
    pub fn is_external(&self) -> bool {
        self.state == "disk-snapshot"
            || self.memory == "external"
            || self.disks.iter().any(|d| d.kind == "external")
    }

    pub fn is_active(&self) -> bool {
        matches!(self.state.as_str(), "running" | "paused")
    }

    /// The document libvirt prints for `virDomainSnapshotGetXMLDesc`; `stored` adds
    /// the `<active>` marker kept in the metadata file.
    pub fn to_xml(&self, stored: bool) -> String {
        let mut out = String::from("<domainsnapshot>\n");
        out.push_str(&format!("  <name>{}</name>\n", escape(&self.name)));
        if let Some(d) = &self.description {
            out.push_str(&format!("  <description>{}</description>\n", escape(d)));
        }
        out.push_str(&format!("  <state>{}</state>\n", escape(&self.state)));
        if let Some(p) = &self.parent {
            out.push_str(&format!(
                "  <parent>\n    <name>{}</name>\n  </parent>\n",
                escape(p)
            ));
        }
        out.push_str(&format!(
            "  <creationTime>{}</creationTime>\n",
            self.creation_time
        ));
        match &self.memory_file {
            Some(file) => out.push_str(&format!(
                "  <memory snapshot='{}' file='{}'/>\n",
                escape(&self.memory),
                escape(file)
            )),
            None => out.push_str(&format!(
                "  <memory snapshot='{}'/>\n",
                escape(&self.memory)
            )),
        }
        if !self.disks.is_empty() {
            out.push_str("  <disks>\n");
            for d in &self.disks {
                let name = escape(&d.name);
                let kind = escape(&d.kind);
                match &d.source {
                    Some(source) => {
                        out.push_str(&format!(
                            "    <disk name='{name}' snapshot='{kind}' type='file'>\n"
                        ));
                        if let Some(driver) = &d.driver {
                            out.push_str(&format!("      <driver type='{}'/>\n", escape(driver)));
                        }
                        out.push_str(&format!("      <source file='{}'/>\n", escape(source)));
                        out.push_str("    </disk>\n");
                    }
                    None => out.push_str(&format!("    <disk name='{name}' snapshot='{kind}'/>\n")),
                }
            }
            out.push_str("  </disks>\n");
        }
        if let Some(domain) = &self.domain_xml {
            for line in domain.lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
        if stored {
            out.push_str(&format!("  <active>{}</active>\n", u8::from(self.current)));
        }
        out.push_str("</domainsnapshot>\n");
        out
    }
}

fn xml_error(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::XML_ERROR, SNAPSHOT_DOMAIN, detail)
}

/// A snapshot name that can be a file name and an HMP argument: no '/', no leading
/// '.', no control characters or spaces, bounded length.
pub fn check_name(name: &str) -> DriverResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains('/')
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '"' || c == '\\');
    if ok {
        Ok(())
    } else {
        Err(DriverError::new(
            codes::INVALID_ARG,
            SNAPSHOT_DOMAIN,
            format!("invalid snapshot name '{name}'"),
        ))
    }
}

/// Parses a `<domainsnapshot>` document (a client's or a stored one). Fields the
/// document leaves out stay empty for the caller to fill.
pub fn parse(xml: &str) -> DriverResult<Snapshot> {
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| xml_error(format!("(domain_snapshot): {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "domainsnapshot" {
        return Err(xml_error("domainsnapshot"));
    }
    let child = |name: &str| root.children().find(|c| c.has_tag_name(name));
    let text = |name: &str| {
        child(name)
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    let mut snap = Snapshot {
        name: text("name").unwrap_or_default(),
        description: text("description"),
        state: text("state").unwrap_or_default(),
        parent: child("parent")
            .and_then(|p| p.children().find(|c| c.has_tag_name("name")))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_string()),
        memory: child("memory")
            .and_then(|m| m.attribute("snapshot"))
            .unwrap_or_default()
            .to_string(),
        memory_file: child("memory")
            .and_then(|m| m.attribute("file"))
            .map(str::to_string),
        current: text("active").as_deref() == Some("1"),
        ..Snapshot::default()
    };
    if let Some(t) = text("creationTime") {
        snap.creation_time = t
            .parse()
            .map_err(|_| xml_error(format!("invalid creationTime '{t}'")))?;
    }
    if let Some(disks) = child("disks") {
        for d in disks.children().filter(|c| c.has_tag_name("disk")) {
            let name = d
                .attribute("name")
                .ok_or_else(|| xml_error("missing name from disk snapshot element"))?;
            let source = d.children().find(|c| c.has_tag_name("source"));
            snap.disks.push(SnapDisk {
                name: name.to_string(),
                kind: d.attribute("snapshot").unwrap_or_default().to_string(),
                source: source.and_then(|s| s.attribute("file")).map(str::to_string),
                driver: d
                    .children()
                    .find(|c| c.has_tag_name("driver"))
                    .and_then(|c| c.attribute("type"))
                    .map(str::to_string),
            });
        }
    }
    if let Some(domain) = child("domain") {
        snap.domain_xml = Some(super::super::metadata_files::dedent(&xml[domain.range()]));
    }
    if !snap.name.is_empty() {
        check_name(&snap.name)?;
    }
    Ok(snap)
}

/// The embedded definition without its `passwd` attributes (what a client sees
/// without `VIR_DOMAIN_SNAPSHOT_XML_SECURE`).
pub fn without_passwords(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(at) = rest.find(" passwd='") {
        out.push_str(&rest[..at]);
        let value = &rest[at + " passwd='".len()..];
        rest = value.find('\'').map_or("", |end| &value[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// The metadata directory of one domain.
pub fn dir(lib_dir: &Path, domain: &str) -> PathBuf {
    super::super::metadata_files::dir(lib_dir, "snapshot", domain)
}

/// Every stored snapshot of a domain, oldest first (then by name).
pub fn load_all(dir: &Path) -> DriverResult<Vec<Snapshot>> {
    let mut all = super::super::metadata_files::load_all(
        dir,
        "snapshot",
        |text| parse(text).ok(),
        |object: &Snapshot| object.name.as_str(),
    )?;
    all.sort_by(|a, b| (a.creation_time, &a.name).cmp(&(b.creation_time, &b.name)));
    Ok(all)
}

pub fn save(dir: &Path, snap: &Snapshot) -> DriverResult<()> {
    super::super::metadata_files::save(dir, &snap.name, &snap.to_xml(true))
}

pub fn remove(dir: &Path, name: &str) -> DriverResult<()> {
    super::super::metadata_files::remove(dir, name)
}

/// The error libvirt gives for a name the domain has no snapshot of.
pub fn no_snapshot(name: &str) -> DriverError {
    DriverError::new(
        codes::NO_DOMAIN_SNAPSHOT,
        crate::api::domains::QEMU,
        format!("no domain snapshot with matching name '{name}'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_document_round_trips() {
        let snap = Snapshot {
            name: "s1".into(),
            description: Some("a <b>".into()),
            state: "running".into(),
            parent: Some("s0".into()),
            creation_time: 1_700_000_000,
            memory: "external".into(),
            memory_file: Some("/x/m.s1".into()),
            disks: vec![SnapDisk {
                name: "vda".into(),
                kind: "external".into(),
                source: Some("/x/d.s1".into()),
                driver: Some("qcow2".into()),
            }],
            domain_xml: Some("<domain type='qemu'>\n  <name>g</name>\n</domain>".into()),
            current: true,
        };
        assert_eq!(parse(&snap.to_xml(true)).unwrap(), snap);
        assert!(!snap.to_xml(false).contains("<active>"));
    }

    #[test]
    fn passwords_are_hidden_unless_asked_for() {
        let xml = "<graphics type='vnc' port='-1' passwd='s3cret' listen='x'/>";
        assert_eq!(
            without_passwords(xml),
            "<graphics type='vnc' port='-1' listen='x'/>"
        );
    }

    #[test]
    fn hostile_names_are_refused() {
        for name in ["../x", ".hidden", "a b", "a\nb", ""] {
            assert!(check_name(name).is_err(), "{name:?}");
        }
        assert!(check_name("snap-1.2").is_ok());
    }
}
