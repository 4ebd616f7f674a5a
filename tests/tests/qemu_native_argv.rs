//! `virsh domxml-to-native qemu-argv`: the line it prints, split as a shell
//! splits it, is the environment and the command line QEMU then really runs
//! with for the same definition (its `/proc/PID/cmdline`); other formats and
//! bad definitions get libvirt's errors; read-only clients are refused.

mod qemu_support;

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use qemu_support::QemuHost;

/// The words of `line` as a POSIX shell splits them (python3's shlex).
fn shell_split(line: &str) -> Vec<String> {
    let mut child = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import shlex,sys; print('\\0'.join(shlex.split(sys.stdin.read())), end='')",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python3 (Debian package python3)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(line.as_bytes())
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3 output");
    assert!(out.status.success(), "shlex could not split: {line}");
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .map(str::to_string)
        .collect()
}

#[test]
fn native_command_line_is_the_one_qemu_runs_with() {
    let host = QemuHost::start();
    // A fixed UUID (one is made up at each parse otherwise) and a display,
    // whose port comes from the definition.
    let xml = host
        .guest_xml("nat")
        .replace(
            "<name>nat</name>",
            "<name>nat</name><uuid>6c5a3d1e-2b4f-4e8a-9d7c-1f0e2d3c4b5a</uuid>",
        )
        .replace(
            "</devices>",
            "<graphics type='vnc' port='5977' listen='127.0.0.1'/></devices>",
        );
    let file = host.root().join("nat.xml");
    fs::write(&file, &xml).expect("write guest xml");

    let line = host.virsh_ok(&format!("domxml-to-native qemu-argv {}", file.display()));
    assert_eq!(line.lines().count(), 1, "{line}");
    let words = shell_split(&line);
    let env: Vec<&String> = words
        .iter()
        .take_while(|w| w.contains('=') && !w.starts_with('/'))
        .collect();
    assert!(env.iter().any(|w| *w == "LC_ALL=C"), "{words:?}");
    let argv = &words[env.len()..];
    assert!(argv[0].contains("qemu-system-x86_64"), "{argv:?}");
    assert!(argv.iter().any(|a| a == "-vnc"), "{argv:?}");
    // Nothing started.
    assert!(
        host.guest_pids().is_empty(),
        "domxml-to-native started QEMU"
    );

    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start nat");
    let pids = host.guest_pids();
    assert_eq!(pids.len(), 1);
    let cmdline = fs::read(format!("/proc/{}/cmdline", pids[0])).expect("QEMU's cmdline");
    let running: Vec<String> = String::from_utf8_lossy(&cmdline)
        .trim_end_matches('\0')
        .split('\0')
        .map(str::to_string)
        .collect();
    assert_eq!(argv, running.as_slice(), "native line vs the running QEMU");
    host.virsh_ok("destroy nat");

    let out = host.virsh(&format!("domxml-to-native xen-xm {}", file.display()));
    assert!(
        out.stderr.contains("unsupported config type xen-xm"),
        "{out}"
    );
    let bad = host.root().join("bad.xml");
    fs::write(&bad, xml.replace("<memory", "<memory unit='parsec'")).expect("write");
    let out = host.virsh(&format!("domxml-to-native qemu-argv {}", bad.display()));
    assert!(!out.success() && !out.stderr.is_empty(), "{out}");
    let uri = host.uri();
    let ro = integration_tests::virsh_args(&[
        "-r",
        "-c",
        &uri,
        &format!("domxml-to-native qemu-argv {}", file.display()),
    ]);
    assert!(ro.stderr.contains("read only access"), "{ro}");
}
