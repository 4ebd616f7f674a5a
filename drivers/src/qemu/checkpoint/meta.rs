//! A checkpoint's metadata: the `<domaincheckpoint>` document, kept as libvirt keeps
//! it under `<statedir>/qemu/checkpoint/<domain>/<name>.xml`.

use std::path::{Path, PathBuf};

use crate::api::{codes, DriverError, DriverResult};
use crate::domain_xml::escape;

/// `VIR_FROM_DOMAIN_CHECKPOINT`.
pub const CHECKPOINT_DOMAIN: i32 = 69;
/// One disk of a checkpoint: `checkpoint='bitmap'` with its bitmap, or `'no'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointDisk {
    pub name: String,
    /// "bitmap" or "no".
    pub kind: String,
    pub bitmap: Option<String>,
    /// Bytes changed since the checkpoint (only in `--size` output).
    pub size: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Checkpoint {
    pub name: String,
    pub description: Option<String>,
    pub parent: Option<String>,
    pub creation_time: u64,
    pub disks: Vec<CheckpointDisk>,
    /// The `<domain>` element as the checkpoint saw the guest.
    pub domain_xml: Option<String>,
}

impl Checkpoint {
    /// The document of `virDomainCheckpointGetXMLDesc`; `with_domain` false for
    /// `VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN`.
    pub fn to_xml(&self, with_domain: bool) -> String {
        let mut out = String::from("<domaincheckpoint>\n");
        out.push_str(&format!("  <name>{}</name>\n", escape(&self.name)));
        if let Some(d) = &self.description {
            out.push_str(&format!("  <description>{}</description>\n", escape(d)));
        }
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
        if !self.disks.is_empty() {
            out.push_str("  <disks>\n");
            for d in &self.disks {
                out.push_str(&format!(
                    "    <disk name='{}' checkpoint='{}'",
                    escape(&d.name),
                    escape(&d.kind)
                ));
                if let Some(b) = &d.bitmap {
                    out.push_str(&format!(" bitmap='{}'", escape(b)));
                }
                if let Some(size) = d.size {
                    out.push_str(&format!(" size='{size}'"));
                }
                out.push_str("/>\n");
            }
            out.push_str("  </disks>\n");
        }
        if with_domain {
            if let Some(domain) = &self.domain_xml {
                for line in domain.lines() {
                    out.push_str("  ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out.push_str("</domaincheckpoint>\n");
        out
    }
}

fn xml_error(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::XML_ERROR, CHECKPOINT_DOMAIN, detail)
}

/// A checkpoint name that can be a file name and a bitmap name: no '/', no leading
/// '.', no control characters or spaces, bounded length (QEMU allows 1023 bytes).
pub fn check_name(name: &str) -> DriverResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains('/')
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '"' || c == '\\' || c == '\'');
    if ok {
        Ok(())
    } else {
        Err(DriverError::new(
            codes::INVALID_ARG,
            CHECKPOINT_DOMAIN,
            format!("invalid checkpoint name '{name}'"),
        ))
    }
}

/// Parses a `<domaincheckpoint>` document (a client's or a stored one).
pub fn parse(xml: &str) -> DriverResult<Checkpoint> {
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| xml_error(format!("(domain_checkpoint): {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "domaincheckpoint" {
        return Err(xml_error("domaincheckpoint"));
    }
    let child = |name: &str| root.children().find(|c| c.has_tag_name(name));
    let text = |name: &str| {
        child(name)
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    let mut chk = Checkpoint {
        name: text("name").unwrap_or_default(),
        description: text("description"),
        parent: child("parent")
            .and_then(|p| p.children().find(|c| c.has_tag_name("name")))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_string()),
        ..Checkpoint::default()
    };
    if let Some(t) = text("creationTime") {
        chk.creation_time = t
            .parse()
            .map_err(|_| xml_error(format!("invalid creationTime '{t}'")))?;
    }
    if let Some(disks) = child("disks") {
        for d in disks.children().filter(|c| c.has_tag_name("disk")) {
            let name = d
                .attribute("name")
                .ok_or_else(|| xml_error("missing name from disk checkpoint element"))?;
            let kind = d.attribute("checkpoint").unwrap_or("bitmap");
            if kind != "bitmap" && kind != "no" {
                return Err(DriverError::new(
                    codes::CONFIG_UNSUPPORTED,
                    CHECKPOINT_DOMAIN,
                    format!("unknown checkpoint type '{kind}'"),
                ));
            }
            let bitmap = d.attribute("bitmap").map(str::to_string);
            if let Some(b) = &bitmap {
                check_name(b)?;
            }
            chk.disks.push(CheckpointDisk {
                name: name.to_string(),
                kind: kind.to_string(),
                bitmap,
                size: None,
            });
        }
    }
    if let Some(domain) = child("domain") {
        chk.domain_xml = Some(super::super::metadata_files::dedent(&xml[domain.range()]));
    }
    if !chk.name.is_empty() {
        check_name(&chk.name)?;
    }
    Ok(chk)
}

/// The metadata directory of one domain.
pub fn dir(lib_dir: &Path, domain: &str) -> PathBuf {
    super::super::metadata_files::dir(lib_dir, "checkpoint", domain)
}

/// Every stored checkpoint of a domain, oldest first (then by name).
pub fn load_all(dir: &Path) -> DriverResult<Vec<Checkpoint>> {
    let mut all = super::super::metadata_files::load_all(
        dir,
        "checkpoint",
        |text| parse(text).ok(),
        |object: &Checkpoint| object.name.as_str(),
    )?;
    all.sort_by(|a, b| (a.creation_time, &a.name).cmp(&(b.creation_time, &b.name)));
    Ok(all)
}

pub fn save(dir: &Path, chk: &Checkpoint) -> DriverResult<()> {
    super::super::metadata_files::save(dir, &chk.name, &chk.to_xml(true))
}

pub fn remove(dir: &Path, name: &str) -> DriverResult<()> {
    super::super::metadata_files::remove(dir, name)
}

/// The error libvirt gives for a name the domain has no checkpoint of.
pub fn no_checkpoint(name: &str) -> DriverError {
    DriverError::new(
        codes::NO_DOMAIN_CHECKPOINT,
        crate::api::domains::QEMU,
        format!("no domain checkpoint with matching name '{name}'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_document_round_trips() {
        let chk = Checkpoint {
            name: "c1".into(),
            description: Some("a <b>".into()),
            parent: Some("c0".into()),
            creation_time: 1_700_000_000,
            disks: vec![
                CheckpointDisk {
                    name: "vda".into(),
                    kind: "bitmap".into(),
                    bitmap: Some("c1".into()),
                    size: None,
                },
                CheckpointDisk {
                    name: "vdb".into(),
                    kind: "no".into(),
                    bitmap: None,
                    size: None,
                },
            ],
            domain_xml: Some("<domain type='qemu'>\n  <name>g</name>\n</domain>".into()),
        };
        assert_eq!(parse(&chk.to_xml(true)).unwrap(), chk);
        assert!(!chk.to_xml(false).contains("<domain "));
    }

    #[test]
    fn hostile_names_are_refused() {
        for name in ["../x", ".hidden", "a b", "a\nb", "", "a'b"] {
            assert!(check_name(name).is_err(), "{name:?}");
        }
        assert!(check_name("chk-1.2").is_ok());
    }
}
