//! The same stop/start scenario against our daemon and against the real libvirtd 9.0
//! (its test driver over a UNIX socket): libvirt-guests is a plain libvirt client,
//! not tied to our server.
//!
//! The real daemon runs in a private mount namespace with fresh tmpfs over its state
//! directories, so it never touches the host's; its socket lives in a temporary
//! directory reachable from outside. libvirt's test driver forgets its state when the
//! last connection closes, so a python3-libvirt client holds one open throughout.

mod guests_support;
mod qemu_reference;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use guests_support::{configure_in, list_file_in, run_in};
use integration_tests::tools::require_python_libvirt;
use integration_tests::{virsh, Daemon};
use qemu_reference::ReferenceDaemon;

/// A process (group) killed when the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let pgid = self.0.id() as i32;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(-pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.0.wait();
    }
}

/// A python3-libvirt client that keeps a connection to `uri` open until dropped.
fn hold_connection(uri: &str) -> Killed {
    let python = require_python_libvirt();
    let mut child = Command::new(python)
        .args([
            "-c",
            "import libvirt, sys\nc = libvirt.open(sys.argv[1])\nprint('ready', flush=True)\nsys.stdin.read()\n",
            uri,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn the connection holder");
    let stdout = child.stdout.take().expect("holder stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read from the holder");
    assert_eq!(
        line.trim(),
        "ready",
        "the holder could not connect to {uri}"
    );
    Killed(child)
}

fn domstate(uri: &str, name: &str) -> String {
    let out = virsh(uri, &format!("domstate --reason {name}"));
    assert!(out.success(), "domstate {name}: {out}");
    out.stdout.trim().to_string()
}

/// Suspends the guests of `uri` and brings them back; `root` holds libvirt-guests'
/// configuration and state files.
fn stop_start_scenario(uri: &str, root: &Path) {
    let dir = root.join("xml");
    std::fs::create_dir_all(&dir).expect("xml directory");
    let persistent = dir.join("second.xml");
    let transient = dir.join("fleeting.xml");
    for (path, name) in [(&persistent, "second"), (&transient, "fleeting")] {
        std::fs::write(
            path,
            format!(
                "<domain type='test'><name>{name}</name><memory>65536</memory>\
                 <os><type>hvm</type></os></domain>"
            ),
        )
        .expect("write domain xml");
    }
    let setup = virsh(
        uri,
        &format!(
            "define {}; start second; create {}",
            persistent.display(),
            transient.display()
        ),
    );
    assert!(setup.success(), "{setup}");
    configure_in(
        root,
        &format!("URIS='{uri}'\nON_SHUTDOWN=suspend\nON_BOOT=start\n"),
    );

    let stop = run_in(root, &["stop"]);
    assert_eq!(stop.code(), Some(0), "{stop}");
    assert!(
        stop.stdout.contains(&format!(
            "Running guests on {uri} URI: test, second, fleeting\n"
        )),
        "{stop}"
    );
    assert!(
        stop.stdout.contains(&format!(
            "Not suspending transient guests on URI: {uri}: fleeting\n"
        )),
        "{stop}"
    );
    assert!(stop.stdout.contains("Suspending test: done\n"), "{stop}");
    assert!(stop.stdout.contains("Suspending second: done\n"), "{stop}");
    assert_eq!(domstate(uri, "test"), "shut off (saved)");
    assert_eq!(domstate(uri, "second"), "shut off (saved)");
    assert_eq!(domstate(uri, "fleeting"), "running (booted)");
    let list = std::fs::read_to_string(list_file_in(root)).expect("list file");
    assert_eq!(list.lines().count(), 1, "{list}");
    assert_eq!(list.split_whitespace().count(), 3, "{list}");

    let start = run_in(root, &["start"]);
    assert_eq!(start.code(), Some(0), "{start}");
    assert_eq!(
        start.stdout,
        format!(
            "Resuming guests on {uri} URI...\nResuming guest test: done\n\
             Resuming guest second: done\n"
        )
    );
    assert_eq!(domstate(uri, "test"), "running (booted)");
    assert_eq!(domstate(uri, "second"), "running (booted)");
    assert!(!list_file_in(root).exists());
}

#[test]
fn stop_start_against_our_daemon() {
    let daemon = Daemon::start();
    stop_start_scenario(&daemon.rw_uri(), daemon.root());
}

#[test]
fn stop_start_against_the_real_libvirtd() {
    let dir = tempfile::Builder::new()
        .prefix("guests-ref-")
        .tempdir()
        .expect("temporary directory");
    let reference = ReferenceDaemon::start("");
    let uri = format!(
        "test+unix:///default?socket={}",
        reference.socket().display()
    );
    let _holder = hold_connection(&uri);
    let root = dir.path().join("root");
    stop_start_scenario(&uri, &root);
}
