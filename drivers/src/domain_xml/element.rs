//! A small owned XML tree: what we keep of parts of a domain definition we do not model
//! field by field, and the writer that prints any part the way libvirt indents it.

/// An element with its attributes in document order, child elements, and text content
/// (whitespace-only text between child elements is dropped, as libvirt does).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Element {
    /// Name as written, with its namespace prefix if any ("my:foo").
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: Option<String>,
}

impl Element {
    pub fn new(name: &str) -> Self {
        Element {
            name: name.to_string(),
            ..Element::default()
        }
    }

    /// Builder-style attribute append.
    pub fn with_attr(mut self, name: &str, value: &str) -> Self {
        self.attrs.push((name.to_string(), value.to_string()));
        self
    }

    /// Builder-style child append.
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    /// Builder-style text content.
    pub fn with_text(mut self, text: &str) -> Self {
        self.text = Some(text.to_string());
        self
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Sets an attribute, keeping its position when it already exists.
    pub fn set_attr(&mut self, name: &str, value: &str) {
        match self.attrs.iter_mut().find(|(key, _)| key == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.attrs.push((name.to_string(), value.to_string())),
        }
    }

    pub fn remove_attr(&mut self, name: &str) {
        self.attrs.retain(|(key, _)| key != name);
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// Puts attributes named in `order` first, in that order; others follow as they were.
    pub fn order_attrs(&mut self, order: &[&str]) {
        let mut ordered = Vec::with_capacity(self.attrs.len());
        for name in order {
            if let Some(pos) = self.attrs.iter().position(|(key, _)| key == name) {
                ordered.push(self.attrs.remove(pos));
            }
        }
        ordered.append(&mut self.attrs);
        self.attrs = ordered;
    }

    /// Puts children named in `order` first, grouped in that order (stable within a name).
    pub fn order_children(&mut self, order: &[&str]) {
        let rank = |name: &str| order.iter().position(|o| *o == name).unwrap_or(order.len());
        self.children.sort_by_key(|c| rank(&c.name));
    }

    /// Converts a parsed node (and its subtree) into an owned element.
    ///
    /// Recursive, like writing, cloning and dropping an element: documents reach it
    /// through [`super::parse_domain_xml`], whose depth limit bounds the recursion.
    pub fn from_node(node: roxmltree::Node) -> Element {
        let mut element = Element::new(&qualified_name(node));
        let parent = node.parent_element();
        // Most elements declare nothing and see exactly their parent's namespaces: one
        // linear comparison settles it before the per-namespace search.
        let inherits_all = parent.is_some_and(|p| p.namespaces().eq(node.namespaces()));
        for ns in node.namespaces().filter(|_| !inherits_all) {
            let declared_here = parent
                .map(|p| !p.namespaces().any(|pns| pns == ns))
                .unwrap_or(true);
            if declared_here {
                let key = match ns.name() {
                    Some(prefix) => format!("xmlns:{prefix}"),
                    None => "xmlns".to_string(),
                };
                element.attrs.push((key, ns.uri().to_string()));
            }
        }
        for attr in node.attributes() {
            let name = match attr.namespace().and_then(|uri| node.lookup_prefix(uri)) {
                Some(prefix) => format!("{prefix}:{}", attr.name()),
                None => attr.name().to_string(),
            };
            element.attrs.push((name, attr.value().to_string()));
        }
        let mut text = String::new();
        for child in node.children() {
            if child.is_element() {
                element.children.push(Element::from_node(child));
            } else if child.is_text() {
                text.push_str(child.text().unwrap_or(""));
            }
        }
        if element.children.is_empty() && !text.is_empty() {
            element.text = Some(text);
        } else if !text.trim().is_empty() {
            element.text = Some(text.trim().to_string());
        }
        element
    }

    /// Writes the element at `indent` spaces, libvirt style: single-quoted attributes,
    /// two spaces per level, empty elements self-closed.
    pub fn write(&self, out: &mut String, indent: usize) {
        self.write_with(out, indent, Quote::Single);
    }

    /// Writes with double-quoted attributes, as libvirt prints foreign metadata subtrees.
    pub fn write_double_quoted(&self, out: &mut String, indent: usize) {
        self.write_with(out, indent, Quote::Double);
    }

    fn write_with(&self, out: &mut String, indent: usize, quote: Quote) {
        push_indent(out, indent);
        out.push('<');
        out.push_str(&self.name);
        for (key, value) in &self.attrs {
            out.push(' ');
            out.push_str(key);
            match quote {
                Quote::Single => {
                    out.push_str("='");
                    out.push_str(&escape(value));
                    out.push('\'');
                }
                Quote::Double => {
                    out.push_str("=\"");
                    out.push_str(&escape_double_quoted(value));
                    out.push('"');
                }
            }
        }
        if self.children.is_empty() {
            match &self.text {
                Some(text) if !text.is_empty() => {
                    out.push('>');
                    match quote {
                        Quote::Single => out.push_str(&escape(text)),
                        Quote::Double => out.push_str(&escape_text_only(text)),
                    }
                    out.push_str("</");
                    out.push_str(&self.name);
                    out.push_str(">\n");
                }
                _ => out.push_str("/>\n"),
            }
            return;
        }
        out.push_str(">\n");
        for child in &self.children {
            child.write_with(out, indent + 2, quote);
        }
        push_indent(out, indent);
        out.push_str("</");
        out.push_str(&self.name);
        out.push_str(">\n");
    }
}

#[derive(Clone, Copy)]
enum Quote {
    Single,
    Double,
}

fn qualified_name(node: roxmltree::Node) -> String {
    let tag = node.tag_name();
    match tag.namespace().and_then(|uri| node.lookup_prefix(uri)) {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}:{}", tag.name()),
        _ => tag.name().to_string(),
    }
}

pub(crate) fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Escapes text and attribute values the way libvirt's formatter does.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

fn escape_text_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            _ => out.push(ch),
        }
    }
    out
}

