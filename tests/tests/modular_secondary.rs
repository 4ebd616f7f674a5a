//! Per-driver daemons side by side, as systemd runs them: a client of
//! `virtqemud` (directly, or through `virtproxyd` over TLS) makes network,
//! storage, secret and node device calls on its `qemu:///system` connection
//! and virtqemud hands them to `virtnetworkd`, `virtstoraged`, `virtsecretd`
//! and `virtnodedevd`, as libvirt routes them: the objects land in those
//! daemons, volume streams and network events come back through virtqemud,
//! a read-only client stays read-only, and a missing daemon (virtnetworkd
//! killed, virtnwfilterd never started) fails only its own calls. An
//! `lxc:///system` connection of `virtlxcd` does the same.

mod network_support;
mod tls_pki;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use integration_tests::tools::require_python_libvirt;
use integration_tests::{data_file, virsh, wait_until};
use network_support::{NetEvents, NetHost};
use serde_json::Value;

const NETWORK: &str = "<network><name>secnet</name><bridge name='lvbr-sec'/></network>";
const DOMAIN: &str = "<domain type='qemu'><name>staying</name><memory unit='MiB'>64</memory>\
                      <os><type arch='x86_64'>hvm</type></os></domain>";
const SECRET: &str = "<secret ephemeral='no' private='no'><usage type='volume'>\
                      <volume>/var/lib/secondary/disk.img</volume></usage></secret>";

fn ok(host: &NetHost, uri: &str, commands: &str) -> String {
    let out = virsh(uri, commands);
    assert!(
        out.success(),
        "virsh {commands}: {out}\n{}",
        host.diagnostics()
    );
    out.stdout
}

