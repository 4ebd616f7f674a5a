//! How much of libvirt's API the daemon serves, computed from the table: the
//! README's status section and `docs/coverage.md` are generated from here
//! (a test keeps them current).

use super::unserved_reasons::unserved_reason;
use super::{Family, Kind, ProcInfo};
use crate::programs::{admin_proc, lxc_proc, qemu_proc, remote_proc};

/// Served and total calls of one family.
#[derive(Clone, Debug)]
pub struct FamilyCoverage {
    pub family: Family,
    pub served: usize,
    pub total: usize,
    /// The calls without a handler, in number order.
    pub unserved: Vec<&'static ProcInfo>,
}

/// What is wrong with the reasons list: an unserved call without a reason,
/// or a served call that still has one. Empty when the list is honest.
pub fn reason_problems() -> Vec<String> {
    let mut problems = Vec::new();
    for row in [
        remote_proc::ROWS,
        qemu_proc::ROWS,
        lxc_proc::ROWS,
        admin_proc::ROWS,
    ]
    .into_iter()
    .flatten()
    .filter(|row| row.kind != Kind::Event)
    {
        match (row.kind == Kind::Served, unserved_reason(row.api)) {
            (false, None) => problems.push(format!("{} is not served and has no reason", row.api)),
            (true, Some(_)) => {
                problems.push(format!("{} is served but still has a reason", row.api))
            }
            _ => {}
        }
    }
    problems
}

/// Per family, the calls (not the events the server sends) of the remote,
/// qemu, lxc and admin programs.
pub fn family_coverage() -> Vec<FamilyCoverage> {
    let rows = || {
        [
            remote_proc::ROWS,
            qemu_proc::ROWS,
            lxc_proc::ROWS,
            admin_proc::ROWS,
        ]
        .into_iter()
        .flatten()
        .filter(|row| row.kind != Kind::Event)
    };
    Family::ALL
        .iter()
        .filter(|f| **f != Family::Keepalive)
        .map(|&family| {
            let (served, unserved): (Vec<_>, Vec<_>) = rows()
                .filter(|row| row.family == family)
                .partition(|row| row.kind == Kind::Served);
            FamilyCoverage {
                family,
                served: served.len(),
                total: served.len() + unserved.len(),
                unserved,
            }
        })
        .collect()
}

/// The counts as a Markdown table.
pub fn coverage_markdown() -> String {
    let families = family_coverage();
    let mut out = String::from("| family | served | total |\n|---|---:|---:|\n");
    for f in &families {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            f.family.label(),
            f.served,
            f.total
        ));
    }
    let served: usize = families.iter().map(|f| f.served).sum();
    let total: usize = families.iter().map(|f| f.total).sum();
    out.push_str(&format!("| **all** | **{served}** | **{total}** |\n"));
    out
}

/// The calls not served yet, per family, as a Markdown document.
pub fn unserved_markdown() -> String {
    let mut out = String::from(
        "# Procedures not served yet\n\n\
         Generated from the procedure table (`protocol/src/programs/`); \
         `cargo test -p protocol --test coverage` checks it is current; the reasons \
         come from `protocol/src/table/unserved_reasons.rs`.\n",
    );
    for f in family_coverage() {
        if f.unserved.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n## {} ({} of {})\n\n",
            f.family.label(),
            f.unserved.len(),
            f.total
        ));
        for row in &f.unserved {
            let reason = unserved_reason(row.api).unwrap_or("(no reason given)");
            out.push_str(&format!("- {} `{}`: {reason}\n", row.number, row.api));
        }
    }
    out
}
