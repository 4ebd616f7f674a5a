//! virtproxyd (started directly, or by systemd-socket-activate) in front of
//! virtqemud and virtsecretd, all three the same binary
//! under their own names on one private root: virsh over virtproxyd's UNIX
//! sockets, TCP and TLS sees the domain virtqemud holds and the secrets
//! virtsecretd holds; killing virtqemud drops the proxied qemu connections
//! only.

mod activation_support;
mod tls_pki;

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use activation_support::process::{Launch, Process};
use activation_support::{Root, START_TIMEOUT};
use integration_tests::daemon::free_tcp_port;
use integration_tests::tools::{require_python_libvirt, wait_with_deadline};
use integration_tests::{data_file, libvirtd_bin, virsh, wait_until};
use serde_json::Value;
use tls_pki::TestPki;

const DOMAIN: &str = "<domain type='qemu'><name>proxied</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>";

fn start(root: &Root, name: &str, args: &[&str]) -> Process {
    let bin = libvirtd_bin();
    let stdout = root.path().join(format!("{name}.stdout"));
    let stderr = root.path().join(format!("{name}.stderr"));
    Launch {
        program: &bin,
        arg0: name,
        args: args.iter().map(|a| a.to_string()).collect(),
        fds: Vec::new(),
        fdnames: None,
        env: root.env(),
        stdout: &stdout,
        stderr: &stderr,
    }
    .spawn()
}

fn write_conf(root: &Root, name: &str, extra: &[String]) {
    let mut text = String::from("auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n");
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!(
        "log_level = 2\nlog_outputs = \"2:file:{}\"\n",
        root.path().join(format!("{name}.log")).display()
    ));
    std::fs::write(root.path().join(format!("etc/libvirt/{name}.conf")), text)
        .expect("write configuration");
}

fn diagnostics(root: &Root) -> String {
    let mut out = String::new();
    for name in ["virtqemud", "virtsecretd", "virtproxyd"] {
        for ext in ["stderr", "log"] {
            let text = std::fs::read_to_string(root.path().join(format!("{name}.{ext}")))
                .unwrap_or_default();
            out.push_str(&format!("--- {name}.{ext}:\n{text}"));
        }
    }
    out
}

fn wait_socket(root: &Root, process: &mut Process, socket: &Path) {
    let ready = wait_until(START_TIMEOUT, || {
        UnixStream::connect(socket).is_ok() || process.try_wait().is_some()
    });
    assert!(
        ready && process.try_wait().is_none(),
        "{} never accepted connections\n{}",
        socket.display(),
        diagnostics(root)
    );
}