#[test]
fn hypervisor_connections_reach_the_secondary_drivers_daemons() {
    let mut host = NetHost::new();
    for daemon in [
        "virtnetworkd",
        "virtstoraged",
        "virtsecretd",
        "virtnodedevd",
        "virtqemud",
    ] {
        host.start_modular(daemon);
    }
    let qemu = host.modular_uri("qemu", "virtqemud");
    let network = host.modular_uri("network", "virtnetworkd");

    // A lifecycle event listener registered on the qemu connection.
    let mut events = NetEvents::start_on(&host, &qemu);

    // Networks: defined through virtqemud, held by virtnetworkd.
    let file = host.write("secnet.xml", NETWORK, 0o644);
    ok(&host, &qemu, &format!("net-define {}", file.display()));
    let listed = ok(&host, &qemu, "net-list --all --name");
    assert!(listed.lines().any(|l| l.trim() == "secnet"), "{listed}");
    let held = ok(&host, &network, "net-list --all --name");
    assert!(
        held.lines().any(|l| l.trim() == "secnet"),
        "virtnetworkd holds the network: {held}"
    );
    assert!(
        host.root()
            .join("etc/libvirt/qemu/networks/secnet.xml")
            .exists(),
        "virtnetworkd wrote the definition"
    );
    let seen = events.collect("secnet", 1, Duration::from_secs(20));
    assert_eq!(seen, ["Defined"], "the event came through virtqemud");
    drop(events);
    // Every virsh is gone, and with their connections the links.
    let admin = format!(
        "virtnetworkd:///system?socket={}",
        host.root()
            .join("run/libvirt/virtnetworkd-admin-sock")
            .display()
    );
    let closed = wait_until(Duration::from_secs(20), || {
        integration_tests::virt_admin(&admin, "srv-clients-info virtnetworkd")
            .stdout
            .contains("nclients            : 0\n")
    });
    assert!(
        closed,
        "links left open on virtnetworkd: {}",
        integration_tests::virt_admin(&admin, "srv-clients-list virtnetworkd")
    );

    // Storage: a pool in virtstoraged, a volume uploaded and downloaded
    // through virtqemud's connection.
    let dir = host.root().join("secpool");
    ok(
        &host,
        &qemu,
        &format!("pool-define-as sp dir --target {}", dir.display()),
    );
    ok(&host, &qemu, "pool-build sp; pool-start sp");
    let pools = ok(
        &host,
        &host.modular_uri("storage", "virtstoraged"),
        "pool-list --all --name",
    );
    assert!(pools.lines().any(|l| l.trim() == "sp"), "{pools}");
    ok(&host, &qemu, "vol-create-as sp v1 1M --format raw");
    let data: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let upload = host.root().join("upload.bin");
    std::fs::write(&upload, &data).expect("write upload data");
    ok(
        &host,
        &qemu,
        &format!("vol-upload --pool sp v1 {}", upload.display()),
    );
    assert_eq!(
        std::fs::read(dir.join("v1")).expect("the volume's file"),
        data,
        "the uploaded bytes are in the volume"
    );
    let download = host.root().join("download.bin");
    ok(
        &host,
        &qemu,
        &format!("vol-download --pool sp v1 {}", download.display()),
    );
    assert_eq!(
        std::fs::read(&download).expect("downloaded file"),
        data,
        "the downloaded bytes are the volume's"
    );

    // Secrets: defined and given a value through virtqemud, held by virtsecretd.
    let secret_file = host.write("secret.xml", SECRET, 0o644);
    let created = ok(
        &host,
        &qemu,
        &format!("secret-define {}", secret_file.display()),
    );
    let uuid = created
        .split_whitespace()
        .find(|w| w.len() == 36)
        .unwrap_or_else(|| panic!("no UUID in {created}"))
        .to_string();
    ok(
        &host,
        &qemu,
        &format!("secret-set-value --secret {uuid} --base64 c2Vjb25kYXJ5"),
    );
    let value = ok(
        &host,
        &host.modular_uri("secret", "virtsecretd"),
        &format!("secret-get-value {uuid}"),
    );
    assert_eq!(value.trim(), "c2Vjb25kYXJ5");

    // Node devices: the namespace's loopback interface, from virtnodedevd.
    let devices = ok(&host, &qemu, "nodedev-list --cap net");
    assert!(
        devices.lines().any(|l| l.starts_with("net_lo_")),
        "{devices}"
    );

    // Network filters too go to their daemon, which does not run here.
    let out = virsh(&qemu, "nwfilter-list");
    let nwfilterd = host.root().join("run/libvirt/virtnwfilterd-sock");
    assert!(
        !out.success()
            && out.stderr.contains(&format!(
                "Failed to connect socket to '{}': No such file or directory",
                nwfilterd.display()
            )),
        "{out}"
    );

    // A read-only client reads through the read-only sockets, and is refused changes.
    let ro = format!(
        "qemu+unix:///system?socket={}",
        host.root().join("run/libvirt/virtqemud-sock-ro").display()
    );
    let listed = ok(&host, &ro, "net-list --all --name");
    assert!(listed.lines().any(|l| l.trim() == "secnet"), "{listed}");
    let out = virsh(&ro, &format!("net-define {}", file.display()));
    assert!(
        !out.success()
            && out
                .stderr
                .contains("read only access prevents virNetworkDefineXML"),
        "{out}"
    );

    // Without virtnetworkd, network calls fail and the domain calls go on.
    let domain = host.write("staying.xml", DOMAIN, 0o644);
    ok(&host, &qemu, &format!("define {}", domain.display()));
    let flag = host.root().join("virtnetworkd-killed");
    let mut script = std::process::Command::new(require_python_libvirt())
        .arg(data_file("secondary_links.py"))
        .arg(&qemu)
        .arg(&flag)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start secondary_links.py");
    let mut stdout = BufReader::new(script.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("the script's first line");
    assert_eq!(line.trim(), "open", "{}", host.diagnostics());
    host.kill_modular("virtnetworkd");
    std::fs::write(&flag, "").expect("write the flag");
    line.clear();
    stdout.read_line(&mut line).expect("the script's report");
    let status = script.wait().expect("secondary_links.py exits");
    let report: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("{e}: {line:?} (exit {status})\n{}", host.diagnostics()));
    assert!(
        report["before"]
            .as_array()
            .is_some_and(|n| n.iter().any(|v| v == "secnet")),
        "{report}"
    );
    // Calls made together while the link was being opened all went through.
    assert!(
        report["together"]
            .as_array()
            .is_some_and(|all| all.len() == 8 && all.iter().all(|n| *n == report["before"])),
        "{report}"
    );
    let socket = host.root().join("run/libvirt/virtnetworkd-sock");
    let expected = format!("Failed to connect socket to '{}'", socket.display());
    assert!(
        report["networks_first"]["error"].is_string(),
        "the first network call after virtnetworkd went fails: {report}"
    );
    assert!(
        report["networks_again"]["error"]
            .as_str()
            .is_some_and(|e| e.contains(&expected)),
        "{report}"
    );
    assert_eq!(
        report["domains"]["ok"],
        serde_json::json!(["staying"]),
        "{report}"
    );
    assert!(report["hostname"]["ok"].is_string(), "{report}");
    let out = virsh(&qemu, "net-list --all");
    assert!(!out.success() && out.stderr.contains(&expected), "{out}");
    ok(&host, &qemu, "list --all");
}

/// An upload faster than virtstoraged takes it (virtstoraged stopped
/// mid-way) holds virsh back instead of piling up in virtqemud until the
/// client is dropped; once virtstoraged runs again the upload completes.
#[test]
fn an_upload_faster_than_virtstoraged_waits_for_it() {
    let mut host = NetHost::new();
    host.start_modular("virtstoraged");
    host.start_modular("virtqemud");
    let qemu = host.modular_uri("qemu", "virtqemud");
    upload_while_stopped(&host, &qemu, "virtstoraged");
}

/// The same through virtproxyd, with virtqemud stopped: virtproxyd holds
/// the client back too.
#[test]
fn an_upload_through_virtproxyd_faster_than_virtqemud_waits_for_it() {
    let mut host = NetHost::new();
    host.start_modular("virtstoraged");
    host.start_modular("virtqemud");
    host.start_modular_with("virtproxyd", &[], "libvirt-sock");
    let uri = format!(
        "qemu+unix:///system?socket={}",
        host.root().join("run/libvirt/libvirt-sock").display()
    );
    upload_while_stopped(&host, &uri, "virtqemud");
}

