//! What the daemon writes about a guest is root's alone, whatever umask it was
//! started with: definitions, status files (they hold VNC passwords), logs,
//! the pid file, managed-save and `virsh save` images (guest RAM) are 0600 and
//! unreadable to `nobody`. A save never writes through a symlink at its
//! `.partial` name and never leaves a `.partial` behind when it fails.

mod qemu_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration_tests::run_with_deadline;
use integration_tests::tools::require_tool;
use qemu_support::QemuHost;

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// The test process (and so the daemon it starts) creates files for everyone:
/// the daemon must not depend on its caller's umask.
fn permissive_umask() {
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
}

fn as_nobody(args: &[&str], path: &Path) -> integration_tests::CmdOutput {
    require_tool("runuser", "util-linux");
    run_with_deadline(
        Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .args(args)
            .arg(path),
        Duration::from_secs(30),
    )
}

/// `path` is a 0600 file that `nobody` can reach but not read. The
/// directories above it are opened for traversal during the check (so that
/// only the file's own mode stops the read) and restored afterwards.
fn assert_private_file(path: &Path) {
    assert!(path.is_file(), "{} is missing", path.display());
    assert_eq!(mode(path), 0o600, "mode of {}", path.display());
    let closed: Vec<(PathBuf, u32)> = path
        .ancestors()
        .skip(1)
        .map(|dir| (dir.to_path_buf(), mode(dir)))
        .filter(|(_, mode)| mode & 0o001 == 0)
        .collect();
    for (dir, mode) in &closed {
        set_mode(dir, mode | 0o001);
    }
    let reached = as_nobody(&["stat", "--format=%a"], path);
    let read = as_nobody(&["cat"], path);
    for (dir, mode) in &closed {
        set_mode(dir, *mode);
    }
    assert!(
        reached.success(),
        "nobody cannot even reach it: {}",
        reached.stderr
    );
    assert!(!read.success(), "nobody read {}", path.display());
    assert!(
        read.stderr.contains("Permission denied"),
        "unexpected failure: {}",
        read.stderr
    );
}

/// A directory every user may write to, as /tmp is (but without its sticky bit).
fn shared_dir(host: &QemuHost) -> PathBuf {
    let dir = host.root().join("shared");
    fs::create_dir_all(&dir).expect("shared dir");
    set_mode(&dir, 0o777);
    dir
}

fn start_guest(host: &QemuHost, name: &str) {
    host.define_guest(name);
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
}

#[test]
fn guest_files_and_saved_images_are_private() {
    permissive_umask();
    let host = QemuHost::start();
    start_guest(&host, "fm");
    let root = host.root();

    for file in [
        "etc/libvirt/qemu/fm.xml",
        "run/libvirt/qemu/fm.xml",
        "var/log/libvirt/qemu/fm.log",
        "log",
        "run/libvirtd.pid",
    ] {
        assert_private_file(&root.join(file));
    }
    assert_eq!(mode(&root.join("run/libvirt/qemu")), 0o700);

    host.virsh_ok("managedsave fm");
    assert_eq!(mode(&root.join("var/lib/libvirt/qemu/save")), 0o700);
    assert_private_file(&root.join("var/lib/libvirt/qemu/save/fm.save"));
    host.virsh_ok("start fm");
    assert_eq!(host.domstate("fm"), "running (restored)");

    let image = shared_dir(&host).join("fm.img");
    host.virsh_ok(&format!("save fm {}", image.display()));
    assert_private_file(&image);
    host.virsh_ok(&format!("restore {}", image.display()));
    assert_eq!(host.domstate("fm"), "running (restored)");
}

/// A size-limited tmpfs, unmounted when dropped.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(path: PathBuf) -> SmallFs {
        require_tool("mount", "mount");
        fs::create_dir_all(&path).expect("mount point");
        let out = run_with_deadline(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=256k,mode=0777", "tmpfs"])
                .arg(&path),
            Duration::from_secs(30),
        );
        assert!(out.success(), "mount tmpfs: {}", out.stderr);
        SmallFs(path)
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn save_partials_are_never_followed_nor_left_behind() {
    permissive_umask();
    let host = QemuHost::start();
    start_guest(&host, "fp");
    let root = host.root();
    let shared = shared_dir(&host);
    let victim = shared.join("victim");
    fs::write(&victim, b"not guest memory").expect("victim");

    // `virsh save` into a directory where anyone could have planted the link.
    let image = shared.join("fp.img");
    let partial = shared.join("fp.img.partial");
    std::os::unix::fs::symlink(&victim, &partial).expect("symlink");
    host.virsh_ok(&format!("save fp {}", image.display()));
    assert_eq!(fs::read(&victim).expect("victim"), b"not guest memory");
    assert!(
        fs::symlink_metadata(&partial).is_err(),
        "partial left behind"
    );
    assert_private_file(&image);
    host.virsh_ok(&format!("restore {}", image.display()));
    assert_eq!(host.domstate("fp"), "running (restored)");

    // The same for a managed save.
    let saves = root.join("var/lib/libvirt/qemu/save");
    fs::create_dir_all(&saves).expect("save dir");
    let managed_partial = saves.join("fp.save.partial");
    std::os::unix::fs::symlink(&victim, &managed_partial).expect("symlink");
    host.virsh_ok("managedsave fp");
    assert_eq!(fs::read(&victim).expect("victim"), b"not guest memory");
    assert!(fs::symlink_metadata(&managed_partial).is_err());
    assert_private_file(&saves.join("fp.save"));
    host.virsh_ok("start fp");
    assert_eq!(host.domstate("fp"), "running (restored)");

    // A save that fails half-way (the file system fills up) leaves nothing
    // and the guest runs on.
    let small = SmallFs::mount(root.join("small"));
    let failed = small.0.join("fp.img");
    let out = host.virsh(&format!("save fp {}", failed.display()));
    assert!(!out.success(), "a save into 256 KiB succeeded");
    let left: Vec<_> = fs::read_dir(&small.0)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "a failed save left {left:?}");
    assert!(
        host.domstate("fp").starts_with("running"),
        "{}",
        host.domstate("fp")
    );
}