#[test]
fn clients_reach_the_per_driver_daemons_through_virtproxyd() {
    let root = Root::new();
    let pki = TestPki::new();
    let (tcp_port, tls_port) = (free_tcp_port(), free_tcp_port());
    write_conf(&root, "virtqemud", &[]);
    write_conf(&root, "virtsecretd", &[]);
    let mut proxy_conf = vec![
        "listen_tcp = 1".to_string(),
        "listen_tls = 1".to_string(),
        "auth_tcp = \"none\"".to_string(),
        format!("tcp_port = \"{tcp_port}\""),
        format!("tls_port = \"{tls_port}\""),
        "listen_addr = \"127.0.0.1\"".to_string(),
    ];
    proxy_conf.extend(pki.file_conf());
    write_conf(&root, "virtproxyd", &proxy_conf);

    let mut qemud = start(&root, "virtqemud", &[]);
    wait_socket(&root, &mut qemud, &root.run_file("virtqemud-sock"));
    let mut secretd = start(&root, "virtsecretd", &[]);
    wait_socket(&root, &mut secretd, &root.run_file("virtsecretd-sock"));
    let mut proxy = start(&root, "virtproxyd", &["--listen"]);
    wait_socket(&root, &mut proxy, &root.run_file("libvirt-sock"));
    // The admin socket is bound just after the client sockets.
    let admin = root.run_file("virtproxyd-admin-sock");
    assert!(
        wait_until(START_TIMEOUT, || admin.exists()),
        "no {}",
        admin.display()
    );
    assert!(
        wait_until(START_TIMEOUT, || std::net::TcpStream::connect((
            "127.0.0.1",
            tls_port
        ))
        .is_ok()),
        "no TLS listener\n{}",
        diagnostics(&root)
    );

    // The domain is defined on virtqemud itself.
    let xml = root.path().join("domain.xml");
    std::fs::write(&xml, DOMAIN).expect("write domain XML");
    let direct = format!(
        "qemu:///system?socket={}",
        root.run_file("virtqemud-sock").display()
    );
    virsh(&direct, &format!("define {}", xml.display())).expect_success("define on virtqemud");

    let rw = root.run_file("libvirt-sock");
    let ro = root.run_file("libvirt-sock-ro");
    for uri in [
        format!("qemu+unix:///system?socket={}", rw.display()),
        format!("qemu+unix:///system?socket={}", ro.display()),
        format!("qemu+tcp://127.0.0.1:{tcp_port}/system"),
        format!(
            "qemu+tls://localhost:{tls_port}/system?pkipath={}",
            pki.good_client.display()
        ),
    ] {
        let out = virsh(&uri, "list --all --name");
        assert!(
            out.success() && out.stdout.lines().any(|l| l == "proxied"),
            "{uri}: {out}\n{}",
            diagnostics(&root)
        );
    }
    let ro_uri = format!("qemu+unix:///system?socket={}", ro.display());
    let out = virsh(&ro_uri, "undefine proxied");
    assert!(
        !out.success()
            && out
                .stderr
                .contains("read only access prevents virDomainUndefine"),
        "the read-only leg must reach virtqemud's read-only socket: {out}"
    );
    // virtqemud was told whom the read-write connections were for: the local
    // user, and the certificate's name for the TLS client.
    let log = std::fs::read_to_string(root.path().join("virtqemud.log")).unwrap_or_default();
    let uid = nix::unistd::getuid();
    assert!(
        log.contains("identity set by the connecting proxy")
            && log.contains(&format!("unix-user-id=ULLong({uid})"))
            && log.contains("x509-distinguished-name=String("),
        "no identity passed to virtqemud:\n{log}"
    );
    let secret_uri = format!("secret+unix:///system?socket={}", rw.display());
    virsh(&secret_uri, "secret-list").expect_success("secrets through virtproxyd");
    let out = virsh(
        &format!("lxc+unix:///system?socket={}", rw.display()),
        "uri",
    );
    assert!(
        !out.success() && out.stderr.contains("virtlxcd-sock"),
        "no virtlxcd runs: {out}"
    );

    // Killing virtqemud drops the proxied qemu connection, not the secret one.
    let flag = root.path().join("virtqemud-killed");
    let mut script = Command::new(require_python_libvirt())
        .arg(data_file("proxy_legs.py"))
        .arg(format!("qemu+unix:///system?socket={}", rw.display()))
        .arg(&secret_uri)
        .arg(&flag)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start proxy_legs.py");
    let mut stdout = BufReader::new(script.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read the script's first line");
    assert_eq!(line.trim(), "open", "{}", diagnostics(&root));
    qemud.signal(libc::SIGKILL);
    qemud.wait_timeout(START_TIMEOUT).expect("virtqemud killed");
    std::fs::write(&flag, "").expect("write the flag");
    let rest = wait_with_deadline(script, Duration::from_secs(90), "proxy_legs.py");
    let mut all = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut all).expect("read the rest");
    let seen: Value = serde_json::from_str(all.trim())
        .unwrap_or_else(|e| panic!("{e}: {all}\n{rest}\n{}", diagnostics(&root)));
    assert_eq!(
        seen["before"]["domains"],
        serde_json::json!(["proxied"]),
        "{seen}"
    );
    assert!(seen["qemu_after"]["error"].is_string(), "{seen}");
    assert_eq!(seen["secret_after"]["ok"], 0, "{seen}");
    assert!(proxy.try_wait().is_none(), "virtproxyd must keep running");

    for p in [&proxy, &secretd] {
        p.signal(libc::SIGTERM);
    }
    assert_eq!(
        proxy.wait_timeout(START_TIMEOUT).and_then(|s| s.code()),
        Some(0)
    );
    assert_eq!(
        secretd.wait_timeout(START_TIMEOUT).and_then(|s| s.code()),
        Some(0)
    );
}

/// Kills the systemd-socket-activate process (by then: virtproxyd) on drop.
struct Activator(std::process::Child);

