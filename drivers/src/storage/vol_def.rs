//! Volume XML: what a client asks for (`vol-create`) and what the driver prints.

use super::errors;
use super::pool_def::{check_name, Permissions};
use crate::api::DriverResult;

/// A volume request parsed from XML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolDef {
    pub name: String,
    pub capacity: u64,
    pub allocation: Option<u64>,
    pub format: Option<String>,
    pub perms: Permissions,
    pub compat: Option<String>,
    pub lazy_refcounts: bool,
    pub backing_path: Option<String>,
    pub backing_format: Option<String>,
    /// `<encryption format='luks'>`: the UUID of the passphrase secret.
    pub encryption_secret: Option<crate::api::Uuid>,
}

/// The passphrase secret of `<target><encryption format='luks'>`; other formats
/// and secrets not named by UUID are refused.
fn encryption_secret(target: Option<roxmltree::Node>) -> DriverResult<Option<crate::api::Uuid>> {
    let Some(enc) = target.and_then(|t| child(t, "encryption")) else {
        return Ok(None);
    };
    match enc.attribute("format") {
        Some("luks") => {}
        Some(other) => {
            return Err(errors::unsupported(&format!(
                "unsupported volume encryption format '{other}'"
            )))
        }
        None => return Err(errors::xml("missing volume encryption format")),
    }
    let secret = enc
        .children()
        .find(|c| c.has_tag_name("secret") && c.attribute("type") == Some("passphrase"))
        .ok_or_else(|| errors::xml("missing passphrase secret of the volume encryption"))?;
    let text = secret.attribute("uuid").ok_or_else(|| {
        errors::unsupported("only encryption secrets named by uuid are supported")
    })?;
    crate::api::parse_uuid(text)
        .map(Some)
        .ok_or_else(|| errors::xml(&format!("malformed volume encryption uuid '{text}'")))
}

/// Bytes in `value` `unit` (libvirt's scaled integers); None on overflow.
pub fn scale(value: &str, unit: Option<&str>) -> Option<u64> {
    let n: u64 = value.trim().parse().ok()?;
    let unit = unit.unwrap_or("bytes");
    let mult: u64 = match unit {
        "b" | "B" | "bytes" => 1,
        "k" | "K" | "KiB" => 1 << 10,
        "KB" => 1000,
        "M" | "m" | "MiB" => 1 << 20,
        "MB" => 1_000_000,
        "G" | "g" | "GiB" => 1 << 30,
        "GB" => 1_000_000_000,
        "T" | "t" | "TiB" => 1 << 40,
        "TB" => 1_000_000_000_000,
        "P" | "p" | "PiB" => 1 << 50,
        "PB" => 1_000_000_000_000_000,
        "E" | "e" | "EiB" => 1 << 60,
        "EB" => 1_000_000_000_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn sized(node: roxmltree::Node, name: &str) -> DriverResult<Option<u64>> {
    let Some(el) = child(node, name) else {
        return Ok(None);
    };
    let text = el.text().unwrap_or("");
    let unit = el.attribute("unit");
    match scale(text, unit) {
        Some(v) if v <= i64::MAX as u64 => Ok(Some(v)),
        Some(_) | None if text.trim().parse::<u64>().is_ok() => Err(crate::api::DriverError::new(
            crate::api::codes::OVERFLOW,
            errors::FROM_STORAGE,
            format!("value too large: {}{}", text.trim(), unit.unwrap_or("")),
        )),
        _ => Err(errors::xml(&format!("malformed {name} element"))),
    }
}

impl VolDef {
    pub fn parse(xml: &str) -> DriverResult<VolDef> {
        if xml.len() > 1024 * 1024 {
            return Err(errors::xml("volume definition is too large"));
        }
        let doc = roxmltree::Document::parse(xml).map_err(|e| {
            crate::api::DriverError::new(
                crate::api::codes::XML_DETAIL,
                errors::FROM_STORAGE,
                format!("(storage_volume_definition):1: {e}"),
            )
        })?;
        let root = doc.root_element();
        if !root.has_tag_name("volume") {
            return Err(errors::xml(&format!(
                "unexpected root element <{}>, expecting <volume>",
                root.tag_name().name()
            )));
        }
        let name = child(root, "name")
            .and_then(|n| n.text())
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        if name.is_empty() {
            return Err(errors::xml("missing volume name element"));
        }
        check_name("volume", &name)?;
        let capacity =
            sized(root, "capacity")?.ok_or_else(|| errors::xml("missing capacity element"))?;
        let allocation = sized(root, "allocation")?;
        let target = child(root, "target");
        let format = target
            .and_then(|t| child(t, "format"))
            .and_then(|f| f.attribute("type"))
            .map(str::to_string);
        if let Some(f) = &format {
            if !matches!(
                f.as_str(),
                "raw"
                    | "dir"
                    | "qcow2"
                    | "none"
                    | "dos"
                    | "gpt"
                    | "linux"
                    | "primary"
                    | "extended"
                    | "logical"
                    | "extended-linux"
            ) {
                return Err(errors::unsupported(&format!(
                    "unknown volume format type {f}"
                )));
            }
        }
        let perms = Permissions::parse(target.and_then(|t| child(t, "permissions")))?;
        let compat = target
            .and_then(|t| child(t, "compat"))
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string());
        if let Some(c) = &compat {
            if !matches!(c.as_str(), "0.10" | "1.1") {
                return Err(errors::xml(&format!(
                    "forbidden characters in 'compat' attribute: {c}"
                )));
            }
        }
        let lazy_refcounts = target
            .and_then(|t| child(t, "features"))
            .is_some_and(|f| child(f, "lazy_refcounts").is_some());
        let backing = child(root, "backingStore");
        let backing_path = backing
            .and_then(|b| child(b, "path"))
            .and_then(|p| p.text())
            .map(|t| t.trim().to_string());
        let backing_format = backing
            .and_then(|b| child(b, "format"))
            .and_then(|f| f.attribute("type"))
            .map(str::to_string);
        if let Some(f) = &backing_format {
            if !matches!(f.as_str(), "raw" | "qcow2") {
                return Err(errors::unsupported(&format!(
                    "unknown volume format type {f}"
                )));
            }
        }
        let encryption_secret = encryption_secret(target)?;
        if encryption_secret.is_some() && format.as_deref() != Some("qcow2") {
            return Err(errors::unsupported(
                "LUKS encryption is supported for qcow2 volumes only",
            ));
        }
        Ok(VolDef {
            name,
            capacity,
            allocation,
            format,
            perms,
            compat,
            lazy_refcounts,
            backing_path,
            backing_format,
            encryption_secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_scale_and_overflow_is_caught() {
        assert_eq!(scale("2", Some("MiB")), Some(2 << 20));
        assert_eq!(scale("20000000", Some("EiB")), None);
        let err = VolDef::parse(
            "<volume><name>v</name><capacity unit='EiB'>20000000</capacity></volume>",
        )
        .unwrap_err();
        assert_eq!(err.code, crate::api::codes::OVERFLOW, "{}", err.message);
    }

    #[test]
    fn qcow2_options_are_read() {
        let def = VolDef::parse(
            "<volume><name>v</name><capacity>10</capacity><target><format type='qcow2'/><compat>1.1</compat><features><lazy_refcounts/></features></target><backingStore><path>/b</path><format type='raw'/></backingStore></volume>",
        )
        .expect("parses");
        assert!(def.lazy_refcounts);
        assert_eq!(def.backing_path.as_deref(), Some("/b"));
        assert_eq!(def.format.as_deref(), Some("qcow2"));
    }
}
