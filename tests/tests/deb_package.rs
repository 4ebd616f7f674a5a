//! The Debian package from `make deb`: lintian accepts it (apart from the
//! overrides it ships), and on a fresh Debian 12 root `apt-get install
//! ./libvirtd-rs_*.deb` gives a daemon that systemd starts from the installed
//! sockets, answers virsh at the default paths and runs a guest; `dpkg
//! --purge` then leaves nothing behind but the administrator's data.

mod qemu_support;
mod systemd_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use integration_tests::libvirtd_bin;
use integration_tests::tools::{require_tool, run_with_deadline};
use systemd_support::{
    boot, install_scenario, journal, run_in_root, target_dir, unpack_root, workspace,
};

const MAKE_TIMEOUT: Duration = Duration::from_secs(300);
const DPKG_TIMEOUT: Duration = Duration::from_secs(120);

/// `make deb` with the already built binaries, once for both tests (into
/// target/deb-test).
fn package() -> PathBuf {
    static PACKAGE: OnceLock<PathBuf> = OnceLock::new();
    PACKAGE
        .get_or_init(|| {
            require_tool("dpkg-shlibdeps", "dpkg-dev");
            let dir = target_dir().join("deb-test");
            let out = run_with_deadline(
                Command::new(require_tool("make", "make"))
                    .arg("-s")
                    .arg("-C")
                    .arg(workspace())
                    .arg("deb")
                    .arg(format!("BIN={}", libvirtd_bin().display()))
                    .arg(format!("DEB_DIR={}", dir.display())),
                MAKE_TIMEOUT,
            )
            .expect_success("make deb");
            let deb = PathBuf::from(out.stdout.trim().lines().last().unwrap_or_default());
            assert!(deb.is_file(), "make deb printed no package path:\n{out}");
            deb
        })
        .clone()
}

/// Every path in `root` (relative, one file system), for before/after diffs.
fn tree(root: &Path) -> BTreeSet<String> {
    let out = run_with_deadline(
        Command::new("find").arg(".").arg("-xdev").current_dir(root),
        Duration::from_secs(60),
    )
    .expect_success("find");
    out.stdout.lines().map(str::to_string).collect()
}

/// What the system itself changes while it boots, installs and removes
/// packages, whatever package it is: journal, machine id, dpkg and apt
/// bookkeeping and logs, account database backups, temporary files.
fn system_noise(path: &str) -> bool {
    const PREFIXES: [&str; 13] = [
        "./var/log/journal",
        "./var/lib/dpkg",
        "./var/lib/apt",
        "./var/cache/apt",
        "./var/cache/debconf",
        "./var/cache/ldconfig",
        "./var/lib/systemd",
        "./var/log/apt",
        "./var/tmp",
        "./tmp",
        "./root",
        "./var/lib/boot-scenario",
        "./usr/local/sbin/boot-scenario",
    ];
    const FILES: [&str; 16] = [
        "./etc/machine-id",
        "./etc/localtime",
        "./var/lib/dbus/machine-id",
        "./etc/passwd-",
        "./etc/group-",
        "./etc/shadow-",
        "./etc/gshadow-",
        "./etc/subuid",
        "./etc/subgid",
        "./etc/subuid-",
        "./etc/subgid-",
        "./var/log/dpkg.log",
        "./var/log/alternatives.log",
        "./var/log/wtmp",
        "./var/log/lastlog",
        "./etc/.pwd.lock",
    ];
    PREFIXES
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
        || FILES.contains(&path)
        || path.starts_with("./usr/lib/systemd/system/boot-scenario")
        || path.starts_with("./etc/systemd/system/multi-user.target.wants/boot-scenario")
}

/// The administrator's data, which purge keeps: the guest's definition, its
/// kernel, initramfs and console log.
fn user_data(path: &str) -> bool {
    [
        "./etc/libvirt",
        "./etc/libvirt/qemu",
        "./etc/libvirt/qemu/g1.xml",
        "./var/lib/libvirt",
        "./var/lib/libvirt/images",
        // The secrets encryption key stays with the secrets it protects.
        "./var/lib/libvirt/secrets",
        "./var/lib/libvirt/secrets/secrets-encryption-key",
    ]
    .contains(&path)
        || path.starts_with("./var/lib/libvirt/images/")
}

