//! virtqemud killed with SIGKILL behind virtproxyd: the clients' qemu
//! connections through the proxy are dropped while their secret connections
//! (to virtsecretd) stay up; the next qemu call through virtproxyd makes the
//! socket manager start virtqemud again on its held sockets, and the new
//! virtqemud re-attaches the running guest.

mod activation_support;
mod qemu_support;

use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};

use activation_support::process::{Launch, Process};
use activation_support::supervisor::{Service, Supervisor, SupervisorEvent};
use activation_support::{unix_socket, Root, START_TIMEOUT};
use integration_tests::tools::require_python_libvirt;
use integration_tests::{libvirtd_bin, virsh, wait_until};
use qemu_support::{tiny_guest, BOOT_TIMEOUT};

const CLIENT: &str = r#"
import sys, libvirt
qemu = libvirt.open(sys.argv[1])
secrets = libvirt.open(sys.argv[2])
print("READY", len(qemu.listAllDomains()), len(secrets.listAllSecrets()), flush=True)
sys.stdin.readline()
try:
    qemu.listAllDomains()
    print("QEMU-ALIVE", flush=True)
except libvirt.libvirtError as e:
    print("QEMU-DROPPED", e.get_error_code(), flush=True)
print("SECRETS", len(secrets.listAllSecrets()), flush=True)
"#;

/// Starts `name` and waits for its read-write socket `socket`.
fn start(root: &Root, name: &str, socket: &str) -> Process {
    let bin = libvirtd_bin();
    let process = Launch {
        program: &bin,
        arg0: name,
        args: Vec::new(),
        fds: Vec::new(),
        fdnames: None,
        env: root.env(),
        stdout: &root.path().join(format!("{name}.stdout")),
        stderr: &root.path().join(format!("{name}.stderr")),
    }
    .spawn();
    let socket = root.run_file(socket);
    assert!(
        wait_until(START_TIMEOUT, || UnixStream::connect(&socket).is_ok()),
        "{name} did not start\n{}",
        diagnostics(root)
    );
    process
}

fn diagnostics(root: &Root) -> String {
    let mut out = String::new();
    for name in ["virtqemud", "virtsecretd", "virtproxyd"] {
        let text =
            std::fs::read_to_string(root.path().join(format!("{name}.stderr"))).unwrap_or_default();
        out.push_str(&format!("--- {name}.stderr:\n{text}"));
    }
    out
}

fn guest_xml(serial: &Path) -> String {
    let (kernel, initrd) = tiny_guest();
    format!(
        "<domain type='qemu'><name>g1</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64'>hvm</type><kernel>{}</kernel><initrd>{}</initrd>\
         <cmdline>console=ttyS0 quiet</cmdline></os><features><acpi/></features>\
         <devices><serial type='file'><source path='{}'/></serial></devices></domain>",
        kernel.display(),
        initrd.display(),
        serial.display()
    )
}

fn started_pid(supervisor: &mut Supervisor) -> i32 {
    match supervisor.next_event(START_TIMEOUT) {
        Some(SupervisorEvent::Started(pid)) => pid,
        other => panic!("virtqemud was not started: {other:?}"),
    }
}

#[test]
fn killed_virtqemud_is_started_again_and_finds_its_guest() {
    let python = require_python_libvirt();
    let root = Root::new();
    for name in ["virtqemud", "virtsecretd", "virtproxyd"] {
        root.write_conf(name, &["auth_unix_rw = \"none\""], false);
    }
    std::fs::create_dir_all(root.path().join("run/libvirt")).expect("run directory");
    let sockets: Vec<OwnedFd> = [
        "virtqemud-sock",
        "virtqemud-sock-ro",
        "virtqemud-admin-sock",
    ]
    .iter()
    .map(|name| unix_socket(&root.run_file(name)))
    .collect();
    let mut supervisor = Supervisor::start(
        Service {
            program: libvirtd_bin(),
            arg0: "virtqemud".into(),
            args: Vec::new(),
            fdnames: "virtqemud.socket:virtqemud-ro.socket:virtqemud-admin.socket".into(),
            env: root.env(),
            stdout: root.path().join("virtqemud.stdout"),
            stderr: root.path().join("virtqemud.stderr"),
        },
        sockets,
    );
    let _secretd = start(&root, "virtsecretd", "virtsecretd-sock");
    let _proxy = start(&root, "virtproxyd", "libvirt-sock");
    let proxy = root.run_file("libvirt-sock");
    let qemu_uri = format!("qemu+unix:///system?socket={}", proxy.display());
    let secret_uri = format!("secret+unix:///system?socket={}", proxy.display());

    let serial = root.path().join("g1.serial");
    let xml = root.path().join("g1.xml");
    std::fs::write(&xml, guest_xml(&serial)).expect("guest xml");
    virsh(&qemu_uri, &format!("define {}", xml.display())).expect_success("define");
    let first = started_pid(&mut supervisor);
    virsh(&qemu_uri, "start g1").expect_success("start");
    assert!(
        wait_until(BOOT_TIMEOUT, || std::fs::read_to_string(&serial)
            .is_ok_and(|t| t.contains("TINY-GUEST-BOOTED"))),
        "the guest booted\n{}",
        diagnostics(&root)
    );

    let mut client = Command::new(python)
        .args(["-c", CLIENT, &qemu_uri, &secret_uri])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python client");
    let mut lines = BufReader::new(client.stdout.take().expect("stdout")).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(ready.starts_with("READY 1 "), "{ready}");

    // SAFETY: signalling the virtqemud the supervisor started for this test.
    unsafe {
        libc::kill(first, libc::SIGKILL);
    }
    match supervisor.next_event(START_TIMEOUT) {
        Some(SupervisorEvent::Exited(pid, _)) => assert_eq!(pid, first),
        other => panic!("virtqemud did not exit: {other:?}"),
    }
    let mut stdin = client.stdin.take().expect("stdin");
    writeln!(stdin, "go").expect("tell the client");
    let qemu_line = lines.next().and_then(Result::ok).unwrap_or_default();
    let secrets_line = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(qemu_line.starts_with("QEMU-DROPPED"), "{qemu_line}");
    assert_eq!(secrets_line, "SECRETS 0", "the secret connection stays up");
    let _ = client.wait();

    // The next qemu call through the proxy starts virtqemud again.
    let out = virsh(&qemu_uri, "domstate g1").expect_success("domstate after the restart");
    assert_eq!(out.stdout.trim(), "running", "{out}");
    let second = started_pid(&mut supervisor);
    assert_ne!(second, first);
    let out = virsh(
        &qemu_uri,
        "qemu-monitor-command g1 '{\"execute\":\"query-status\"}'",
    )
    .expect_success("the re-attached guest answers its monitor");
    assert!(out.stdout.contains("\"running\""), "{out}");
    virsh(&qemu_uri, "destroy g1").expect_success("destroy");
}
