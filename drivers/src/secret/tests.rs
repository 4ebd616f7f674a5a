use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};

use super::*;
use crate::api::secret_usage;

fn temp_paths(tag: &str) -> (PathBuf, SecretPaths) {
    let root = std::env::temp_dir().join(format!("secrets-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let paths = SecretPaths::new(&root.join("etc"), &root.join("run"));
    (root, paths)
}

fn store(paths: &SecretPaths) -> (Arc<Secrets>, Arc<Mutex<Vec<SecretEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let sink: SecretEventSink = Arc::new(move |e| log.lock().expect("lock").push(e));
    let (secrets, problems) = Secrets::new(paths.clone(), sink);
    assert!(problems.is_empty(), "{problems:?}");
    (secrets, seen)
}

const VOLUME: &str = "<secret ephemeral='no' private='no'><uuid>11111111-2222-3333-4444-555555555555</uuid><usage type='volume'><volume>/var/lib/x.img</volume></usage></secret>";

#[test]
fn persistent_secret_survives_a_restart_with_private_files() {
    let (root, paths) = temp_paths("persist");
    let (secrets, events) = store(&paths);
    let h = secrets.define(VOLUME).expect("define");
    secrets.set_value(&h.uuid, b"hunter2").expect("set");
    assert_eq!(events.lock().expect("lock").len(), 2);
    let xml = paths
        .config_dir
        .join("11111111-2222-3333-4444-555555555555.xml");
    let b64 = paths
        .config_dir
        .join("11111111-2222-3333-4444-555555555555.base64");
    for f in [&xml, &b64] {
        let mode = std::fs::metadata(f).expect("exists").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
    }
    assert_eq!(std::fs::read_to_string(&b64).expect("read"), "aHVudGVyMg==");
    let (again, _) = store(&paths);
    assert_eq!(again.get_value(&h.uuid).expect("value"), b"hunter2");
    assert_eq!(
        again
            .lookup_usage(secret_usage::VOLUME, "/var/lib/x.img")
            .expect("usage"),
        h
    );
    again.undefine(&h.uuid).expect("undefine");
    assert!(!xml.exists() && !b64.exists());
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn ephemeral_and_private_secrets() {
    let (root, paths) = temp_paths("eph");
    let (secrets, _) = store(&paths);
    let h = secrets
        .define("<secret ephemeral='yes' private='yes'><usage type='ceph'><name>c</name></usage></secret>")
        .expect("define");
    secrets.set_value(&h.uuid, b"v").expect("set");
    assert_eq!(
        std::fs::read_dir(&paths.config_dir).expect("dir").count(),
        0
    );
    let err = secrets.get_value(&h.uuid).expect_err("private");
    assert_eq!(
        (err.code, err.message.as_str()),
        (65, "Invalid secret: secret is private")
    );
    let err = secrets
        .define("<secret><usage type='ceph'><name>c</name></usage></secret>")
        .expect_err("usage taken");
    assert!(
        err.message.contains("already defined for use with c"),
        "{}",
        err.message
    );
    let _ = std::fs::remove_dir_all(root);
}

fn keyed(paths: &SecretPaths, key: Option<u8>) -> (Arc<Secrets>, Vec<String>) {
    let config = SecretConfig {
        key: key.map(|b| Arc::new(EncryptionKey::from_bytes([b; 32]))),
        key_path: None,
    };
    Secrets::with_config(paths.clone(), &config, Arc::new(|_| {}))
}

#[test]
fn values_are_encrypted_with_a_key_and_plain_ones_migrate_on_write() {
    let (root, paths) = temp_paths("encrypted");
    let uuid = "11111111-2222-3333-4444-555555555555";
    let b64 = paths.config_dir.join(format!("{uuid}.base64"));
    let enc = paths.config_dir.join(format!("{uuid}.aes256cbc"));
    // A value written before encryption was on.
    let (plain, _) = keyed(&paths, None);
    let h = plain.define(VOLUME).expect("define");
    plain.set_value(&h.uuid, b"hunter2").expect("set");
    assert!(b64.exists() && !enc.exists());
    // Read as it is with a key; the next write encrypts it and drops the base64 file.
    let (secrets, problems) = keyed(&paths, Some(1));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(secrets.get_value(&h.uuid).expect("value"), b"hunter2");
    assert!(b64.exists(), "not rewritten at start, as libvirt");
    secrets.set_value(&h.uuid, b"hunter3").expect("set");
    assert!(!b64.exists() && enc.exists());
    let text = std::fs::read_to_string(&enc).expect("read");
    assert!(
        !text.contains("hunter3") && !text.contains("aHVudGVyMw"),
        "{text}"
    );
    let mode = std::fs::metadata(&enc).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (again, problems) = keyed(&paths, Some(1));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(again.get_value(&h.uuid).expect("value"), b"hunter3");
    // Without the key the secret is not loaded; with another one neither.
    let (off, problems) = keyed(&paths, None);
    assert!(off.lookup_uuid(&h.uuid).is_err());
    assert!(
        problems[0].contains("encryption of secret values is off"),
        "{problems:?}"
    );
    let (wrong, _) = keyed(&paths, Some(2));
    assert!(wrong.get_value(&h.uuid).map_or(true, |v| v != b"hunter3"));
    // Encryption turned off again: the next write goes back to base64.
    again.set_value(&h.uuid, b"hunter4").expect("set");
    let (plain, _) = keyed(&paths, None);
    assert!(plain.lookup_uuid(&h.uuid).is_err(), "still encrypted");
    plain.define(VOLUME).expect("redefine");
    plain.set_value(&h.uuid, b"hunter5").expect("set");
    assert!(b64.exists() && !enc.exists());
    plain.undefine(&h.uuid).expect("undefine");
    assert!(!b64.exists() && !enc.exists());
    let _ = std::fs::remove_dir_all(root);
}
