//! Domain XML as `virsh define` hands it to the drivers: parsed, formatted
//! back (both views) and the formatted text parsed again, which must work.

use std::collections::HashSet;
use std::sync::OnceLock;

use drivers::domain_xml::{parse_domain_xml, FormatOptions, ParseOptions};

use super::{mutate_text, Features, Target};

pub const TARGET: Target = Target {
    name: "domain_xml",
    run,
    mutate: mutate_text,
    ci_iterations: 6_000,
};

/// Inputs nested deeper than this are skipped: the parser's own depth
/// limit is what refuses them, and is tested on its own.
pub const MAX_DEPTH: usize = 48;

fn run(input: &[u8]) -> Features {
    let text = String::from_utf8_lossy(input);
    let mut sig = Features::default();
    if nesting_depth(&text) > MAX_DEPTH {
        return sig;
    }
    let options = ParseOptions::default();
    match parse_domain_xml(&text, &options) {
        Ok(def) => {
            let secure = FormatOptions {
                id: Some(1),
                secure: true,
            };
            let inactive = def.to_xml(FormatOptions::default());
            let _live = def.to_xml(secure);
            if let Err(e) = parse_domain_xml(&inactive, &options) {
                panic!("formatted definition does not parse again: {e}\n{inactive}");
            }
            add_elements(&inactive, &mut sig);
        }
        Err(e) => sig.add_kind("parse", &e),
    }
    sig
}

/// Each element and attribute name of the model that the formatter wrote:
/// what of the input the model kept. Only names that the seed definitions
/// produce count; elements the model keeps verbatim (`<metadata>`, foreign
/// namespaces) could otherwise add facts without end.
pub fn add_elements(xml: &str, sig: &mut Features) {
    let known = vocabulary();
    names(xml, &mut |element, attribute| {
        let fact = (element, attribute.unwrap_or(""));
        if known.contains(&(fact.0.to_string(), fact.1.to_string())) {
            sig.add(fact);
        }
    });
}

/// The element and attribute names of the formatted seed definitions.
fn vocabulary() -> &'static HashSet<(String, String)> {
    static NAMES: OnceLock<HashSet<(String, String)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut set = HashSet::new();
        for seed in crate::seeds::for_target("domain_xml") {
            let text = String::from_utf8_lossy(&seed);
            if let Ok(def) = parse_domain_xml(&text, &ParseOptions::default()) {
                let secure = FormatOptions {
                    id: Some(1),
                    secure: true,
                };
                names(&def.to_xml(secure), &mut |e, a| {
                    set.insert((e.to_string(), a.unwrap_or("").to_string()));
                });
            }
        }
        set
    })
}

/// Calls `found(element, None)` per start tag and `found(element,
/// Some(attribute))` per attribute, skipping closing tags.
fn names(xml: &str, found: &mut dyn FnMut(&str, Option<&str>)) {
    for tag in xml.split('<').skip(1) {
        if tag.starts_with('/') {
            continue;
        }
        let mut words = tag.split([' ', '>', '/', '\n']).filter(|w| !w.is_empty());
        let Some(element) = words.next() else {
            continue;
        };
        found(element, None);
        for word in words {
            if let Some((attribute, _)) = word.split_once('=') {
                found(element, Some(attribute));
            }
        }
    }
}

/// An upper bound of the element nesting: opening minus closing tags.
pub fn nesting_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'<' {
            match bytes.get(i + 1) {
                Some(b'/') => depth = depth.saturating_sub(1),
                Some(b'?') | Some(b'!') => {}
                _ => {
                    depth += 1;
                    max = max.max(depth);
                }
            }
        }
    }
    max
}
