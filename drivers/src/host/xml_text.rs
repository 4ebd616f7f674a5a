//! Escaping text for the XML documents the host module writes.

/// Escapes `text` for use in element content or a single-quoted attribute, as libvirt's
/// buffer escaping does: the five XML specials become entities and control characters
/// other than tab, newline and carriage return are dropped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn specials_and_controls() {
        assert_eq!(
            escape("A&B <x> 'q' \"d\""),
            "A&amp;B &lt;x&gt; &apos;q&apos; &quot;d&quot;"
        );
        assert_eq!(escape("a\u{1}b\tc"), "ab\tc");
        assert_eq!(escape("plain"), "plain");
    }
}
