//! `virDomainSetMetadata` / `virDomainGetMetadata` on a definition: the description,
//! the title, and applications' own elements under `<metadata>`, one per namespace URI,
//! stored with the caller's prefix and returned without it, as libvirt does.

use super::{DomainDef, Element};
use crate::api::{codes, domains, DriverError, DriverResult};

/// `virDomainMetadataType`.
pub mod metadata_type {
    pub const DESCRIPTION: i32 = 0;
    pub const TITLE: i32 = 1;
    pub const ELEMENT: i32 = 2;
}

fn error(code: i32, message: &str) -> DriverError {
    DriverError::new(code, domains::DOMAIN, message.to_string())
}

fn not_found() -> DriverError {
    error(
        codes::NO_DOMAIN_METADATA,
        "Requested metadata element is not present",
    )
}

fn unknown_type(kind: i32) -> DriverError {
    error(
        codes::INVALID_ARG,
        &format!("unknown metadata type '{kind}'"),
    )
}

/// Which definitions a metadata call touches, from its `VIR_DOMAIN_AFFECT_*` flags
/// (other flags must have been checked by the caller): (live, config).
pub fn metadata_targets(flags: u32, active: bool, persistent: bool) -> DriverResult<(bool, bool)> {
    const LIVE: u32 = 1;
    const CONFIG: u32 = 2;
    if flags & (LIVE | CONFIG) == LIVE | CONFIG {
        return Err(error(
            codes::INVALID_ARG,
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
        ));
    }
    let (live, config) = match flags & (LIVE | CONFIG) {
        0 => (active, !active),
        f => (f & LIVE != 0, f & CONFIG != 0),
    };
    if live && !active {
        return Err(error(codes::OPERATION_INVALID, "domain is not running"));
    }
    if config && !persistent {
        return Err(error(
            codes::OPERATION_INVALID,
            "transient domains do not have any persistent config",
        ));
    }
    Ok((live, config))
}

/// Index under `<metadata>` of the element declaring `uri` as its own namespace.
fn element_index(metadata: &Element, uri: &str) -> Option<usize> {
    metadata.children.iter().position(|child| {
        let prefix = child.name.split_once(':').map(|(p, _)| p);
        child.attrs.iter().any(|(key, value)| {
            value == uri
                && key
                    .strip_prefix("xmlns:")
                    .is_some_and(|p| Some(p) == prefix)
        })
    })
}

/// Removes `prefix:` from an element's and its descendants' names.
fn strip_prefix(element: &Element, prefix: &str) -> Element {
    let tagged = format!("{prefix}:");
    Element {
        name: element
            .name
            .strip_prefix(&tagged)
            .unwrap_or(&element.name)
            .to_string(),
        attrs: element
            .attrs
            .iter()
            .filter(|(key, _)| *key != format!("xmlns:{prefix}"))
            .cloned()
            .collect(),
        children: element
            .children
            .iter()
            .map(|c| strip_prefix(c, prefix))
            .collect(),
        text: element.text.clone(),
    }
}

/// Puts `prefix:` on an element's and its descendants' names where they have none.
fn add_prefix(element: &mut Element, prefix: &str) {
    if !element.name.contains(':') {
        element.name = format!("{prefix}:{}", element.name);
    }
    for child in element.children.iter_mut() {
        add_prefix(child, prefix);
    }
}

/// The requested metadata.
pub fn get_metadata(def: &DomainDef, kind: i32, uri: Option<&str>) -> DriverResult<String> {
    match kind {
        metadata_type::DESCRIPTION => def.description.clone().ok_or_else(not_found),
        metadata_type::TITLE => def.title.clone().ok_or_else(not_found),
        metadata_type::ELEMENT => {
            let uri = uri.unwrap_or("");
            let metadata = def
                .extra
                .iter()
                .find(|e| e.name == "metadata")
                .ok_or_else(not_found)?;
            let index = element_index(metadata, uri).ok_or_else(not_found)?;
            let element = &metadata.children[index];
            let prefix = element.name.split_once(':').map(|(p, _)| p).unwrap_or("");
            let mut out = String::new();
            strip_prefix(element, prefix).write_double_quoted(&mut out, 0);
            Ok(out.trim_end_matches('\n').to_string())
        }
        other => Err(unknown_type(other)),
    }
}

/// Sets (or with no or empty `metadata`, removes) the metadata of `kind`.
pub fn set_metadata(
    def: &mut DomainDef,
    kind: i32,
    metadata: Option<&str>,
    key: Option<&str>,
    uri: Option<&str>,
) -> DriverResult<()> {
    let mut updated = def.clone();
    apply(&mut updated, kind, metadata, key, uri)?;
    // The definition must still load when the daemon reads it back.
    let xml = updated.to_xml(super::FormatOptions::default());
    super::limits::check_document(&xml)
        .map_err(|e| error(codes::XML_DETAIL, &format!("(metadata_xml): {e}")))?;
    *def = updated;
    Ok(())
}

