//! A minimal Debian 12 tree booted with systemd as PID 1 (`systemd-nspawn
//! -b`): built once from Debian's packages by `tests/data/systemd/build-root.sh`
//! and cached as a tarball under target/, unpacked afresh for every test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use integration_tests::tools::{require_tool, run_with_deadline, CmdOutput};

/// A boot, the scenario and the poweroff take seconds; TCG on a loaded
/// machine and a slow save stretch that.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(240);
/// mmdebstrap downloads ~100 MB once.
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

static BUILD: Mutex<()> = Mutex::new(());

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace directory")
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

pub fn data(name: &str) -> PathBuf {
    workspace().join("tests/data/systemd").join(name)
}

/// The cached root tarball, built on first use.
pub fn root_tarball() -> PathBuf {
    require_tool("mmdebstrap", "mmdebstrap");
    require_tool("systemd-nspawn", "systemd-container");
    let tarball = target_dir().join("systemd-root/debian12.tar");
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let out = run_with_deadline(
        Command::new("bash")
            .arg(data("build-root.sh"))
            .arg(&tarball),
        BUILD_TIMEOUT,
    );
    assert!(
        out.success(),
        "building the Debian 12 test root failed (it needs the Debian mirror; \
         set MIRROR= to use another):\n{out}"
    );
    tarball
}

/// A fresh copy of the root in a scratch directory: `<scratch>/<name>`.
/// `name` doubles as the container's machine name, so tests running at once
/// must use different ones.
pub fn unpack_root(scratch: &Path, name: &str) -> PathBuf {
    let tarball = root_tarball();
    let root = scratch.join(name);
    std::fs::create_dir_all(&root).expect("root directory");
    run_with_deadline(
        Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-xf")
            .arg(tarball),
        Duration::from_secs(120),
    )
    .expect_success("unpacking the test root");
    root
}

/// One booted system at a time: with `--keep-unit` every container of this
/// process gets the process's own cgroup as its root, so two systems booted
/// at once share `/system.slice/...` and one's shutdown removes the other's
/// unit cgroups (its ExecStop then fails with status 219/CGROUP).
static BOOTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Boots `root` with systemd as PID 1 in its own namespaces (no network:
/// the host's is never touched) until the system inside powers off.
pub fn boot(root: &Path) -> CmdOutput {
    let _one_at_a_time = BOOTING.lock().unwrap_or_else(|e| e.into_inner());
    let name = root.file_name().expect("root name").to_string_lossy();
    run_with_deadline(
        Command::new(require_tool("systemd-nspawn", "systemd-container"))
            .arg("--quiet")
            .arg("--boot")
            .arg("--register=no")
            .arg("--keep-unit")
            .arg("--private-network")
            .arg(format!("--machine={name}"))
            .arg("--directory")
            .arg(root),
        BOOT_TIMEOUT,
    )
}

/// The journal the booted system kept (all boots, oldest first).
pub fn journal(root: &Path) -> String {
    let out = run_with_deadline(
        Command::new(require_tool("journalctl", "systemd"))
            .arg("--directory")
            .arg(root.join("var/log/journal"))
            .arg("--no-pager")
            .arg("--output=short-monotonic"),
        Duration::from_secs(60),
    );
    out.expect_success("journalctl").stdout
}

/// Installs `tests/data/systemd/<script>` as `/usr/local/sbin/boot-scenario`,
/// run once per boot by an enabled unit ordered after libvirt-guests.service
/// and multi-user.target. The script writes what it sees under
/// `/var/lib/boot-scenario/` and powers the system off.
pub fn install_scenario(root: &Path, script: &str) {
    let unit = "[Unit]\n\
         Description=Scenario of a boot test\n\
         After=libvirt-guests.service multi-user.target\n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart=/usr/local/sbin/boot-scenario\n\
         StandardOutput=journal+console\n\
         [Install]\n\
         WantedBy=multi-user.target\n";
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("directory");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    };
    write("lib/systemd/system/boot-scenario.service", unit);
    let wants = root.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).expect("wants directory");
    let link = wants.join("boot-scenario.service");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/lib/systemd/system/boot-scenario.service", link)
        .expect("enable the scenario");
    let text = std::fs::read_to_string(data(script)).expect("scenario script");
    write("usr/local/sbin/boot-scenario", &text);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        root.join("usr/local/sbin/boot-scenario"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod the scenario");
    write("var/lib/boot-scenario/phase", "first\n");
}

/// Runs one command inside `root` (a container without booting it: no
/// systemd, no network).
pub fn run_in_root(root: &Path, args: &[&str], timeout: Duration) -> CmdOutput {
    let name = root.file_name().expect("root name").to_string_lossy();
    run_with_deadline(
        Command::new(require_tool("systemd-nspawn", "systemd-container"))
            .arg("--quiet")
            .arg("--register=no")
            .arg("--keep-unit")
            .arg("--private-network")
            .arg(format!("--machine={name}"))
            .arg("--chdir=/root")
            .arg("--directory")
            .arg(root)
            .args(args),
        timeout,
    )
}
