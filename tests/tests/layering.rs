//! The allowed dependency arrows between workspace crates (design §2):
//! daemon -> protocol, drivers, hooks, client (peer-to-peer migration talks to the
//! destination daemon as a client does); drivers -> hooks; client -> protocol;
//! guests (libvirt-guests) -> client, protocol; protocol and hooks depend on
//! nothing in the workspace. Test-only crates (tests, bench) may use
//! anything. Read from `cargo metadata`, so a new arrow fails here.
//! process (child processes) depends on nothing; hooks, drivers and daemon may use it.
//! fuzz (the fuzz targets) drives protocol, drivers and daemon from outside.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

fn workspace_arrows() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
            "--manifest-path",
            manifest,
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let members: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap_or("").to_string())
        .collect();
    let mut arrows = BTreeMap::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or("").to_string();
        let deps: BTreeSet<String> = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str())
            .filter(|d| members.contains(*d))
            .map(str::to_string)
            .collect();
        arrows.insert(name, deps);
    }
    arrows
}

#[test]
fn only_allowed_arrows_between_crates() {
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("protocol", &[][..]),
        ("hooks", &["process"][..]),
        ("process", &[][..]),
        ("drivers", &["hooks", "process"][..]),
        (
            "daemon",
            &["protocol", "drivers", "hooks", "process", "client"][..],
        ),
        ("client", &["protocol"][..]),
        ("guests", &["client", "protocol"][..]),
        ("fuzz", &["protocol", "drivers", "daemon"][..]),
    ]);
    let arrows = workspace_arrows();
    for crate_name in allowed.keys() {
        assert!(
            arrows.contains_key(*crate_name),
            "workspace lacks crate {crate_name}"
        );
    }
    for (from, deps) in &arrows {
        let Some(ok) = allowed.get(from.as_str()) else {
            continue; // tests and bench may depend on anything
        };
        for dep in deps {
            assert!(
                ok.contains(&dep.as_str()),
                "forbidden dependency arrow {from} -> {dep}"
            );
        }
    }
}