fn apply(
    def: &mut DomainDef,
    kind: i32,
    metadata: Option<&str>,
    key: Option<&str>,
    uri: Option<&str>,
) -> DriverResult<()> {
    let value = metadata.filter(|m| !m.is_empty()).map(str::to_string);
    match kind {
        metadata_type::DESCRIPTION => def.description = value,
        metadata_type::TITLE => {
            if value.as_deref().is_some_and(|t| t.contains('\n')) {
                return Err(error(
                    codes::INVALID_ARG,
                    "metadata title can't contain newlines",
                ));
            }
            def.title = value;
        }
        metadata_type::ELEMENT => set_element(def, value.as_deref(), key, uri.unwrap_or(""))?,
        other => return Err(unknown_type(other)),
    }
    Ok(())
}

fn set_element(
    def: &mut DomainDef,
    value: Option<&str>,
    key: Option<&str>,
    uri: &str,
) -> DriverResult<()> {
    let new_element = match value {
        Some(text) => {
            // The same bounds as a whole definition: size, depth and node count are
            // checked before the tree is built.
            super::limits::check_document(text)
                .map_err(|e| error(codes::XML_DETAIL, &format!("(metadata_xml): {e}")))?;
            let options = roxmltree::ParsingOptions {
                nodes_limit: super::limits::MAX_NODES,
                ..Default::default()
            };
            let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| {
                error(
                    codes::XML_DETAIL,
                    &format!("(metadata_xml):{}: {e}\n{text}", e.pos().row),
                )
            })?;
            let key = key.unwrap_or("");
            let valid_key = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                && !key.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.');
            if !valid_key {
                return Err(error(
                    codes::INVALID_ARG,
                    &format!("invalid metadata key '{key}'"),
                ));
            }
            let mut element = Element::from_node(doc.root_element());
            add_prefix(&mut element, key);
            element
                .attrs
                .insert(0, (format!("xmlns:{key}"), uri.to_string()));
            Some(element)
        }
        None => None,
    };
    let position = def.extra.iter().position(|e| e.name == "metadata");
    let metadata = match position {
        Some(index) => &mut def.extra[index],
        None if new_element.is_none() => return Ok(()),
        None => {
            def.extra.push(Element::new("metadata"));
            def.extra.last_mut().expect("just pushed")
        }
    };
    let existing = element_index(metadata, uri);
    match (existing, new_element) {
        (Some(index), Some(element)) => metadata.children[index] = element,
        (None, Some(element)) => metadata.children.push(element),
        (Some(index), None) => {
            metadata.children.remove(index);
        }
        (None, None) => {}
    }
    if metadata.children.is_empty() {
        def.extra.retain(|e| e.name != "metadata");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::{parse_domain_xml, FormatOptions, ParseOptions};

    fn def() -> DomainDef {
        parse_domain_xml(
            "<domain type='test'><name>m</name><memory>1024</memory><os><type>hvm</type></os></domain>",
            &ParseOptions::default(),
        )
        .expect("parses")
    }

    #[test]
    fn element_is_stored_with_the_key_and_returned_without_it() {
        let mut d = def();
        set_metadata(
            &mut d,
            metadata_type::ELEMENT,
            Some("<foo a=\"1\"><bar>t</bar></foo>"),
            Some("ex"),
            Some("http://example.org/x"),
        )
        .expect("set");
        let xml = d.to_xml(FormatOptions::default());
        assert!(
            xml.contains("<metadata>\n    <ex:foo xmlns:ex=\"http://example.org/x\" a=\"1\">\n      <ex:bar>t</ex:bar>\n    </ex:foo>\n  </metadata>"),
            "{xml}"
        );
        assert_eq!(
            get_metadata(&d, metadata_type::ELEMENT, Some("http://example.org/x")).expect("get"),
            "<foo a=\"1\">\n  <bar>t</bar>\n</foo>"
        );
        set_metadata(
            &mut d,
            metadata_type::ELEMENT,
            None,
            None,
            Some("http://example.org/x"),
        )
        .expect("remove");
        let err = get_metadata(&d, metadata_type::ELEMENT, Some("http://example.org/x"))
            .expect_err("gone");
        assert_eq!(err.code, codes::NO_DOMAIN_METADATA);
        assert!(!d.to_xml(FormatOptions::default()).contains("metadata"));
    }

    #[test]
    fn description_title_and_bad_input() {
        let mut d = def();
        assert_eq!(
            get_metadata(&d, metadata_type::DESCRIPTION, None)
                .expect_err("none")
                .message,
            "metadata not found: Requested metadata element is not present"
        );
        set_metadata(
            &mut d,
            metadata_type::DESCRIPTION,
            Some("hello"),
            None,
            None,
        )
        .expect("set");
        assert_eq!(
            get_metadata(&d, metadata_type::DESCRIPTION, None).expect("get"),
            "hello"
        );
        assert!(set_metadata(&mut d, metadata_type::TITLE, Some("a\nb"), None, None).is_err());
        let err = set_metadata(
            &mut d,
            metadata_type::ELEMENT,
            Some("<foo"),
            Some("k"),
            Some("u"),
        )
        .expect_err("bad xml");
        assert_eq!(err.code, codes::XML_DETAIL);
        assert_eq!(
            set_metadata(&mut d, 3, Some("x"), None, None)
                .expect_err("type")
                .message,
            "invalid argument: unknown metadata type '3'"
        );
    }
}