/// Uploads 160 MiB on `uri`, stopping daemon `stopped` for a while once the
/// data flows: virsh must neither end nor fail meanwhile.
fn upload_while_stopped(host: &NetHost, qemu: &str, stopped: &str) {
    use nix::sys::signal::Signal;
    use std::io::Write;
    const SIZE: usize = 160 << 20;
    const FIRST: usize = 4 << 20;
    let dir = host.root().join("slowpool");
    ok(
        host,
        qemu,
        &format!("pool-create-as slow dir --target {} --build", dir.display()),
    );
    ok(host, qemu, "vol-create-as slow big 160M --format raw");
    let data: Vec<u8> = (0..SIZE as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    // virsh reads the data from a pipe, so the test decides when it flows.
    let fifo = host.root().join("upload.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let mut upload = integration_tests::tools::virsh_command()
        .args(["-c", qemu, "vol-upload", "--pool", "slow", "big"])
        .arg(&fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virsh vol-upload");
    let mut pipe = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open the pipe");
    // Once virsh took these bytes the upload's stream is flowing.
    pipe.write_all(&data[..FIRST]).expect("first bytes");
    host.signal_modular(stopped, Signal::SIGSTOP);
    let rest = data[FIRST..].to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&rest));
    let ended = wait_until(Duration::from_secs(3), || {
        upload.try_wait().ok().flatten().is_some()
    });
    host.signal_modular(stopped, Signal::SIGCONT);
    assert!(
        !ended,
        "virsh ended while {stopped} was stopped: {:?}",
        upload.wait_with_output()
    );
    let out = upload.wait_with_output().expect("virsh vol-upload");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        host.diagnostics()
    );
    writer
        .join()
        .expect("writer")
        .expect("the rest of the data");
    assert!(
        std::fs::read(dir.join("big")).expect("the volume's file") == data,
        "the volume holds the uploaded bytes"
    );
}

#[test]
fn virtlxcd_connections_reach_virtnetworkd() {
    let mut host = NetHost::new();
    host.start_modular("virtnetworkd");
    host.start_modular("virtlxcd");
    let file = host.write("secnet.xml", NETWORK, 0o644);
    let lxc = host.modular_uri("lxc", "virtlxcd");
    ok(&host, &lxc, &format!("net-define {}", file.display()));
    let held = ok(
        &host,
        &host.modular_uri("network", "virtnetworkd"),
        "net-list --all --name",
    );
    assert!(held.lines().any(|l| l.trim() == "secnet"), "{held}");
}

#[test]
fn virtproxyd_tls_clients_reach_virtnetworkd_through_the_qemu_connection() {
    let mut host = NetHost::new();
    let pki = tls_pki::TestPki::new();
    let port = integration_tests::daemon::free_tcp_port();
    let mut conf = vec![
        "listen_tls = 1".to_string(),
        "listen_tcp = 0".to_string(),
        format!("tls_port = \"{port}\""),
        "listen_addr = \"127.0.0.1\"".to_string(),
    ];
    conf.extend(pki.file_conf());
    host.write(
        "etc/libvirt/virtproxyd.conf",
        &(conf.join("\n") + "\n"),
        0o644,
    );
    let network_log = host.root().join("virtnetworkd.log");
    host.write(
        "etc/libvirt/virtnetworkd.conf",
        &format!(
            "log_level = 2\nlog_outputs = \"2:file:{}\"\n",
            network_log.display()
        ),
        0o644,
    );
    host.start_modular("virtnetworkd");
    host.start_modular("virtqemud");
    host.start_modular_with("virtproxyd", &["--listen"], "libvirt-sock");
    let file = host.write("secnet.xml", NETWORK, 0o644);
    ok(
        &host,
        &host.modular_uri("network", "virtnetworkd"),
        &format!("net-define {}", file.display()),
    );

    let uri = format!(
        "qemu+tls://localhost:{port}/system?pkipath={}",
        pki.good_client.display()
    );
    let list = || host.ns(&["env", "LC_ALL=C", "virsh", "-c", &uri, "net-list", "--all"]);
    let listed = wait_until(Duration::from_secs(30), || list().success());
    let out = list();
    assert!(
        listed
            && out
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with("secnet ")),
        "{out}\n{}",
        host.diagnostics()
    );
    // virtnetworkd learnt whom the calls were for: the TLS client's
    // certificate, as virtproxyd told virtqemud.
    let log = std::fs::read_to_string(&network_log).unwrap_or_default();
    assert!(
        log.contains("identity set by the connecting proxy")
            && log.contains("x509-distinguished-name=String("),
        "no identity passed on to virtnetworkd:\n{log}"
    );
    // Domains and networks on one connection.
    let out = host.ns(&[
        "env",
        "LC_ALL=C",
        "virsh",
        "-c",
        &uri,
        "list --all; net-info secnet",
    ]);
    assert!(out.success() && out.stdout.contains("lvbr-sec"), "{out}");
}
