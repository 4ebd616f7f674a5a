//! virt-admin's read-only commands against our daemon, compared field by
//! field with what virt-admin printed against libvirtd 9.0 (the recordings
//! `virt-admin-*.txt` of the protocol notes).

mod admin_support;

use std::process::Command;

use admin_support::{admin, client_id_of_pid, clients_of, fields, now, utc, VirshSession};
use integration_tests::{wait_until, Daemon};

fn id_output(flag: &str) -> String {
    let out = Command::new("id").arg(flag).output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn utc_formats_like_virt_admin() {
    // The connection time of the recorded client (virt-admin-client-info).
    assert_eq!(utc(1_795_568_144), "2026-11-25 00:55:44+0000");
    assert_eq!(utc(0), "1970-01-01 00:00:00+0000");
    assert_eq!(utc(951_825_600), "2000-02-29 12:00:00+0000");
}

#[test]
fn threadpool_info_of_libvirtd_matches_the_recording() {
    let daemon = Daemon::start();
    let out = admin(&daemon, "srv-threadpool-info libvirtd").expect_success("threadpool info");
    // virt-admin-srv-threadpool-info.txt: the built-in defaults, idle.
    assert_eq!(
        out.stdout,
        "minWorkers     : 5\nmaxWorkers     : 20\nnWorkers       : 5\nfreeWorkers    : 5\n\
         prioWorkers    : 5\njobQueueDepth  : 0\n\n"
    );
    // The alias of libvirt 9.0 answers the same.
    let alias = admin(&daemon, "server-threadpool-info libvirtd").expect_success("alias");
    assert_eq!(alias.stdout, out.stdout);
}

#[test]
fn threadpool_info_of_admin_counts_the_asking_call_as_busy() {
    let daemon = Daemon::start();
    let out = admin(&daemon, "srv-threadpool-info admin").expect_success("threadpool info");
    // admin_min_workers 5 and admin_max_workers 20 are libvirt 9.0's real
    // defaults; the admin server has no priority workers, and the worker
    // answering this very call is busy.
    assert_eq!(
        out.stdout,
        "minWorkers     : 5\nmaxWorkers     : 20\nnWorkers       : 5\nfreeWorkers    : 4\n\
         prioWorkers    : 0\njobQueueDepth  : 0\n\n"
    );
}

#[test]
fn clients_list_and_client_info_of_a_virsh_session() {
    let daemon = Daemon::start();
    assert!(
        wait_until(admin_support::SETTLE, || clients_of(&daemon, "libvirtd")
            .is_empty()),
        "readiness probes still connected"
    );
    let before = now();
    let session = VirshSession::start(&daemon.rw_uri(), daemon.root());
    let id = client_id_of_pid(&daemon, session.pid());
    let after = now();

    let out = admin(&daemon, "srv-clients-list libvirtd").expect_success("clients list");
    let rows = admin_support::client_rows(&out.stdout);
    assert_eq!(rows.len(), 1, "{out}");
    let row = &rows[0];
    assert_eq!(row.id, id);
    assert!(
        (before..=after).any(|t| utc(t) == row.since),
        "connection time {} not within the connect window",
        row.since
    );
    // virt-admin-srv-clients-list.txt, whose table is sized for id 193.
    let width = id.to_string().len().max(2);
    let expected = format!(
        " {:<width$}   Transport   Connected since\n{}\n {id:<width$}   unix        {}\n\n",
        "Id",
        "-".repeat(width + 42),
        row.since
    );
    assert_eq!(out.stdout, expected);

    let info = admin(&daemon, &format!("client-info libvirtd {id}")).expect_success("client-info");
    // virt-admin-client-info.txt: the same fields in the same order.
    let expected = format!(
        "id             : {id}\nconnection_time: {}\ntransport      : unix\nreadonly       : no\n\
         unix_user_id   : {}\nunix_user_name : {}\nunix_group_id  : {}\n\
         unix_group_name: {}\nunix_process_id: {}\n\n",
        row.since,
        id_output("-u"),
        id_output("-un"),
        id_output("-g"),
        id_output("-gn"),
        session.pid()
    );
    assert_eq!(info.stdout, expected);
}

#[test]
fn client_info_marks_read_only_clients() {
    let daemon = Daemon::start();
    let session = VirshSession::start(&daemon.ro_uri(), daemon.root());
    let id = client_id_of_pid(&daemon, session.pid());
    let info = admin(&daemon, &format!("client-info libvirtd {id}")).expect_success("client-info");
    let readonly = fields(&info.stdout)
        .into_iter()
        .find(|(k, _)| k == "readonly");
    assert_eq!(readonly, Some(("readonly".into(), "yes".into())));
}

#[test]
fn the_admin_connection_is_a_client_of_the_admin_server() {
    let daemon = Daemon::start();
    let out = admin(&daemon, "srv-clients-list admin").expect_success("admin clients");
    let rows = admin_support::client_rows(&out.stdout);
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0].transport, "unix");
}

#[test]
fn client_limits_show_libvirt_defaults() {
    let daemon = Daemon::start();
    let main = admin(&daemon, "srv-clients-info libvirtd").expect_success("libvirtd limits");
    assert_eq!(
        main.stdout,
        "nclients_max        : 5000\nnclients            : 0\n\
         nclients_unauth_max : 20\nnclients_unauth     : 0\n\n"
    );
    // The admin server: admin_max_clients 5000 and no anonymous limit (0);
    // the asking virt-admin is its one client.
    let adm = admin(&daemon, "srv-clients-info admin").expect_success("admin limits");
    assert_eq!(
        adm.stdout,
        "nclients_max        : 5000\nnclients            : 1\n\
         nclients_unauth_max : 0\nnclients_unauth     : 0\n\n"
    );
}

#[test]
fn log_filters_and_outputs_print_like_the_recordings() {
    let daemon = Daemon::start();
    let filters = admin(&daemon, "daemon-log-filters").expect_success("log filters");
    // virt-admin-daemon-log-filters.txt: no filter set.
    assert_eq!(filters.stdout, " Logging filters: \n\n");
    let outputs = admin(&daemon, "daemon-log-outputs").expect_success("log outputs");
    // virt-admin-daemon-log-outputs.txt shows "3:file:/srv/lvp/libvirtd.log"
    // for its log_outputs; the harness configures "1:file:<root>/log".
    assert_eq!(
        outputs.stdout,
        format!(
            " Logging outputs: 1:file:{}\n\n",
            daemon.log_file().display()
        )
    );
}

#[test]
fn dmn_aliases_are_unknown_commands_as_in_virt_admin_9() {
    let daemon = Daemon::start();
    // virt-admin-dmn-aliases-rejected.txt: virt-admin itself refuses them.
    let out = admin(&daemon, "dmn-log-filters");
    assert_eq!(out.code(), Some(1));
    assert_eq!(out.stderr, "error: unknown command: 'dmn-log-filters'\n");
}
