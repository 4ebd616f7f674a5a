//! Secret values encrypted at rest (secret.conf `encrypt_data`, libvirt 12.1):
//! with the systemd credential `secrets-encryption-key` in
//! `$CREDENTIALS_DIRECTORY`, `secret-set-value` writes `UUID.aes256cbc` (0600,
//! neither the value nor its base64 inside) that a restarted daemon reads; a
//! different key leaves the secret out with an error in the log; encryption
//! asked for without a key stops start-up; values written as base64 before keep
//! working and are encrypted at their next write.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use integration_tests::{virsh, wait_until, Daemon, DaemonBuilder};

const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

const UUIDS: [&str; 3] = [
    "5d2c0b7e-1f3a-4c5d-9e8f-0a1b2c3d4e5f",
    "6e3d1c8f-2a4b-4d6e-8f90-1b2c3d4e5f60",
    "7f4e2d90-3b5c-4e7f-9a01-2c3d4e5f6071",
];
const VALUE: &str = "s3cr3t-value-for-disk";
/// base64 of [`VALUE`].
const VALUE_B64: &str = "czNjcjN0LXZhbHVlLWZvci1kaXNr";

fn secret_xml(uuid: &str, n: usize) -> String {
    format!(
        "<secret ephemeral='no' private='no'><uuid>{uuid}</uuid>\
         <usage type='volume'><volume>/images/{n}.qcow2</volume></usage></secret>"
    )
}

fn uri(daemon: &Daemon) -> String {
    format!("qemu:///system?socket={}", daemon.rw_socket().display())
}

