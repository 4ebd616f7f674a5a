//! Distinguished names as `tls_allowed_dn_list` sees them, and the list's
//! wildcard matching.
//!
//! The string is the one `virt-pki-query-dn` prints: attributes in the order
//! the certificate encodes them (not the reversed RFC 4514 order), joined with
//! `,` and no spaces, parts of a multi-valued RDN joined with `+`, values
//! escaped as RFC 4514 asks. Patterns know `*` (any run of characters) and
//! `?` (one character) and must match the whole name.

use x509_parser::der_parser::asn1_rs::ToDer;
use x509_parser::der_parser::oid::Oid;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// Short names GnuTLS prints, by dotted OID.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("2.5.4.6", "C"),
    ("2.5.4.8", "ST"),
    ("2.5.4.7", "L"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "surName"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.9", "street"),
    ("2.5.4.12", "title"),
    ("2.5.4.17", "postalCode"),
    ("2.5.4.41", "name"),
    ("2.5.4.42", "givenName"),
    ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.65", "pseudonym"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.2.840.113549.1.9.1", "EMAIL"),
];

/// Formats `name` the way the allow-list matches it.
pub fn format_dn(name: &X509Name<'_>) -> String {
    name.iter()
        .map(|rdn| {
            rdn.iter()
                .map(format_attribute)
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn format_attribute(attr: &AttributeTypeAndValue<'_>) -> String {
    let oid = attr.attr_type();
    match (short_name(oid), attr.as_str()) {
        (Some(short), Ok(value)) => format!("{short}={}", escape_value(value)),
        // Unknown types and values that are not strings: the DER value in hex.
        (short, _) => {
            let label = short
                .map(str::to_string)
                .unwrap_or_else(|| oid.to_id_string());
            let hex: String = attr
                .attr_value()
                .to_der_vec()
                .unwrap_or_default()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{label}=#{hex}")
        }
    }
}

fn short_name(oid: &Oid<'_>) -> Option<&'static str> {
    let dotted = oid.to_id_string();
    SHORT_NAMES
        .iter()
        .find(|(o, _)| *o == dotted)
        .map(|(_, short)| *short)
}

/// RFC 4514 escaping: the special characters anywhere, `#` and space at the
/// start, space at the end.
pub fn escape_value(value: &str) -> String {
    let count = value.chars().count();
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == count && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `dn` matches one of `patterns`; an empty list admits nobody.
pub fn allowed(dn: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| glob_match(p, dn))
}

/// Whole-string match with `*` and `?` (no character classes, no escapes).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position after the last `*` seen and the text position it was tried at.
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            pi += 1;
            backtrack = Some((pi, ti));
        } else if let Some((star_p, star_t)) = backtrack {
            pi = star_p;
            ti = star_t + 1;
            backtrack = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DN: &str = "C=GB,ST=London,L=London,O=Test Org,CN=testclient";

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_and_wildcard_patterns_match_as_libvirt_does() {
        assert!(allowed(DN, &list(&[DN])));
        assert!(allowed(DN, &list(&["C=GB,*"])));
        assert!(allowed(DN, &list(&["*CN=testclient"])));
        assert!(allowed(DN, &list(&["C=G?,*,CN=test*"])));
        assert!(allowed(DN, &list(&["*"])));
    }

    #[test]
    fn other_orders_spacing_and_empty_lists_do_not_match() {
        assert!(!allowed(
            DN,
            &list(&["CN=testclient,O=Test Org,L=London,ST=London,C=GB"])
        ));
        assert!(!allowed(
            DN,
            &list(&["C=GB, ST=London, L=London, O=Test Org, CN=testclient"])
        ));
        assert!(!allowed(DN, &list(&[])));
        assert!(!allowed(DN, &list(&["C=GB"])));
        assert!(!allowed(DN, &list(&["*CN=testclient?"])));
    }

    #[test]
    fn glob_handles_backtracking_and_edges() {
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(glob_match("a*b", "abab"));
        assert!(!glob_match("a*b", "abac"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "x"));
        assert!(glob_match("**", ""));
        assert!(!glob_match("?", ""));
        assert!(glob_match("[x]", "[x]"));
    }

    #[test]
    fn values_are_escaped_like_rfc4514() {
        assert_eq!(
            escape_value("Foo, Inc + \"Bar\" <x>;y"),
            "Foo\\, Inc \\+ \\\"Bar\\\" \\<x\\>\\;y"
        );
        assert_eq!(escape_value("#hashback"), "\\#hashback");
        assert_eq!(escape_value(" lead trail "), "\\ lead trail\\ ");
        assert_eq!(escape_value("a#b c"), "a#b c");
    }
}
