//! Running the workspace's `libvirt-guests` against a test daemon: its configuration
//! file and state files live under the daemon's `LIBVIRTD_ROOT`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration_tests::{libvirtd_bin, run_with_deadline, virsh, CmdOutput, Daemon};

/// Long enough for a few guests with one-second polls.
const GUESTS_TIMEOUT: Duration = Duration::from_secs(120);

/// The `libvirt-guests` binary built next to the `libvirtd` under test.
pub fn guests_bin() -> PathBuf {
    let bin = libvirtd_bin().with_file_name("libvirt-guests");
    assert!(
        bin.is_file(),
        "{} does not exist: build it with `cargo build -p guests`",
        bin.display()
    );
    bin
}

/// Writes `/etc/default/libvirt-guests` under the daemon's root.
pub fn configure(daemon: &Daemon, text: &str) {
    configure_in(daemon.root(), text);
}

/// Writes `/etc/default/libvirt-guests` under `root`.
pub fn configure_in(root: &Path, text: &str) {
    let path = root.join("etc/default/libvirt-guests");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("create etc/default");
    std::fs::write(&path, text).expect("write libvirt-guests config");
}

/// `libvirt-guests ARGS...` for this daemon's root.
pub fn run_args(daemon: &Daemon, args: &[&str]) -> CmdOutput {
    run_in(daemon.root(), args)
}

/// `libvirt-guests ARGS...` with `root` as its `LIBVIRTD_ROOT`.
pub fn run_in(root: &Path, args: &[&str]) -> CmdOutput {
    let mut command = Command::new(guests_bin());
    command
        .args(args)
        .env("LIBVIRTD_ROOT", root)
        .env("LC_ALL", "C")
        .env_remove("LIBVIRT_DEFAULT_URI");
    run_with_deadline(&mut command, GUESTS_TIMEOUT)
}

/// `libvirt-guests COMMAND`.
pub fn run(daemon: &Daemon, command: &str) -> CmdOutput {
    run_args(daemon, &[command])
}

pub fn list_file(daemon: &Daemon) -> PathBuf {
    list_file_in(daemon.root())
}

pub fn list_file_in(root: &Path) -> PathBuf {
    root.join("var/lib/libvirt/libvirt-guests")
}

pub fn lock_file(daemon: &Daemon) -> PathBuf {
    daemon.root().join("var/lock/libvirt-guests")
}

/// `virsh domstate --reason NAME` over the daemon's read-write socket.
pub fn domstate(daemon: &Daemon, name: &str) -> String {
    let out = virsh(&daemon.rw_uri(), &format!("domstate --reason {name}"));
    assert!(out.success(), "domstate {name}: {out}");
    out.stdout.trim().to_string()
}

pub fn domuuid(daemon: &Daemon, name: &str) -> String {
    let out = virsh(&daemon.rw_uri(), &format!("domuuid {name}"));
    assert!(out.success(), "domuuid {name}: {out}");
    out.stdout.trim().to_string()
}

/// Defines and starts a persistent guest; `extra` goes inside `<domain>`.
pub fn start_persistent(daemon: &Daemon, name: &str, extra: &str) {
    let xml = guest_xml(daemon, name, extra);
    let out = virsh(&daemon.rw_uri(), &format!("define {xml}; start {name}"));
    assert!(out.success(), "define and start {name}: {out}");
}

/// Starts a transient guest.
pub fn start_transient(daemon: &Daemon, name: &str) {
    let xml = guest_xml(daemon, name, "");
    let out = virsh(&daemon.rw_uri(), &format!("create {xml}"));
    assert!(out.success(), "create {name}: {out}");
}

fn guest_xml(daemon: &Daemon, name: &str, extra: &str) -> String {
    let path = daemon.root().join(format!("{name}.xml"));
    std::fs::write(
        &path,
        format!(
            "<domain type='test'><name>{name}</name><memory>65536</memory>\
             <os><type>hvm</type></os>{extra}</domain>"
        ),
    )
    .expect("write domain xml");
    path.display().to_string()
}

/// The lines of the list file.
pub fn list_lines(daemon: &Daemon) -> Vec<String> {
    std::fs::read_to_string(list_file(daemon))
        .expect("read the list file")
        .lines()
        .map(str::to_string)
        .collect()
}