impl Drop for Activator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn socket_activated_virtproxyd_forwards_to_virtqemud() {
    let tool = integration_tests::tools::require_tool("systemd-socket-activate", "systemd");
    let root = Root::new();
    write_conf(&root, "virtqemud", &[]);
    write_conf(&root, "virtproxyd", &[]);
    let mut qemud = start(&root, "virtqemud", &[]);
    wait_socket(&root, &mut qemud, &root.run_file("virtqemud-sock"));
    // The program name picks the daemon: activate it through a link named virtproxyd.
    let link = root.path().join("virtproxyd");
    std::os::unix::fs::symlink(libvirtd_bin(), &link).expect("link virtproxyd");
    let rw = root.run_file("libvirt-sock");
    let ro = root.run_file("libvirt-sock-ro");
    let child = Command::new(tool)
        .arg("-l")
        .arg(&rw)
        .arg("-l")
        .arg(&ro)
        .arg("--fdname=virtproxyd.socket:virtproxyd-ro.socket")
        .args(["-E", "LIBVIRTD_ROOT"])
        .arg(&link)
        .env("LIBVIRTD_ROOT", root.path())
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_FDNAMES")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(root.path().join("virtproxyd.stdout")).expect("stdout"))
        .stderr(std::fs::File::create(root.path().join("virtproxyd.stderr")).expect("stderr"))
        .spawn()
        .expect("spawn systemd-socket-activate");
    let _activator = Activator(child);
    assert!(
        wait_until(START_TIMEOUT, || rw.exists() && ro.exists()),
        "systemd-socket-activate did not create the sockets\n{}",
        diagnostics(&root)
    );
    let xml = root.path().join("domain.xml");
    std::fs::write(&xml, DOMAIN).expect("write domain XML");
    let uri = format!("qemu+unix:///system?socket={}", rw.display());
    virsh(&uri, &format!("define {}", xml.display()))
        .expect_success("define through the activated virtproxyd");
    let out = virsh(
        &format!(
            "qemu:///system?socket={}",
            root.run_file("virtqemud-sock").display()
        ),
        "list --all --name",
    )
    .expect_success("list on virtqemud");
    assert!(out.stdout.lines().any(|l| l == "proxied"), "{out}");
    let out = virsh(
        &format!("qemu+unix:///system?socket={}", ro.display()),
        "list --all --name",
    )
    .expect_success("list over the activated read-only socket");
    assert!(out.stdout.lines().any(|l| l == "proxied"), "{out}");
    qemud.signal(libc::SIGTERM);
    qemud.wait_timeout(START_TIMEOUT).expect("virtqemud stops");
}

/// A daemon that stops answering (SIGSTOP) is found out by virtproxyd's
/// keepalive on the backend leg, and its clients are disconnected instead of
/// waiting forever.
#[test]
fn keepalive_drops_clients_of_a_daemon_that_stopped_answering() {
    let root = Root::new();
    write_conf(&root, "virtsecretd", &[]);
    write_conf(
        &root,
        "virtproxyd",
        &[
            "keepalive_interval = 1".to_string(),
            "keepalive_count = 2".to_string(),
        ],
    );
    let mut secretd = start(&root, "virtsecretd", &[]);
    wait_socket(&root, &mut secretd, &root.run_file("virtsecretd-sock"));
    let mut proxy = start(&root, "virtproxyd", &[]);
    wait_socket(&root, &mut proxy, &root.run_file("libvirt-sock"));
    let flag = root.path().join("stopped");
    let mut script = Command::new(require_python_libvirt())
        .arg(data_file("hold_then_call.py"))
        .arg(format!(
            "secret+unix:///system?socket={}",
            root.run_file("libvirt-sock").display()
        ))
        .arg(&flag)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hold_then_call.py");
    let mut stdout = BufReader::new(script.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read the script's first line");
    assert_eq!(line.trim(), "open", "{}", diagnostics(&root));
    secretd.signal(libc::SIGSTOP);
    // kill() returns before the stop takes effect: the call goes out only once
    // the kernel shows the daemon stopped.
    let stat = format!("/proc/{}/stat", secretd.pid());
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&stat)
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('T')))
                .unwrap_or(false)
        }),
        "virtsecretd did not stop"
    );
    std::fs::write(&flag, "").expect("write the flag");
    let rest = wait_with_deadline(script, Duration::from_secs(45), "hold_then_call.py");
    secretd.signal(libc::SIGCONT);
    let mut all = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut all).expect("read the rest");
    let seen: Value = serde_json::from_str(all.trim())
        .unwrap_or_else(|e| panic!("{e}: {all}\n{rest}\n{}", diagnostics(&root)));
    assert!(seen["error"].is_string(), "{seen}");
    assert!(proxy.try_wait().is_none(), "virtproxyd must keep running");
    for p in [&proxy, &secretd] {
        p.signal(libc::SIGTERM);
    }
    assert_eq!(
        proxy.wait_timeout(START_TIMEOUT).and_then(|s| s.code()),
        Some(0)
    );
}
