//! Domain lifecycle events reach real clients. The expected sequence is not
//! written down here: it is recorded from libvirt's own test driver with a
//! python3-libvirt client (tests/data/lifecycle_events.py), because the test
//! driver emits its own events (e.g. no "Resumed Unpaused" on start, unlike
//! the qemu driver).

use std::time::Duration;

use integration_tests::{data_file, python, reference_uri, virsh, Daemon, EventListener};
use serde_json::Value;

const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

/// virsh's wording for the lifecycle (event, detail) pairs the test driver
/// emits (from virsh's event name tables).
fn virsh_wording(event: i64, detail: i64) -> String {
    let text = match (event, detail) {
        (0, 0) => "Defined Added",
        (0, 1) => "Defined Updated",
        (1, 0) => "Undefined Removed",
        (2, 0) => "Started Booted",
        (3, 0) => "Suspended Paused",
        (4, 0) => "Resumed Unpaused",
        (5, 0) => "Stopped Shutdown",
        (5, 1) => "Stopped Destroyed",
        (6, 0) => "Shutdown Finished",
        (6, 2) => "Shutdown Finished after host request",
        _ => panic!("no virsh wording known for lifecycle event {event}/{detail}"),
    };
    text.to_string()
}

/// Runs the python event recorder against `uri` and returns its JSON.
fn recorded_events(uri: &str) -> Value {
    let xml = data_file("domain.xml");
    let xml = xml.to_str().expect("utf-8 path");
    let out = python("lifecycle_events.py", &[uri, xml]).expect_success("lifecycle_events.py");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{out}"))
}

/// The reference sequence as virsh would print it for domain 'itest'.
fn reference_virsh_lines() -> Vec<String> {
    let reference = recorded_events(reference_uri());
    assert_eq!(
        reference["complete"],
        Value::Bool(true),
        "reference run incomplete: {reference}"
    );
    let events = reference["events"].as_array().expect("events array");
    events
        .iter()
        .map(|pair| {
            let event = pair[0].as_i64().expect("event number");
            let detail = pair[1].as_i64().expect("detail number");
            format!(
                "event 'lifecycle' for domain 'itest': {}",
                virsh_wording(event, detail)
            )
        })
        .collect()
}

/// Drives define/start/suspend/resume/destroy/undefine through separate
/// virsh clients and returns the lines the listener printed for 'itest'.
fn lifecycle_lines_seen_by(listener: &mut EventListener, rw_uri: &str) -> Vec<String> {
    let define = format!("define {}", data_file("domain.xml").display());
    for step in [
        define.as_str(),
        "start itest",
        "suspend itest",
        "resume itest",
        "destroy itest",
        "undefine itest",
    ] {
        virsh(rw_uri, step).expect_success(step);
    }
    let last = listener.wait_for_line(EVENT_TIMEOUT, |l| {
        l.starts_with("event 'lifecycle' for domain 'itest': Undefined")
    });
    assert!(
        last.is_some(),
        "no undefine event seen\n{}",
        listener.finish()
    );
    listener
        .seen
        .iter()
        .filter(|l| l.contains("domain 'itest'"))
        .cloned()
        .collect()
}

#[test]
fn virsh_event_loop_sees_lifecycle_caused_by_another_client() {
    let expected = reference_virsh_lines();
    assert!(
        expected.contains(&"event 'lifecycle' for domain 'itest': Started Booted".to_string()),
        "reference sequence lacks the start event: {expected:?}"
    );
    let daemon = Daemon::start();
    let mut listener = EventListener::spawn(&daemon.rw_uri());
    listener.wait_registered(&daemon.rw_uri(), EVENT_TIMEOUT);
    let seen = lifecycle_lines_seen_by(&mut listener, &daemon.rw_uri());
    assert_eq!(seen, expected, "\n{}", listener.finish());
    assert!(
        listener.is_alive(),
        "virsh event exited\n{}",
        listener.finish()
    );
}

#[test]
fn read_only_client_receives_events_too() {
    let expected = reference_virsh_lines();
    let daemon = Daemon::start();
    let mut listener = EventListener::spawn(&daemon.ro_uri());
    listener.wait_registered(&daemon.rw_uri(), EVENT_TIMEOUT);
    let seen = lifecycle_lines_seen_by(&mut listener, &daemon.rw_uri());
    assert_eq!(seen, expected, "\n{}", listener.finish());
}

#[test]
fn python_client_sees_the_same_events_as_with_the_reference() {
    let reference = recorded_events(reference_uri());
    let daemon = Daemon::start();
    let ours = recorded_events(&daemon.rw_uri());
    assert_eq!(ours, reference);
}
