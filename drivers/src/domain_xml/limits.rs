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

/// Most attributes on one element. The parser checks each attribute against the ones
/// before it, so an element with 100,000 attributes (1 MB) costs it half a minute;
/// libvirt's busiest elements carry about 15.
pub const MAX_ATTRIBUTES: usize = 256;

/// Most namespace declarations in a document. The parser copies the namespaces in scope
/// into every element that declares one, and we compare each element's namespaces with
/// its parent's, so their number multiplies the cost of every element; definitions use
/// a handful (one per application keeping `<metadata>`, one for `qemu:commandline`).
pub const MAX_NAMESPACES: usize = 32;

/// Longest excerpt of the offending line quoted in an error, as libxml2 prints context.
const CONTEXT_CHARS: usize = 80;

/// Refuses a document that is larger than [`MAX_BYTES`], nests elements deeper than
/// [`MAX_DEPTH`], has an element with more than [`MAX_ATTRIBUTES`] attributes or
/// declares more than [`MAX_NAMESPACES`] namespaces. A linear scan with no allocation; it only needs to be right for
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
    let mut namespaces = 0usize;
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
            let tag = tag_end(bytes, start + 1);
            let (end, self_closing, attributes) = (tag.end, tag.self_closing, tag.attributes);
            namespaces += tag.namespaces;
            if namespaces > MAX_NAMESPACES {
                return Err(refusal(
                    xml,
                    start,
                    &format!("Too many namespace declarations: more than {MAX_NAMESPACES}"),
                ));
            }
            if attributes > MAX_ATTRIBUTES {
                return Err(refusal(
                    xml,
                    start,
                    &format!("Too many attributes on one element: more than {MAX_ATTRIBUTES}"),
                ));
            }
            if !self_closing {
                if depth >= MAX_DEPTH {
                    return Err(refusal(
                        xml,
                        start,
                        &format!("Excessive depth in document: {MAX_DEPTH}"),
                    ));
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

/// What the scan learns about one start tag.
struct StartTag {
    /// Index just past its `>`.
    end: usize,
    /// Whether it closes itself (`/>`).
    self_closing: bool,
    /// One per `=` outside quotes.
    attributes: usize,
    /// Attributes named `xmlns` or `xmlns:*`.
    namespaces: usize,
}

/// Scans a start tag beginning at `from` (just past `<`), skipping quoted attribute
/// values.
fn tag_end(bytes: &[u8], from: usize) -> StartTag {
    let mut tag = StartTag {
        end: bytes.len(),
        self_closing: false,
        attributes: 0,
        namespaces: 0,
    };
    let mut quote: Option<u8> = None;
    // The current word and the last complete one, to name the attribute at a `=`.
    let mut word_start = from;
    let mut last_word: &[u8] = &[];
    let mut index = from;
    while index < bytes.len() {
        let byte = bytes[index];
        match quote {
            Some(q) if byte == q => {
                quote = None;
                word_start = index + 1;
            }
            Some(_) => {}
            None if byte == b'"' || byte == b'\'' => quote = Some(byte),
            None if byte.is_ascii_whitespace() => {
                if index > word_start {
                    last_word = &bytes[word_start..index];
                }
                word_start = index + 1;
            }
            None if byte == b'=' => {
                let name = if index > word_start {
                    &bytes[word_start..index]
                } else {
                    last_word
                };
                tag.attributes += 1;
                if name == b"xmlns" || name.starts_with(b"xmlns:") {
                    tag.namespaces += 1;
                }
                word_start = index + 1;
            }
            None if byte == b'>' => {
                tag.end = index + 1;
                tag.self_closing = index > from && bytes[index - 1] == b'/';
                return tag;
            }
            None => {}
        }
        index += 1;
    }
    tag
}

/// A refusal in libxml2's layout: position, reason, then the line and a caret.
fn refusal(xml: &str, offset: usize, reason: &str) -> DomainXmlError {
    let before = &xml[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = xml[line_start..offset].chars().count();
    DomainXmlError::Malformed(format!(
        "(domain_definition):{line}: {reason}\n{}",
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
    fn refuses_elements_with_too_many_attributes() {
        let attrs = |n: usize| -> String { (0..n).map(|i| format!(" a{i}='='")).collect() };
        let ok = format!("<r{}/>", attrs(MAX_ATTRIBUTES));
        assert_eq!(check_document(&ok), Ok(()));
        let many = format!("<r>\n<e{}/></r>", attrs(100_000));
        let Err(DomainXmlError::Malformed(text)) = check_document(&many) else {
            panic!("accepted");
        };
        assert!(
            text.starts_with("(domain_definition):2: Too many attributes on one element"),
            "{text}"
        );
    }

    #[test]
    fn counts_namespace_declarations_across_the_document() {
        let decls = |n: usize| -> String {
            (0..n)
                .map(|i| format!(" xmlns:p{i} = 'u{i}' p{i}:a='xmlns:q=x'"))
                .collect()
        };
        let ok = format!("<r xmlns='d'{}/>", decls(MAX_NAMESPACES - 1));
        assert_eq!(check_document(&ok), Ok(()));
        let spread = format!("<r{}><e{}/></r>", decls(20), decls(20));
        let Err(DomainXmlError::Malformed(text)) = check_document(&spread) else {
            panic!("accepted");
        };
        assert!(text.contains("Too many namespace declarations"), "{text}");
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
