//! Shared pieces of the storage tests: loop devices the test creates and removes,
//! file helpers, and the daemon host of the qemu tests (its root survives restarts).

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration_tests::tools::{require_python_libvirt, require_tool};
use integration_tests::{run_with_deadline, CmdOutput};

#[path = "../qemu_support/mod.rs"]
pub mod qemu_support;

pub use qemu_support::QemuHost;

/// Runs a host tool, failing the test (with its output) unless it succeeds.
pub fn run(program: &str, package: &str, args: &[&str]) -> String {
    let out = run_with_deadline(
        Command::new(require_tool(program, package)).args(args),
        Duration::from_secs(60),
    );
    assert!(out.success(), "{program} {args:?} failed:\n{out}");
    out.stdout
}

/// A loop device over a sparse image in `dir`, with partition scanning;
/// detached (after unmounting what is mounted from it) when dropped.
pub struct LoopDevice {
    pub path: String,
    image: PathBuf,
}

impl LoopDevice {
    pub fn new(dir: &Path, name: &str, mib: u64) -> LoopDevice {
        let image = dir.join(format!("{name}.img"));
        let file = fs::File::create(&image).expect("create loop image");
        file.set_len(mib << 20).expect("size loop image");
        let out = run(
            "losetup",
            "mount",
            &["-f", "-P", "--show", &image.display().to_string()],
        );
        LoopDevice {
            path: out.trim().to_string(),
            image,
        }
    }

    /// `/dev/loopN` without the directory.
    pub fn name(&self) -> &str {
        self.path.trim_start_matches("/dev/")
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        for line in mounts.lines() {
            let mut f = line.split(' ');
            if f.next() == Some(self.path.as_str()) {
                if let Some(target) = f.next() {
                    let _ = Command::new("umount").arg(target).status();
                }
            }
        }
        let _ = Command::new("losetup").args(["-d", &self.path]).status();
        let _ = fs::remove_file(&self.image);
    }
}

/// Runs virsh expecting failure; returns its standard error.
pub fn virsh_err(host: &QemuHost, commands: &str) -> String {
    let out = host.virsh(commands);
    assert!(
        !out.success(),
        "virsh {commands} should have failed:\n{out}"
    );
    out.stderr
}

/// Bytes of disk a file occupies (its allocation).
pub fn allocated(path: &Path) -> u64 {
    fs::metadata(path).expect("stat").blocks() * 512
}

/// `/usr/bin/python3 -c SCRIPT ARGS...` with python3-libvirt.
pub fn python_inline(script: &str, args: &[&str]) -> CmdOutput {
    let python = require_python_libvirt();
    run_with_deadline(
        Command::new(python).arg("-c").arg(script).args(args),
        Duration::from_secs(120),
    )
}

/// Whether something is mounted at `dir`.
pub fn is_mounted(dir: &Path) -> bool {
    let want = dir.display().to_string();
    fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(want.as_str()))
}
