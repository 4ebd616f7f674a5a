//! Status files (`<rundir>/DRIVER/NAME.xml`) as a restarted daemon reads
//! them: split into attributes, extra elements and the live definition,
//! which is then parsed as domain XML.

use drivers::domain_list::parse_status;
use drivers::domain_xml::{parse_domain_xml, ParseOptions};

use super::domain_xml::{add_elements, nesting_depth, MAX_DEPTH};
use super::{mutate_text, Features, Target};

pub const TARGET: Target = Target {
    name: "status_file",
    run,
    mutate: mutate_text,
    ci_iterations: 6_000,
};

fn run(input: &[u8]) -> Features {
    let text = String::from_utf8_lossy(input);
    let mut sig = Features::default();
    if nesting_depth(&text) > MAX_DEPTH {
        return sig;
    }
    match parse_status(&text) {
        Ok(doc) => {
            for name in ["state", "reason", "pid", "id", "monitor"] {
                sig.add(("attribute", name, doc.attribute(name).is_some()));
            }
            for (element, attrs) in &doc.children {
                for name in attrs.keys() {
                    let found = doc.child_attribute(element, name).is_some();
                    sig.add(("child", found));
                }
            }
            match parse_domain_xml(&doc.domain_xml, &ParseOptions::default()) {
                Ok(def) => add_elements(&def.to_xml(Default::default()), &mut sig),
                Err(e) => sig.add_kind("domain", &e),
            }
        }
        Err(e) => {
            // The parser's message without the position and quoted text.
            let kind: String = e
                .chars()
                .take_while(|c| c.is_ascii_alphabetic() || *c == ' ')
                .collect();
            sig.add(("status", kind));
        }
    }
    sig
}
