//! Checks of the harness itself: a comparison with the reference must be
//! able to fail, and a dropped daemon handle must not leave the daemon
//! running.

use std::panic::{catch_unwind, AssertUnwindSafe};

use integration_tests::compare::assert_virsh_matches_reference;
use integration_tests::{data_file, virsh, wait_until, Daemon};

#[test]
fn comparison_with_the_reference_detects_a_difference() {
    let daemon = Daemon::start();
    let define = format!("define {}", data_file("domain.xml").display());
    virsh(&daemon.rw_uri(), &define).expect_success("define");
    // The daemon now has a domain the fresh reference does not have.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        assert_virsh_matches_reference(&daemon.rw_uri(), "list --all")
    }));
    assert!(outcome.is_err(), "a different domain list compared equal");
}

#[test]
fn dropping_the_handle_kills_the_daemon() {
    let daemon = Daemon::start();
    let pid = daemon.pid();
    assert!(
        daemon.owns_process(pid),
        "the daemon is not running under its root"
    );
    let proc_dir = format!("/proc/{pid}");
    drop(daemon);
    // The handle reaps the process, so its /proc entry goes away.
    assert!(
        wait_until(std::time::Duration::from_secs(10), || {
            !std::path::Path::new(&proc_dir).exists()
        }),
        "libvirtd {pid} still exists after the handle was dropped"
    );
}