#[test]
fn lintian_accepts_the_package() {
    let lintian = require_tool("lintian", "lintian");
    let deb = package();
    let out = run_with_deadline(
        Command::new(lintian)
            .arg("--info")
            .arg("--pedantic")
            .arg("--fail-on=error,warning,info,pedantic")
            .arg(&deb),
        Duration::from_secs(180),
    );
    assert!(out.success(), "lintian:\n{out}");
    let findings: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.len() > 2 && l.as_bytes()[1] == b':')
        .collect();
    assert!(findings.is_empty(), "lintian findings:\n{out}");
}

#[test]
fn installs_runs_a_guest_from_the_installed_units_and_purges_cleanly() {
    let (kernel, initrd) = qemu_support::tiny_guest();
    let scratch = tempfile::Builder::new()
        .prefix("sddeb-")
        .tempdir()
        .expect("scratch directory");
    let deb = package();
    let root = unpack_root(
        scratch.path(),
        &format!("libvirt-deb-{}", std::process::id()),
    );
    let before = tree(&root);

    let deb_name = deb
        .file_name()
        .expect("deb name")
        .to_string_lossy()
        .to_string();
    std::fs::copy(&deb, root.join("root").join(&deb_name)).expect("copy the package");
    let install = run_in_root(
        &root,
        &["apt-get", "install", "-y", &format!("./{deb_name}")],
        DPKG_TIMEOUT,
    );
    assert!(install.success(), "apt-get install:\n{install}");
    for file in [
        "usr/sbin/libvirtd",
        "lib/systemd/system/libvirtd.socket",
        "etc/libvirt/qemu.conf",
        "etc/default/libvirt-guests",
        "etc/systemd/system/sockets.target.wants/libvirtd.socket",
        "etc/libvirt/qemu/networks/default.xml",
    ] {
        // symlink_metadata: enablement links are absolute, inside the root.
        assert!(
            root.join(file).symlink_metadata().is_ok(),
            "{file} not installed:\n{install}"
        );
    }
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).expect("passwd");
    assert!(passwd.contains("\nlibvirt-qemu:"), "no libvirt-qemu user");

    let images = root.join("var/lib/libvirt/images");
    std::fs::create_dir_all(&images).expect("images directory");
    std::fs::copy(&kernel, images.join("vmlinuz")).expect("copy the kernel");
    std::fs::copy(&initrd, images.join("initrd.gz")).expect("copy the initramfs");
    std::fs::copy(systemd_support::data("g1.xml"), images.join("g1.xml")).expect("guest xml");
    install_scenario(&root, "deb-scenario");
    let booted = boot(&root);
    let seen =
        std::fs::read_to_string(root.join("var/lib/boot-scenario/first")).unwrap_or_default();
    let context = || format!("{seen}\n{booted}\n{}", journal(&root));
    for line in [
        "libvirtd.socket: enabled active",
        "libvirtd-ro.socket: enabled active",
        "libvirtd-admin.socket: enabled active",
        "libvirt-guests.service: enabled active",
        "list ok",
        "daemon: active",
        "guest booted",
        "running: g1",
        "read-only: g1",
        "admin: 1",
        "done",
    ] {
        assert!(
            seen.lines().any(|l| l == line),
            "{line:?} not seen:\n{}",
            context()
        );
    }

    let purge = run_in_root(&root, &["dpkg", "--purge", "libvirtd-rs"], DPKG_TIMEOUT);
    assert!(purge.success(), "dpkg --purge:\n{purge}");
    let after = tree(&root);
    let left: Vec<&String> = after
        .difference(&before)
        .filter(|p| !system_noise(p) && !user_data(p))
        .collect();
    assert!(left.is_empty(), "purge left behind: {left:#?}\n{purge}");
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).expect("passwd");
    assert!(
        !passwd.contains("libvirt-qemu"),
        "purge kept the libvirt-qemu user"
    );
    assert!(
        root.join("etc/libvirt/qemu/g1.xml").is_file(),
        "purge removed the guest definition (administrator's data)"
    );
}
