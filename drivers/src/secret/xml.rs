//! The `<secret>` definition: parsed from what clients send or what is on disk,
//! formatted the way libvirt 9.0 formats it (so `secret-dumpxml` reads the same).

use crate::api::{codes, domains, format_uuid, parse_uuid, secret_usage, DriverError, Uuid};
use crate::domain_xml::escape;

/// Largest definition accepted (libvirt reads at most 10 MiB for a secret file;
/// a secret definition is a few hundred bytes, so this bound is generous).
pub const MAX_SECRET_XML: usize = 1024 * 1024;
/// Longest usage ID or description kept (paths and names are far shorter).
const MAX_TEXT: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretDef {
    pub uuid: Uuid,
    pub ephemeral: bool,
    pub private: bool,
    pub description: Option<String>,
    pub usage_type: i32,
    /// Empty for usage "none".
    pub usage_id: String,
}

fn xml_error(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::XML_ERROR, domains::SECRET, detail)
}

/// The element inside `<usage>` that holds the usage ID, and the words of the
/// error libvirt gives when it is missing.
fn usage_element(usage_type: i32) -> Option<(&'static str, &'static str)> {
    match usage_type {
        secret_usage::VOLUME => Some((
            "volume",
            "volume usage specified, but volume path is missing",
        )),
        secret_usage::CEPH => Some(("name", "Ceph usage specified, but name is missing")),
        secret_usage::ISCSI => Some(("target", "iSCSI usage specified, but target is missing")),
        secret_usage::TLS => Some(("name", "TLS usage specified, but name is missing")),
        secret_usage::VTPM => Some(("name", "vTPM usage specified, but name is missing")),
        _ => None,
    }
}

pub fn usage_type_name(usage_type: i32) -> &'static str {
    match usage_type {
        secret_usage::VOLUME => "volume",
        secret_usage::CEPH => "ceph",
        secret_usage::ISCSI => "iscsi",
        secret_usage::TLS => "tls",
        secret_usage::VTPM => "vtpm",
        _ => "none",
    }
}

fn usage_type_from_name(name: &str) -> Option<i32> {
    Some(match name {
        "none" => secret_usage::NONE,
        "volume" => secret_usage::VOLUME,
        "ceph" => secret_usage::CEPH,
        "iscsi" => secret_usage::ISCSI,
        "tls" => secret_usage::TLS,
        "vtpm" => secret_usage::VTPM,
        _ => return None,
    })
}

fn yes_no(node: roxmltree::Node, attr: &str) -> Result<bool, DriverError> {
    match node.attribute(attr) {
        None | Some("no") => Ok(false),
        Some("yes") => Ok(true),
        Some(_) => Err(xml_error(format!("invalid value of '{attr}'"))),
    }
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.has_tag_name(name))
}

