//! The coverage report: per family, how many of libvirt's calls the daemon
//! serves, generated from the procedure table. The README's status section
//! and `docs/coverage.md` must hold exactly the current report, so every
//! change to the table keeps them current.

use std::path::PathBuf;

use protocol::table::{coverage_markdown, family_coverage, reason_problems, unserved_markdown};

const BEGIN: &str = "<!-- coverage:begin (generated: cargo test -p protocol --test coverage) -->\n";
const END: &str = "<!-- coverage:end -->";

fn repo_file(name: &str) -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name);
    // A missing file compares as empty, so the failure prints what to write.
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    (path, text)
}

/// `COVERAGE_WRITE=1 cargo test -p protocol --test coverage` rewrites the
/// generated parts instead of failing.
fn rewriting() -> bool {
    std::env::var_os("COVERAGE_WRITE").is_some()
}

#[test]
fn readme_status_holds_the_current_table() {
    let (path, readme) = repo_file("README.md");
    let want = coverage_markdown();
    if rewriting() {
        let (head, rest) = readme
            .split_once(BEGIN)
            .expect("README has the coverage markers");
        let (_, tail) = rest.split_once(END).expect("README has the end marker");
        std::fs::write(&path, format!("{head}{BEGIN}{want}{END}{tail}")).expect("write README");
        return;
    }
    let found = readme
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(table, _)| table);
    assert!(
        found == Some(want.as_str()),
        "{} must contain, between its coverage markers, exactly:\n\n{BEGIN}{want}{END}\n",
        path.display()
    );
}

#[test]
fn unserved_list_is_current() {
    let (path, doc) = repo_file("docs/coverage.md");
    let want = unserved_markdown();
    if rewriting() {
        std::fs::write(&path, &want).expect("write docs/coverage.md");
        return;
    }
    assert!(doc == want, "{} must be exactly:\n\n{want}", path.display());
}

#[test]
fn counts_add_up() {
    let families = family_coverage();
    assert_eq!(families.len(), 14);
    let total: usize = families.iter().map(|f| f.total).sum();
    // remote calls (443 minus its event messages), qemu (7 minus 1 event),
    // lxc 1, admin 20.
    let remote_events = protocol::programs::remote_proc::ROWS
        .iter()
        .filter(|r| r.kind == protocol::table::Kind::Event)
        .count();
    assert_eq!(total, 443 - remote_events + 6 + 1 + 20);
    for f in &families {
        assert_eq!(f.served + f.unserved.len(), f.total, "{:?}", f.family);
    }
    let admin = families
        .iter()
        .find(|f| f.family.label() == "admin")
        .unwrap();
    assert_eq!((admin.served, admin.total), (20, 20));
}

#[test]
fn every_unserved_call_says_why() {
    let problems = reason_problems();
    assert!(
        problems.is_empty(),
        "protocol/src/table/unserved_reasons.rs is out of date:\n{}",
        problems.join("\n")
    );
}
