//! python3-libvirt (for /usr/bin/python3) sees the same values and errors
//! from our daemon as from libvirt's in-process test driver. The script
//! tests/data/basics.py prints everything it observed as JSON.

use integration_tests::{data_file, python, reference_uri, Daemon};
use serde_json::Value;

fn observe(uri: &str, mode: &str) -> Value {
    let xml = data_file("domain.xml");
    let xml = xml.to_str().expect("utf-8 path");
    let out = python("basics.py", &[uri, xml, mode]).expect_success("basics.py");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{out}"))
}

/// The JSON path of the first difference, with both values.
fn first_difference(path: &str, reference: &Value, ours: &Value) -> Option<String> {
    match (reference, ours) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let here = format!("{path}.{key}");
                match b.get(key) {
                    Some(other) => {
                        if let Some(d) = first_difference(&here, value, other) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{here}: missing in ours")),
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}.{k}: only in ours"))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), x, y)),
        _ if reference == ours => None,
        _ => Some(format!("{path}: reference {reference}, ours {ours}")),
    }
}

fn assert_same_json(reference: &Value, ours: &Value) {
    if let Some(difference) = first_difference("$", reference, ours) {
        panic!("python3-libvirt observed different values:\n{difference}");
    }
}

#[test]
fn read_write_and_read_only_calls_match_reference() {
    let reference = observe(reference_uri(), "all");
    // The reference must show what the test is about, or it proves nothing.
    assert_eq!(
        reference["rw"]["missing"]["code"], 42,
        "{}",
        reference["rw"]["missing"]
    );
    assert_eq!(
        reference["ro"]["destroy"]["code"], 29,
        "{}",
        reference["ro"]["destroy"]
    );
    let daemon = Daemon::start();
    let ours = observe(&daemon.rw_uri(), "all");
    assert_same_json(&reference, &ours);
}

#[test]
fn missing_domain_error_code_and_domain_match_reference() {
    let reference = observe(reference_uri(), "all");
    let daemon = Daemon::start();
    let ours = observe(&daemon.rw_uri(), "all");
    let missing = |v: &Value| {
        (
            v["rw"]["missing"]["code"].clone(),
            v["rw"]["missing"]["domain"].clone(),
        )
    };
    assert_eq!(missing(&ours), missing(&reference));
}

#[test]
fn read_only_socket_matches_reference_read_only_connection() {
    let reference = observe(reference_uri(), "ro");
    let daemon = Daemon::start();
    let ours = observe(&daemon.ro_uri(), "ro");
    assert_same_json(&reference, &ours);
}

#[test]
fn python_over_tcp_matches_reference() {
    let reference = observe(reference_uri(), "all");
    let daemon = Daemon::builder().tcp().start();
    let ours = observe(&daemon.tcp_uri(), "all");
    assert_same_json(&reference, &ours);
}
