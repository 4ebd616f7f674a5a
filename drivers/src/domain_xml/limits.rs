//! Bounds on a domain document, checked on the raw bytes before any tree is built.
//!
//! Every later stage (the parser's node table, our owned [`super::Element`] trees, their
//! formatting, cloning and dropping) is linear in the document or recursive in its depth,
//! so a client that sends a document nested 200,000 levels deep, or one with millions of
//! nodes, must be stopped here: recursion over such a tree overflows a worker's stack and
//! takes the whole daemon down.

use super::DomainXmlError;

/// Deepest element nesting accepted: libxml2's default without `XML_PARSE_HUGE`, which is
/// what libvirt parses with. Real definitions nest fewer than 10 levels.
pub const MAX_DEPTH: usize = 256;

/// Largest document accepted, in bytes. The RPC layer caps strings at 4 MiB already;
/// this also bounds files read back from disk.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// Most nodes (elements, text runs, comments) the parser may create.
pub const MAX_NODES: u32 = 200_000;

/// Longest excerpt of the offending line quoted in an error, as libxml2 prints context.
const CONTEXT_CHARS: usize = 80;

/// Refuses a document that is larger than [`MAX_BYTES`] or nests elements deeper than
/// [`MAX_DEPTH`]. A linear scan with no allocation; it only needs to be right for
/// well-formed input, since anything else is refused by the parser afterwards.
pub fn check_document(xml: &str) -> Result<(), DomainXmlError> {
    if xml.len() > MAX_BYTES {
        return Err(DomainXmlError::Malformed(format!(
            "(domain_definition):1: Document is {} bytes, more than the limit of {MAX_BYTES}",
            xml.len()
        )));
    }
    let bytes = xml.as_bytes();
    let mut depth = 0usize;
    let mut pos = 0usize;
    while let Some(offset) = memchr(b'<', &bytes[pos..]) {
        let start = pos + offset;
        let rest = &bytes[start..];
        pos = if rest.starts_with(b"<!--") {
            skip_past(bytes, start + 4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_past(bytes, start + 9, b"]]>")
        } else if rest.starts_with(b"<?") {
            skip_past(bytes, start + 2, b"?>")
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") {
            if rest.starts_with(b"</") {
                depth = depth.saturating_sub(1);
            }
            skip_past(bytes, start + 2, b">")
        } else {
            let (end, self_closing) = tag_end(bytes, start + 1);
            if !self_closing {
                if depth >= MAX_DEPTH {
                    return Err(too_deep(xml, start));
                }
                depth += 1;
            }
            end
        };
    }
    Ok(())
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

/// Index just past the first `terminator` at or after `from` (or the end).
fn skip_past(bytes: &[u8], from: usize, terminator: &[u8]) -> usize {
    bytes
        .get(from..)
        .and_then(|tail| tail.windows(terminator.len()).position(|w| w == terminator))
        .map(|at| from + at + terminator.len())
        .unwrap_or(bytes.len())
}

/// End of a start tag beginning at `from` (just past `<`), skipping quoted attribute
/// values, and whether it closes itself (`/>`).
fn tag_end(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut quote: Option<u8> = None;
    let mut index = from;
    while index < bytes.len() {
        let byte = bytes[index];
        match quote {
            Some(q) if byte == q => quote = None,
            Some(_) => {}
            None if byte == b'"' || byte == b'\'' => quote = Some(byte),
            None if byte == b'>' => {
                let self_closing = index > from && bytes[index - 1] == b'/';
                return (index + 1, self_closing);
            }
            None => {}
        }
        index += 1;
    }
    (bytes.len(), false)
}

fn too_deep(xml: &str, offset: usize) -> DomainXmlError {
    let before = &xml[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = xml[line_start..offset].chars().count();
    DomainXmlError::Malformed(format!(
        "(domain_definition):{line}: Excessive depth in document: {MAX_DEPTH}\n{}",
        context(xml, line_start, column)
    ))
}

/// The offending line and a caret under `column`, as libxml2 prints them below a parse
/// error: at most [`CONTEXT_CHARS`] before the column, at most that many in all.
pub fn context(xml: &str, line_start: usize, column: usize) -> String {
    let line = xml[line_start..].lines().next().unwrap_or("");
    let skip = column.saturating_sub(CONTEXT_CHARS);
    let window: String = line.chars().skip(skip).take(CONTEXT_CHARS).collect();
    format!("{window}\n{}^", "-".repeat(column - skip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    #[test]
    fn accepts_the_deepest_allowed_nesting() {
        assert_eq!(check_document(&nested(MAX_DEPTH)), Ok(()));
    }

    #[test]
    fn refuses_one_level_more_with_a_short_message() {
        let err = check_document(&nested(200_000)).expect_err("too deep");
        let DomainXmlError::Malformed(text) = err else {
            panic!("wrong error {err:?}");
        };
        assert!(
            text.starts_with("(domain_definition):1: Excessive depth in document: 256\n"),
            "{text}"
        );
        assert!(text.len() < 300, "{} bytes", text.len());
        assert!(check_document(&nested(MAX_DEPTH + 1)).is_err());
    }

    #[test]
    fn siblings_self_closed_tags_comments_and_quotes_do_not_nest() {
        let wide = format!("<r>{}</r>", "<a x='>'/><b y=\"</c>\"></b>".repeat(10_000));
        assert_eq!(check_document(&wide), Ok(()));
        let hidden = format!(
            "<r><!-- {} --><![CDATA[{}]]><?pi <x> ?></r>",
            "<a>".repeat(1000),
            "<b>".repeat(1000)
        );
        assert_eq!(check_document(&hidden), Ok(()));
    }

    #[test]
    fn refuses_oversized_documents() {
        let big = format!("<r>{}</r>", " ".repeat(MAX_BYTES));
        assert!(matches!(
            check_document(&big),
            Err(DomainXmlError::Malformed(_))
        ));
    }

    #[test]
    fn context_is_cut_around_the_column() {
        let line = "x".repeat(1000);
        let text = context(&line, 0, 500);
        let (window, caret) = text.split_once('\n').expect("two lines");
        assert_eq!(window.len(), CONTEXT_CHARS);
        assert_eq!(caret, format!("{}^", "-".repeat(CONTEXT_CHARS)));
        assert_eq!(context("<a>\n<b x>\n", 4, 4), "<b x>\n----^");
    }
}
