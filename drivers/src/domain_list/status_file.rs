//! The status file of a running domain, `<rundir>/DRIVER/NAME.xml`: the live
//! definition wrapped in `<domstatus ...>` with what a restarted daemon needs
//! to find the guest again. Drivers choose the attributes and extra elements.

use std::collections::BTreeMap;

use crate::domain_xml::escape;

/// `<domstatus a='..' b='..'>`, one line per element of `children` (already
/// XML), then `domain_xml`, all indented by two spaces.
pub fn format_status(
    attributes: &[(&str, String)],
    children: &[String],
    domain_xml: &str,
) -> String {
    let mut out = String::from("<domstatus");
    for (name, value) in attributes {
        out.push_str(&format!(" {name}='{}'", escape(value)));
    }
    out.push_str(">\n");
    for line in children
        .iter()
        .flat_map(|c| c.lines())
        .chain(domain_xml.lines())
    {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("</domstatus>\n");
    out
}

/// A parsed status document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusDoc {
    pub attributes: BTreeMap<String, String>,
    /// Attributes of the other elements below `<domstatus>`, by element name.
    pub children: BTreeMap<String, BTreeMap<String, String>>,
    /// The `<domain>` element's text, for the driver's parser.
    pub domain_xml: String,
}

impl StatusDoc {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    pub fn child_attribute(&self, element: &str, name: &str) -> Option<&str> {
        self.children
            .get(element)
            .and_then(|a| a.get(name))
            .map(String::as_str)
    }
}

/// Splits a status document; `Err` says what is wrong with it.
pub fn parse_status(text: &str) -> Result<StatusDoc, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if !root.has_tag_name("domstatus") {
        return Err("not a domstatus document".into());
    }
    let attrs_of = |node: roxmltree::Node| {
        node.attributes()
            .map(|a| (a.name().to_string(), a.value().to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    let mut status = StatusDoc {
        attributes: attrs_of(root),
        ..StatusDoc::default()
    };
    let mut domain = None;
    for child in root.children().filter(|n| n.is_element()) {
        if child.has_tag_name("domain") {
            domain.get_or_insert(child.range());
        } else {
            status
                .children
                .entry(child.tag_name().name().to_string())
                .or_insert_with(|| attrs_of(child));
        }
    }
    let range = domain.ok_or("missing domain definition")?;
    status.domain_xml = text[range].to_string();
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_children() {
        let text = format_status(
            &[("state", "running".into()), ("pid", "42".into())],
            &["<monitor path='/run/a &amp; b'/>".into()],
            "<domain type='lxc'>\n  <name>c</name>\n</domain>",
        );
        assert_eq!(
            text,
            "<domstatus state='running' pid='42'>\n  <monitor path='/run/a &amp; b'/>\n  \
             <domain type='lxc'>\n    <name>c</name>\n  </domain>\n</domstatus>\n"
        );
        let doc = parse_status(&text).expect("parses");
        assert_eq!(doc.attribute("pid"), Some("42"));
        assert_eq!(doc.child_attribute("monitor", "path"), Some("/run/a & b"));
        assert!(doc.domain_xml.starts_with("<domain type='lxc'>"));
        assert!(parse_status("<domain/>").is_err());
        assert!(parse_status("<domstatus/>").is_err());
        assert!(parse_status("<domstatus").is_err());
    }
}
