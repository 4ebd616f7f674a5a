//! How network XML is laid out: libvirt's element and attribute order, the writer
//! (with libvirt's quirk of an `<ip>` that keeps its closing tag), and the size and
//! depth bounds checked before a document is parsed.

use crate::api::DriverResult;
use crate::domain_xml::{escape, Element};

use super::xml::xml_error;

/// Children of `<network>` in the order libvirt writes them.
pub(super) const NETWORK_ORDER: &[&str] = &[
    "name",
    "uuid",
    "title",
    "description",
    "metadata",
    "forward",
    "bridge",
    "mtu",
    "mac",
    "domain",
    "dns",
    "vlan",
    "bandwidth",
    "ip",
    "route",
    "virtualport",
    "portgroup",
];

/// Attribute order per element name, as libvirt formats them.
fn attr_order(name: &str) -> &'static [&'static str] {
    match name {
        "forward" => &["mode", "dev", "managed"],
        "bridge" => &["name", "zone", "macTableManager", "stp", "delay"],
        "ip" => &["family", "address", "netmask", "prefix", "localPtr"],
        "range" | "port" | "address" => &["start", "end"],
        "host" => &["mac", "id", "name", "ip"],
        "domain" => &["name", "localOnly", "register"],
        "dns" => &["enable", "forwardPlainNames"],
        "forwarder" => &["domain", "addr"],
        "txt" => &["name", "value"],
        "srv" => &[
            "service", "protocol", "domain", "target", "port", "priority", "weight",
        ],
        "route" => &[
            "family", "address", "netmask", "prefix", "gateway", "metric",
        ],
        _ => &[],
    }
}

/// Children order inside nested elements.
fn child_order(name: &str) -> &'static [&'static str] {
    match name {
        "ip" => &["tftp", "dhcp"],
        "dhcp" => &["range", "host", "bootp"],
        "dns" => &["forwarder", "txt", "srv", "host"],
        "forward" => &["nat", "interface", "pf", "address"],
        "nat" => &["address", "port"],
        _ => &[],
    }
}

/// Largest network definition accepted (real ones are a few KiB).
pub(super) const MAX_XML_BYTES: usize = 1024 * 1024;
pub(super) const MAX_XML_NODES: u32 = 50_000;
/// Deepest nesting accepted: building and writing the tree recurse over it.
const MAX_XML_DEPTH: usize = 64;

/// Refuses documents nested deeper than [`MAX_XML_DEPTH`] before the parser builds a
/// tree: a linear scan of the tags (quotes tracked, comments, CDATA and processing
/// instructions skipped). Ill-formed input may be miscounted here; the parser refuses it.
pub(super) fn check_depth(xml: &str) -> DriverResult<()> {
    let b = xml.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    let skip_to = |from: usize, end: &[u8]| -> usize {
        b[from..]
            .windows(end.len())
            .position(|w| w == end)
            .map(|p| from + p + end.len())
            .unwrap_or(b.len())
    };
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            i = skip_to(i + 4, b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            i = skip_to(i + 9, b"]]>");
        } else if rest.starts_with(b"<?") {
            i = skip_to(i + 2, b"?>");
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = skip_to(i + 2, b">");
        } else if rest.starts_with(b"<!") {
            i = skip_to(i + 2, b">");
        } else {
            let mut quote: Option<u8> = None;
            let mut j = i + 1;
            while j < b.len() {
                match (quote, b[j]) {
                    (None, b'"') | (None, b'\'') => quote = Some(b[j]),
                    (Some(q), c) if c == q => quote = None,
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            if j > 0 && j < b.len() && b[j - 1] != b'/' {
                depth += 1;
                if depth > MAX_XML_DEPTH {
                    return Err(xml_error("network definition nested too deeply"));
                }
            }
            i = j + 1;
        }
    }
    Ok(())
}

pub(super) fn strip_layout(e: &mut Element) {
    if !e.children.is_empty() {
        e.text = None;
    }
    for c in &mut e.children {
        strip_layout(c);
    }
}

pub(super) fn sort_tree(e: &mut Element) {
    e.order_attrs(attr_order(&e.name));
    let order = child_order(&e.name);
    if !order.is_empty() {
        e.order_children(order);
    }
    for c in &mut e.children {
        sort_tree(c);
    }
}

/// libvirt writes `<ip>` with a closing tag even when it is empty.
pub(super) fn write_element(e: &Element, out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        out.push_str(&format!(" {k}='{}'", escape(v)));
    }
    if e.children.is_empty() {
        match &e.text {
            Some(t) if !t.is_empty() => {
                out.push_str(&format!(">{}</{}>\n", escape(t), e.name));
            }
            _ if e.name == "ip" => {
                out.push_str(">\n");
                out.extend(std::iter::repeat_n(' ', indent));
                out.push_str("</ip>\n");
            }
            _ => out.push_str("/>\n"),
        }
        return;
    }
    out.push_str(">\n");
    for c in &e.children {
        write_element(c, out, indent + 2);
    }
    out.extend(std::iter::repeat_n(' ', indent));
    out.push_str(&format!("</{}>\n", e.name));
}