/// A credentials directory as systemd makes it: the key file, 0400.
fn credentials(dir: &Path, key: [u8; 32]) -> PathBuf {
    let creds = dir.join("credentials");
    fs::create_dir_all(&creds).expect("credentials dir");
    let file = creds.join("secrets-encryption-key");
    fs::write(&file, key).expect("key file");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o400)).expect("chmod key");
    creds
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every file of the daemon's secrets directory, by name.
fn secret_files(daemon: &Daemon) -> Vec<(String, Vec<u8>)> {
    let dir = daemon.root().join("etc/libvirt/secrets");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("secrets dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

/// A daemon on a new root holding `files` in its secrets directory.
fn with_files(files: &[(String, Vec<u8>)]) -> DaemonBuilder {
    files.iter().fold(DaemonBuilder::new(), |b, (name, data)| {
        b.file(format!("etc/libvirt/secrets/{name}"), data.clone(), 0o600)
    })
}

fn get_value(daemon: &Daemon, uuid: &str) -> integration_tests::CmdOutput {
    virsh(&uri(daemon), &format!("secret-get-value {uuid}"))
}

#[test]
fn values_are_encrypted_with_the_credential_key_and_read_after_a_restart() {
    let work = tempfile::tempdir().expect("tempdir");
    let creds = credentials(work.path(), [0x5a; 32]);
    let daemon = DaemonBuilder::new()
        .env("CREDENTIALS_DIRECTORY", &creds)
        .start();
    let value = work.path().join("value");
    fs::write(&value, VALUE).expect("value file");
    for (n, uuid) in UUIDS.iter().enumerate() {
        let xml = work.path().join(format!("{n}.xml"));
        fs::write(&xml, secret_xml(uuid, n)).expect("xml");
        virsh(
            &uri(&daemon),
            &format!(
                "secret-define {}; secret-set-value {uuid} --file {} --plain",
                xml.display(),
                value.display()
            ),
        )
        .expect_success("define and set");
        let out = get_value(&daemon, uuid).expect_success("get value");
        assert_eq!(out.stdout.trim(), VALUE_B64);
    }
    let dir = daemon.root().join("etc/libvirt/secrets");
    for uuid in UUIDS {
        let encrypted = dir.join(format!("{uuid}.aes256cbc"));
        assert_eq!(mode(&encrypted), 0o600);
        let text = fs::read_to_string(&encrypted).expect("encrypted file");
        assert!(
            !text.contains(VALUE) && !text.contains(VALUE_B64) && !text.contains("czNjcjN0"),
            "the value is stored in the clear: {text}"
        );
        assert!(
            !dir.join(format!("{uuid}.base64")).exists(),
            "no base64 file next to the encrypted one"
        );
    }
    let files = secret_files(&daemon);
    drop(daemon);

    // The same files and key: every value is back.
    let restarted = with_files(&files)
        .env("CREDENTIALS_DIRECTORY", &creds)
        .start();
    for uuid in UUIDS {
        let out = get_value(&restarted, uuid).expect_success("value after restart");
        assert_eq!(out.stdout.trim(), VALUE_B64);
    }
    drop(restarted);

    // Another key: the secrets are left out and the log says why, as libvirt
    // logs "Error reading secret" and skips the secret.
    let other = credentials(&work.path().join("other"), [0xa5; 32]);
    let wrong = with_files(&files)
        .env("CREDENTIALS_DIRECTORY", &other)
        .start();
    let log = wrong.log_file();
    let logged = wait_until(START_TIMEOUT, || {
        fs::read_to_string(&log).is_ok_and(|t| t.contains("Error reading secret"))
    });
    let text = fs::read_to_string(&log).unwrap_or_default();
    assert!(logged, "no error logged:\n{text}");
    assert!(text.contains("does not decrypt with this key"), "{text}");
    assert!(
        !text.contains(VALUE) && !text.contains(VALUE_B64),
        "value logged: {text}"
    );
    for uuid in UUIDS {
        let out = get_value(&wrong, uuid);
        assert!(
            !out.stdout.contains(VALUE_B64),
            "a wrong key gave the value: {out}"
        );
    }
    drop(wrong);

    // No key at all (encryption off): the encrypted values are not readable.
    let off = with_files(&files).start();
    let out = get_value(&off, UUIDS[0]);
    assert!(
        !out.success() && out.stderr.contains("no secret with matching uuid"),
        "{out}"
    );
    let text = fs::read_to_string(off.log_file()).unwrap_or_default();
    assert!(
        text.contains("holds an encrypted value but encryption of secret values is off"),
        "{text}"
    );
}

#[test]
fn base64_values_from_before_keep_working_and_are_encrypted_when_written() {
    let work = tempfile::tempdir().expect("tempdir");
    let creds = credentials(work.path(), [0x11; 32]);
    let uuid = UUIDS[0];
    let daemon = DaemonBuilder::new()
        .file(
            format!("etc/libvirt/secrets/{uuid}.xml"),
            secret_xml(uuid, 0),
            0o600,
        )
        .file(
            format!("etc/libvirt/secrets/{uuid}.base64"),
            VALUE_B64,
            0o600,
        )
        .env("CREDENTIALS_DIRECTORY", &creds)
        .start();
    let out = get_value(&daemon, uuid).expect_success("old value");
    assert_eq!(out.stdout.trim(), VALUE_B64);
    let dir = daemon.root().join("etc/libvirt/secrets");
    let (plain, encrypted) = (
        dir.join(format!("{uuid}.base64")),
        dir.join(format!("{uuid}.aes256cbc")),
    );
    assert!(
        plain.exists() && !encrypted.exists(),
        "left as it is until written, as libvirt 12.1 does"
    );
    let value = work.path().join("value");
    fs::write(&value, "n3w-v4lue").expect("value file");
    virsh(
        &uri(&daemon),
        &format!("secret-set-value {uuid} --file {} --plain", value.display()),
    )
    .expect_success("set value");
    assert!(!plain.exists(), "the base64 file is removed");
    assert_eq!(mode(&encrypted), 0o600);
    let text = fs::read_to_string(&encrypted).expect("encrypted");
    assert!(
        !text.contains("n3w-v4lue") && !text.contains("bjN3LXY0bHVl"),
        "{text}"
    );
    let out = get_value(&daemon, uuid).expect_success("new value");
    assert_eq!(out.stdout.trim(), "bjN3LXY0bHVl");
}

/// `encrypt_data = 1` with no key file (none named, no credential): start-up
/// stops naming the built-in key path, for libvirtd and virtsecretd alike; a
/// key named in secret.conf is used.
#[test]
fn encryption_without_a_key_stops_start_up() {
    for arg0 in ["libvirtd", "virtsecretd"] {
        let mut daemon = DaemonBuilder::new()
            .log_to_stderr()
            .arg0(arg0)
            .file("etc/libvirt/secret.conf", "encrypt_data = 1\n", 0o600)
            .spawn();
        let status = daemon.wait_exit(START_TIMEOUT);
        assert!(!status.success(), "{}", daemon.diagnostics());
        let stderr = daemon.stderr();
        assert!(
            stderr.contains(
                "Driver state initialization failed: cannot load the secrets encryption key"
            ) && stderr.contains("run/libvirt/secrets/encryption-key")
                && stderr.contains("No such file or directory"),
            "{arg0}: {}",
            daemon.diagnostics()
        );
    }

    // A key of the wrong length is refused with libvirt's words.
    let work = tempfile::tempdir().expect("tempdir");
    let key = work.path().join("short-key");
    fs::write(&key, [1u8; 16]).expect("key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut daemon = DaemonBuilder::new()
        .log_to_stderr()
        .file(
            "etc/libvirt/secret.conf",
            format!("secrets_encryption_key = \"{}\"\n", key.display()),
            0o600,
        )
        .spawn();
    assert!(!daemon.wait_exit(START_TIMEOUT).success());
    assert!(
        daemon
            .stderr()
            .contains("Encryption key length must be '32'"),
        "{}",
        daemon.diagnostics()
    );

    // The right length: values are encrypted without any credential.
    fs::write(&key, [2u8; 32]).expect("key");
    let daemon = DaemonBuilder::new()
        .file(
            "etc/libvirt/secret.conf",
            format!("secrets_encryption_key = \"{}\"\n", key.display()),
            0o600,
        )
        .start();
    let xml = work.path().join("s.xml");
    fs::write(&xml, secret_xml(UUIDS[1], 1)).expect("xml");
    virsh(
        &uri(&daemon),
        &format!(
            "secret-define {}; secret-set-value {} {VALUE_B64}",
            xml.display(),
            UUIDS[1]
        ),
    )
    .expect_success("define and set");
    let encrypted = daemon
        .root()
        .join(format!("etc/libvirt/secrets/{}.aes256cbc", UUIDS[1]));
    let text = fs::read_to_string(&encrypted).expect("encrypted file");
    assert!(!text.contains(VALUE_B64), "{text}");
}
