//! Domain lifecycle through virsh: each sequence runs in one virsh
//! invocation against a fresh daemon and against libvirt's test driver, and
//! the outputs must match (the reference starts fresh on every invocation,
//! so a sequence is the unit of comparison).

use integration_tests::compare::assert_virsh_matches_reference;
use integration_tests::{data_file, virsh, Daemon};

fn define() -> String {
    format!("define {}", data_file("domain.xml").display())
}

fn sequence_matches_reference(steps: &[&str]) -> integration_tests::CmdOutput {
    let daemon = Daemon::start();
    let commands = steps.join("; ");
    assert_virsh_matches_reference(&daemon.rw_uri(), &commands)
}

#[test]
fn define_start_suspend_resume_shutdown_undefine() {
    let define = define();
    let ours = sequence_matches_reference(&[
        &define,
        "list --all",
        "dominfo itest",
        "start itest",
        "list --all",
        "dominfo itest",
        "domstate --reason itest",
        "suspend itest",
        "domstate --reason itest",
        "list --all",
        "resume itest",
        "domstate --reason itest",
        "shutdown itest",
        "domstate --reason itest",
        "list --all",
        "undefine itest",
        "list --all",
    ]);
    assert!(ours.stdout.contains("Domain 'itest' suspended"), "{ours}");
}

#[test]
fn start_destroy_and_autostart() {
    let define = define();
    let ours = sequence_matches_reference(&[
        &define,
        "start itest",
        "dominfo itest",
        "destroy itest",
        "domstate --reason itest",
        "autostart itest",
        "dominfo itest",
        "list --all --autostart",
        "autostart --disable itest",
        "dominfo itest",
        "list --all --no-autostart",
        "undefine itest",
        "list --all",
    ]);
    assert!(ours.stdout.contains("marked as autostarted"), "{ours}");
}

#[test]
fn destroying_a_shut_off_domain_fails_like_the_reference() {
    let define = define();
    let ours = sequence_matches_reference(&[&define, "destroy itest"]);
    assert_eq!(
        ours.stderr,
        "error: Failed to destroy domain 'itest'\n\
         error: Requested operation is not valid: domain is not running\n"
    );
}

#[test]
fn invalid_transitions_fail_like_the_reference() {
    let define = define();
    sequence_matches_reference(&[
        &define,
        "suspend itest",
        "resume itest",
        "shutdown itest",
        "start itest",
        "start itest",
        "resume itest",
        "suspend itest",
        "suspend itest",
        "destroy itest",
        "list --all",
    ]);
}

#[test]
fn undefining_a_running_domain_leaves_it_transient() {
    let define = define();
    sequence_matches_reference(&[
        &define,
        "start itest",
        "undefine itest",
        "dominfo itest",
        "list --all --transient",
        "destroy itest",
        "list --all",
        "dominfo itest",
    ]);
}

#[test]
fn lookups_by_id_uuid_and_missing_names_match_reference() {
    let define = define();
    sequence_matches_reference(&[
        &define,
        "domid itest",
        "domuuid itest",
        "start itest",
        "domid itest",
        "domname 2",
        "domname 4dea22b3-1d52-d8f3-2516-782e98ab3fa0",
        "dominfo 2",
        "dominfo no-such-domain",
        "destroy no-such-domain",
        "start test",
    ]);
}

#[test]
fn state_persists_across_connections_of_the_daemon() {
    // The daemon's test driver is shared by its clients (unlike the
    // in-process reference), so a domain defined by one virsh is seen by
    // the next one.
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    virsh(&uri, &define()).expect_success("define");
    virsh(&uri, "start itest").expect_success("start");
    let state = virsh(&uri, "domstate itest").expect_success("domstate");
    assert_eq!(state.stdout, "running\n\n");
    virsh(&uri, "destroy itest").expect_success("destroy");
    virsh(&uri, "undefine itest").expect_success("undefine");
    let list = virsh(&uri, "list --all --name").expect_success("list");
    assert_eq!(list.stdout, "test\n\n");
}
