//! The secret driver through virsh and python3-libvirt: definitions and values
//! kept in 0600 files under `<confdir>/secrets` and loaded at start, ephemeral
//! secrets never written, private values refused, list filters, usage lookups,
//! lifecycle and value events; `virtsecretd` serving `secret:///system` alone.
//! Values encrypted at rest: secret_encryption.rs.

mod activation_support;
mod qemu_reference;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

use activation_support::process::{Launch, Process};
use activation_support::{Root, START_TIMEOUT};
use integration_tests::{libvirtd_bin, python, virsh, wait_until, Daemon, DaemonBuilder};
use qemu_reference::ReferenceDaemon;
use serde_json::Value;

const UUID: &str = "0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5";
const PRIVATE: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const SECRET_XML: &str = "<secret ephemeral='no' private='no'>\n  <uuid>0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5</uuid>\n  <description>guest disk &amp; key</description>\n  <usage type='volume'>\n    <volume>/var/lib/libvirt/images/a.qcow2</volume>\n  </usage>\n</secret>\n";

fn qemu_uri(daemon: &Daemon) -> String {
    format!("qemu:///system?socket={}", daemon.rw_socket().display())
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, text).expect("write file");
    path.display().to_string()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn virsh_secrets_are_stored_private_and_loaded_at_start() {
    let daemon = Daemon::start();
    let uri = qemu_uri(&daemon);
    let work = tempfile::tempdir().expect("tempdir");
    let xml = write(work.path(), "s.xml", SECRET_XML);
    let value = write(work.path(), "value", "s3cr3t");
    let out = virsh(
        &uri,
        &format!("secret-define {xml}; secret-set-value {UUID} --file {value} --plain; secret-get-value {UUID}; secret-dumpxml {UUID}; secret-list"),
    )
    .expect_success("secret commands");
    assert!(out.stdout.contains("czNjcjN0"), "base64 value:\n{out}");
    assert!(
        out.stdout.contains(SECRET_XML),
        "dumpxml as libvirt formats it:\n{out}"
    );
    assert!(
        out.stdout
            .contains(&format!(" {UUID}   volume /var/lib/libvirt/images/a.qcow2")),
        "{out}"
    );
    let dir = daemon.root().join("etc/libvirt/secrets");
    let xml_file = dir.join(format!("{UUID}.xml"));
    let value_file = dir.join(format!("{UUID}.base64"));
    assert_eq!(mode(&xml_file), 0o600);
    assert_eq!(mode(&value_file), 0o600);
    assert_eq!(
        fs::read_to_string(&value_file).expect("value file"),
        "czNjcjN0"
    );
    assert_eq!(fs::read_to_string(&xml_file).expect("xml file"), SECRET_XML);

    // A second daemon given these two files serves the secret and its value.
    let restarted = DaemonBuilder::new()
        .file(format!("etc/libvirt/secrets/{UUID}.xml"), SECRET_XML, 0o600)
        .file(
            format!("etc/libvirt/secrets/{UUID}.base64"),
            "czNjcjN0",
            0o600,
        )
        .start();
    let out = virsh(&qemu_uri(&restarted), &format!("secret-get-value {UUID}"))
        .expect_success("value after restart");
    assert_eq!(out.stdout.trim(), "czNjcjN0");

    // An ephemeral secret lives in memory only; undefine removes the files.
    let eph = write(
        work.path(),
        "e.xml",
        "<secret ephemeral='yes'><usage type='ceph'><name>client.x</name></usage></secret>",
    );
    let out = virsh(&uri, &format!("secret-define {eph}; secret-list --ephemeral; secret-undefine {UUID}; secret-list --no-ephemeral"))
        .expect_success("ephemeral");
    assert!(out.stdout.contains("ceph client.x"), "{out}");
    let names: Vec<_> = fs::read_dir(&dir)
        .expect("secrets dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(names.is_empty(), "left on disk: {names:?}");
}

#[test]
fn private_values_read_only_clients_and_the_test_driver_are_refused() {
    let daemon = Daemon::start();
    let uri = qemu_uri(&daemon);
    let work = tempfile::tempdir().expect("tempdir");
    let xml = write(
        work.path(),
        "p.xml",
        &format!("<secret private='yes'><uuid>{UUID}</uuid></secret>"),
    );
    let value = write(work.path(), "value", "v");
    virsh(
        &uri,
        &format!("secret-define {xml}; secret-set-value {UUID} --file {value} --plain"),
    )
    .expect_success("define a private secret");
    let out = virsh(&uri, &format!("secret-get-value {UUID}"));
    assert!(
        !out.success()
            && out
                .stderr
                .contains("error: Invalid secret: secret is private"),
        "{out}"
    );
    let ro = format!("qemu:///system?socket={}", daemon.ro_socket().display());
    let out = virsh(&ro, "secret-list").expect_success("read-only list");
    assert!(out.stdout.contains(UUID), "{out}");
    let out = virsh(&ro, &format!("secret-undefine {UUID}"));
    assert!(
        !out.success()
            && out
                .stderr
                .contains("operation forbidden: read only access prevents virSecretUndefine"),
        "{out}"
    );
    let test = format!(
        "test+unix:///default?socket={}",
        daemon.rw_socket().display()
    );
    let out = virsh(&test, "secret-list");
    assert!(
        !out.success()
            && out.stderr.contains(
                "this function is not supported by the connection driver: virConnectNumOfSecrets"
            ),
        "{out}"
    );
    let secret_uri = format!("secret:///system?socket={}", daemon.rw_socket().display());
    let out = virsh(&secret_uri, "uri; secret-list").expect_success("secret:///system");
    assert!(
        out.stdout.starts_with("secret:///system") && out.stdout.contains(UUID),
        "{out}"
    );
}

#[test]
fn python_sees_values_lookups_filters_and_events() {
    let daemon = Daemon::start();
    let out = python("secrets.py", &[&qemu_uri(&daemon)]).expect_success("secrets.py");
    let seen: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    let value: Vec<u8> = b"\x00binary\xffvalue".to_vec();
    assert_eq!(seen["value"], serde_json::json!(value), "{seen}");
    let uuid = "5d3c1a8e-4f2b-4c6d-9e7f-0a1b2c3d4e5f";
    assert_eq!(
        seen["by_usage"],
        serde_json::json!([uuid, 3, "iqn.2026-01.test:disk"])
    );
    assert_eq!(seen["private_value"]["code"], 65, "{seen}");
    assert_eq!(seen["private_value"]["domain"], 30, "{seen}");
    assert_eq!(seen["num"], 2);
    assert_eq!(seen["uuids"].as_array().map(Vec::len), Some(2));
    assert_eq!(seen["ephemeral"], serde_json::json!(["tls-key"]));
    assert_eq!(
        seen["no_private"],
        serde_json::json!(["iqn.2026-01.test:disk"])
    );
    assert_eq!(seen["bad_flags"]["code"], 8, "{seen}");
    assert_eq!(
        seen["no_usage"]["message"],
        "Secret not found: no secret with matching usage 'nothing'"
    );
    assert_eq!(seen["missing"]["code"], 66, "{seen}");
    assert_eq!(
        seen["events"],
        serde_json::json!([
            ["lifecycle", uuid, 0, 0],
            ["value", uuid, "iqn.2026-01.test:disk"],
            ["lifecycle", uuid, 1, 0]
        ]),
        "{seen}"
    );
}

fn start_virtsecretd(root: &Root) -> Process {
    let bin = libvirtd_bin();
    Launch {
        program: &bin,
        arg0: "virtsecretd",
        args: Vec::new(),
        fds: Vec::new(),
        fdnames: None,
        env: root.env(),
        stdout: &root.stdout_file(),
        stderr: &root.stderr_file(),
    }
    .spawn()
}

#[test]
fn virtsecretd_serves_only_secrets_on_its_own_sockets() {
    let root = Root::new();
    root.write_conf("virtsecretd", &[], true);
    let mut daemon = start_virtsecretd(&root);
    let rw = root.run_file("virtsecretd-sock");
    let ready = wait_until(START_TIMEOUT, || {
        UnixStream::connect(&rw).is_ok() || daemon.try_wait().is_some()
    });
    assert!(
        ready && daemon.try_wait().is_none(),
        "{}",
        root.diagnostics()
    );
    assert!(root.run_file("virtsecretd-sock-ro").exists());
    assert!(!root.run_file("libvirt-sock").exists());
    let socket = rw.display();
    let out = virsh(
        &format!("secret:///system?socket={socket}"),
        "uri; secret-list",
    )
    .expect_success("secret:///system on virtsecretd");
    assert!(out.stdout.starts_with("secret:///system"), "{out}");
    let out = virsh(&format!("qemu:///system?socket={socket}"), "uri");
    assert!(
        !out.success()
            && out
                .stderr
                .contains("no connection driver available for qemu:///system"),
        "{out}"
    );
    daemon.signal(libc::SIGTERM);
    let status = daemon
        .wait_timeout(START_TIMEOUT)
        .expect("exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", root.diagnostics());
}

/// The same definitions, values and mistakes sent to the real libvirtd 9.0 and
/// to ours read the same in virsh.
#[test]
fn virsh_output_and_errors_match_libvirtd_9() {
    let reference = ReferenceDaemon::start("");
    let daemon = Daemon::start();
    let ours = qemu_uri(&daemon);
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    let value = write(dir, "value", "hello");
    let files = [
        SECRET_XML.to_string(),
        format!("<secret private='yes'><uuid>{PRIVATE}</uuid><description>a &amp; b &lt;c&gt; 'q' \"d\"</description><usage type='tls'><name>tls-x</name></usage></secret>"),
        "<secret><usage type='tls'><name>tls-x</name></usage></secret>".to_string(),
        format!("<secret><uuid>{UUID}</uuid><usage type='ceph'><name>c</name></usage></secret>"),
        "<secret><usage type='volume'/></secret>".to_string(),
        "<secret ephemeral='maybe'/>".to_string(),
        "<secret><usage type='disk'/></secret>".to_string(),
        "<secret><uuid>bad</uuid></secret>".to_string(),
        "<domain/>".to_string(),
    ];
    let mut commands = Vec::new();
    for (i, xml) in files.iter().enumerate() {
        commands.push(format!(
            "secret-define {}",
            write(dir, &format!("{i}.xml"), xml)
        ));
    }
    commands.extend([
        format!("secret-dumpxml {UUID}"),
        format!("secret-dumpxml {PRIVATE}"),
        format!("secret-get-value {UUID}"),
        format!("secret-set-value {UUID} --file {value} --plain"),
        format!("secret-set-value {PRIVATE} --file {value} --plain"),
        format!("secret-get-value {UUID}"),
        format!("secret-get-value {PRIVATE}"),
        "secret-list".to_string(),
        "secret-list --private".to_string(),
        "secret-list --no-private --ephemeral".to_string(),
        format!("secret-undefine {UUID}"),
        format!("secret-dumpxml {UUID}"),
        format!("secret-undefine {PRIVATE}"),
    ]);
    for command in commands {
        let theirs = virsh(&reference.uri(), &command);
        let mine = virsh(&ours, &command);
        assert_eq!(
            (mine.success(), mine.stdout.trim(), mine.stderr.trim()),
            (theirs.success(), theirs.stdout.trim(), theirs.stderr.trim()),
            "virsh {command}: ours (left) differs from libvirtd 9.0 (right)"
        );
    }
}
