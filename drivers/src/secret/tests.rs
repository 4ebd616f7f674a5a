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
