//! Loading libvirtd.conf from disk through the daemon library, at the locations
//! `Paths` gives under a `LIBVIRTD_ROOT`-style directory.

use std::path::Path;

use daemon::config::{self, ConfigError, Settings};
use daemon::paths::Paths;

fn rooted_paths(root: &Path, privileged: bool) -> Paths {
    let env = |name: &str| match name {
        "HOME" => Some("/home/tester".to_string()),
        _ => None,
    };
    Paths::with_root(Some(root.to_path_buf()), privileged, &env)
}

fn write(path: &Path, text: &str) {
    let parent = path.parent().expect("file path has a parent");
    std::fs::create_dir_all(parent).expect("create config directory");
    std::fs::write(path, text).expect("write config file");
}

#[test]
fn default_file_under_the_root_is_found_for_root_and_users() {
    let dir = tempfile::tempdir().expect("temp dir");
    for privileged in [true, false] {
        let paths = rooted_paths(dir.path(), privileged);
        assert!(paths.config_file.starts_with(dir.path()));
        assert_eq!(
            config::load(None, &paths.config_file, privileged),
            Ok(Settings::defaults(privileged))
        );
        write(
            &paths.config_file,
            "max_clients = 42\nunix_sock_rw_perms = \"0700\"\n",
        );
        let settings = config::load(None, &paths.config_file, privileged).expect("loads");
        assert_eq!(
            (settings.max_clients, settings.unix_sock_rw_perms),
            (42, 0o700)
        );
    }
}

#[test]
fn malformed_files_name_path_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("u.conf");
    let shown = file.display().to_string();
    let cases: &[(&str, String)] = &[
        (
            "# ok\nlisten_tls = \"1\"\n",
            format!("{shown}:2: expected a bool for 'listen_tls' parameter"),
        ),
        (
            "tls_allowed_dn_list = [\n  \"CN=a\",\n",
            format!("configuration file syntax error: {shown}:3: expecting a value"),
        ),
        (
            "a = 1\nauth_unix_rw = 'kerberos'\n",
            format!("{shown}:2: auth_unix_rw: unsupported auth kerberos"),
        ),
        (
            "\n\n\nunix_sock_ro_perms = \"0o777\"\n",
            format!("{shown}:4: Failed to parse mode '0o777'"),
        ),
        (
            "max_workers = 5 max_clients = 1\n",
            format!("configuration file syntax error: {shown}:1: expecting a separator"),
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&file, text).expect("write");
        let err = config::load(Some(&file), Path::new("/unused"), true).expect_err(text);
        assert_eq!(&err.to_string(), expected, "{text:?}");
    }
}

#[test]
fn a_missing_explicit_file_is_an_error_with_libvirts_wording() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope.conf");
    let paths = rooted_paths(dir.path(), true);
    let err = config::load(Some(&missing), &paths.config_file, true).expect_err("missing");
    assert!(matches!(err, ConfigError::Conf(_)));
    assert_eq!(
        err.to_string(),
        format!(
            "Failed to open file '{}': No such file or directory",
            missing.display()
        )
    );
    assert_eq!(err.exit_status(), 1);
}
