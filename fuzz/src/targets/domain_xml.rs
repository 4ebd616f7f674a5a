//! Domain XML as `virsh define` hands it to the drivers: parsed, formatted
//! back (both views) and the formatted text parsed again, which must work.

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

/// Each element name and attribute name the formatter wrote: what of the
/// input the model kept.
pub fn add_elements(xml: &str, sig: &mut Features) {
    for tag in xml.split('<').skip(1) {
        let mut words = tag.split([' ', '>', '/', '\n']).filter(|w| !w.is_empty());
        let Some(name) = words.next() else {
            continue;
        };
        sig.add(("element", name));
        for word in words {
            if let Some((attr, _)) = word.split_once('=') {
                sig.add(("attribute", name, attr));
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
