//! `./run-tests` on a machine that lacks Debian packages of `.ci/packages`
//! and is not run as root: it names exactly the missing ones and stops
//! before building anything.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration_tests::tools::{require_tool, run_with_deadline};

#[test]
fn names_missing_packages_and_exits_non_zero_without_root() {
    let setpriv = require_tool("setpriv", "util-linux");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace");
    let scratch = tempfile::tempdir().expect("scratch directory");
    let dir = scratch.path();
    std::fs::create_dir(dir.join(".ci")).expect(".ci");
    std::fs::copy(workspace.join("run-tests"), dir.join("run-tests")).expect("copy run-tests");
    // dpkg is always installed; the other name exists nowhere.
    std::fs::write(
        dir.join(".ci/packages"),
        "# comment\ndpkg\nno-such-package-run-tests # trailing comment\n",
    )
    .expect("package list");
    for path in [
        dir.to_path_buf(),
        dir.join(".ci"),
        dir.join("run-tests"),
        dir.join(".ci/packages"),
    ] {
        let mode = if path.is_dir() || path.ends_with("run-tests") {
            0o755
        } else {
            0o644
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let out = run_with_deadline(
        Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(dir.join("run-tests"))
            .env_remove("CARGO_TARGET_DIR"),
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("apt-get install no-such-package-run-tests\n"),
        "{out}"
    );
    assert!(
        !out.stderr.contains("dpkg"),
        "an installed package was named:\n{out}"
    );
    assert!(!dir.join("target").exists(), "it went on to build");
}
