//! Every message logged while a call runs names its client (id,
//! transport) and its call (procedure, serial), so that log files and
//! journald can be searched by client or procedure.

use integration_tests::{virsh, Daemon};

#[test]
fn log_lines_inside_a_call_name_the_client_and_the_procedure() {
    let daemon = Daemon::start();
    let out = virsh(&daemon.rw_uri(), "list --all");
    assert!(out.success(), "{out}");
    let log = daemon.log();
    let line = log
        .lines()
        .find(|l| l.contains("[call proc=CONNECT_OPEN serial="))
        .unwrap_or_else(|| panic!("no log line inside CONNECT_OPEN:\n{log}"));
    assert!(
        line.contains("[client client=") && line.contains("transport=Unix"),
        "the call's line does not name its client: {line}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("[call proc=CONNECT_LIST_ALL_DOMAINS serial=")),
        "no log line inside CONNECT_LIST_ALL_DOMAINS:\n{log}"
    );
}