fn escape_double_quoted(text: &str) -> String {
    escape_text_only(text).replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Element {
        let doc = roxmltree::Document::parse(xml).expect("test xml parses");
        Element::from_node(doc.root_element())
    }

    #[test]
    fn writes_nested_elements_with_indentation() {
        let el = parse("<a x='1'><b/><c y=\"2\">t</c></a>");
        let mut out = String::new();
        el.write(&mut out, 2);
        assert_eq!(out, "  <a x='1'>\n    <b/>\n    <c y='2'>t</c>\n  </a>\n");
    }

    #[test]
    fn escapes_quotes_and_markup() {
        let el = Element::new("d").with_text("it's <\"x\"> & y");
        let mut out = String::new();
        el.write(&mut out, 0);
        assert_eq!(out, "<d>it&apos;s &lt;&quot;x&quot;&gt; &amp; y</d>\n");
    }

    #[test]
    fn keeps_namespace_prefix_and_declaration() {
        let el = parse("<m><my:foo xmlns:my='http://e/'>bar</my:foo></m>");
        let mut out = String::new();
        el.children[0].write_double_quoted(&mut out, 0);
        assert_eq!(out, "<my:foo xmlns:my=\"http://e/\">bar</my:foo>\n");
    }

    #[test]
    fn orders_attributes_and_children() {
        let mut el = parse("<a z='1' b='2' y='3'><q/><p/><q/></a>");
        el.order_attrs(&["y", "z"]);
        el.order_children(&["p", "q"]);
        assert_eq!(
            el.attrs,
            vec![
                ("y".to_string(), "3".to_string()),
                ("z".to_string(), "1".to_string()),
                ("b".to_string(), "2".to_string())
            ]
        );
        let names: Vec<&str> = el.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["p", "q", "q"]);
    }
}