fn text_of(node: roxmltree::Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn bounded(text: String, what: &str) -> Result<String, DriverError> {
    if text.len() > MAX_TEXT || text.chars().any(|c| c == '\0') {
        return Err(xml_error(format!(
            "{what} is too long or holds a NUL character"
        )));
    }
    Ok(text)
}

impl SecretDef {
    /// Parses a definition; a missing `<uuid>` gets a fresh random one, as in libvirt.
    pub fn parse(xml: &str) -> Result<SecretDef, DriverError> {
        if xml.len() > MAX_SECRET_XML {
            return Err(xml_error("secret definition is too large"));
        }
        let opts = roxmltree::ParsingOptions {
            nodes_limit: 10_000,
            ..roxmltree::ParsingOptions::default()
        };
        let doc = roxmltree::Document::parse_with_options(xml, opts).map_err(|e| {
            DriverError::new(
                codes::XML_DETAIL,
                domains::XML,
                format!("(definition_of_secret):{}: {e}", e.pos().row),
            )
        })?;
        let root = doc.root_element();
        if root.tag_name().name() != "secret" {
            return Err(xml_error(format!(
                "expecting root element of 'secret', not '{}'",
                root.tag_name().name()
            )));
        }
        let ephemeral = yes_no(root, "ephemeral")?;
        let private = yes_no(root, "private")?;
        let uuid = match child(root, "uuid").map(text_of) {
            None => *uuid::Uuid::new_v4().as_bytes(),
            Some(text) => parse_uuid(&text).ok_or_else(|| {
                DriverError::new(
                    codes::INTERNAL_ERROR,
                    domains::SECRET,
                    "malformed uuid element",
                )
            })?,
        };
        let description = match child(root, "description") {
            Some(d) => Some(bounded(text_of(d), "description")?),
            None => None,
        };
        let (usage_type, usage_id) = match child(root, "usage") {
            None => (secret_usage::NONE, String::new()),
            Some(usage) => {
                let name = usage
                    .attribute("type")
                    .ok_or_else(|| xml_error("unknown secret usage type"))?;
                let usage_type = usage_type_from_name(name).ok_or_else(|| {
                    DriverError::new(
                        codes::CONFIG_UNSUPPORTED,
                        domains::SECRET,
                        format!("unknown secret usage type {name}"),
                    )
                })?;
                match usage_element(usage_type) {
                    None => (usage_type, String::new()),
                    Some((element, missing)) => {
                        let id = child(usage, element).map(text_of).unwrap_or_default();
                        if id.is_empty() {
                            return Err(DriverError::new(
                                codes::INTERNAL_ERROR,
                                domains::SECRET,
                                missing,
                            ));
                        }
                        (usage_type, bounded(id, "usage")?)
                    }
                }
            }
        };
        Ok(SecretDef {
            uuid,
            ephemeral,
            private,
            description,
            usage_type,
            usage_id,
        })
    }

    /// The definition as libvirt 9.0 formats it.
    pub fn format(&self) -> String {
        let yn = |b: bool| if b { "yes" } else { "no" };
        let mut out = format!(
            "<secret ephemeral='{}' private='{}'>\n  <uuid>{}</uuid>\n",
            yn(self.ephemeral),
            yn(self.private),
            format_uuid(&self.uuid)
        );
        if let Some(d) = &self.description {
            out.push_str(&format!("  <description>{}</description>\n", escape(d)));
        }
        if let Some((element, _)) = usage_element(self.usage_type) {
            out.push_str(&format!(
                "  <usage type='{}'>\n    <{element}>{}</{element}>\n  </usage>\n",
                usage_type_name(self.usage_type),
                escape(&self.usage_id)
            ));
        }
        out.push_str("</secret>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_field() {
        let xml = "<secret ephemeral='no' private='yes'>\n  <uuid>0f6e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5f6</uuid>\n  <description>a &amp; b</description>\n  <usage type='ceph'>\n    <name>client.admin</name>\n  </usage>\n</secret>\n";
        let def = SecretDef::parse(xml).expect("parses");
        assert!(def.private && !def.ephemeral);
        assert_eq!(def.usage_type, secret_usage::CEPH);
        assert_eq!(def.usage_id, "client.admin");
        assert_eq!(def.format(), xml);
    }

    #[test]
    fn missing_uuid_is_generated_and_usage_none_is_not_formatted() {
        let def = SecretDef::parse("<secret/>").expect("parses");
        assert_eq!(def.usage_type, secret_usage::NONE);
        assert!(!def.format().contains("<usage"));
    }

    #[test]
    fn refuses_what_libvirt_refuses() {
        let err = SecretDef::parse("<secret><usage type='volume'/></secret>").unwrap_err();
        assert_eq!(
            err.message,
            "internal error: volume usage specified, but volume path is missing"
        );
        let err = SecretDef::parse("<secret><usage type='disk'/></secret>").unwrap_err();
        assert_eq!(
            err.message,
            "unsupported configuration: unknown secret usage type disk"
        );
        assert!(SecretDef::parse("<secret ephemeral='maybe'/>").is_err());
        assert!(SecretDef::parse("<domain/>").is_err());
        assert!(SecretDef::parse("<secret><uuid>nope</uuid></secret>").is_err());
    }
}
