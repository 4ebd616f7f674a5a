//! virtproxyd relays file descriptors both ways, as libvirt's does: those a
//! client passes with a call (CALL_WITH_FDS) reach the daemon behind it, and
//! those the daemon returns (REPLY_WITH_FDS: the container namespaces of
//! `virsh lxc-enter-namespace`) reach the client; neither daemon keeps any.

mod activation_support;
mod lxc_common;

use std::fs;
use std::io::IoSlice;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use activation_support::process::{Launch, Process};
use activation_support::{Root, START_TIMEOUT};
use integration_tests::{libvirtd_bin, virsh, wait_until, RawClient};
use lxc_common::*;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::{remote_proc, REMOTE_PROGRAM};

fn start(root: &Root, name: &str) -> Process {
    fs::write(
        root.path().join(format!("etc/libvirt/{name}.conf")),
        format!(
            "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\nlog_level = 2\nlog_outputs = \"2:file:{}\"\n",
            root.path().join(format!("{name}.log")).display()
        ),
    )
    .expect("write configuration");
    let bin = libvirtd_bin();
    let stdout = root.path().join(format!("{name}.stdout"));
    let stderr = root.path().join(format!("{name}.stderr"));
    Launch {
        program: &bin,
        arg0: name,
        args: Vec::new(),
        fds: Vec::new(),
        fdnames: None,
        env: root.env(),
        stdout: &stdout,
        stderr: &stderr,
    }
    .spawn()
}

fn wait_socket(process: &mut Process, socket: &Path) {
    let ready = wait_until(START_TIMEOUT, || {
        UnixStream::connect(socket).is_ok() || process.try_wait().is_some()
    });
    assert!(
        ready && process.try_wait().is_none(),
        "{} never accepted connections",
        socket.display()
    );
}

fn open_fds(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn wait_fds_at_most(pid: i32, baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = open_fds(pid);
        if now <= baseline || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn descriptors_pass_through_virtproxyd_both_ways() {
    require_container_host();
    let root = Root::new();
    let mut lxcd = start(&root, "virtlxcd");
    wait_socket(&mut lxcd, &root.run_file("virtlxcd-sock"));
    let mut proxy = start(&root, "virtproxyd");
    let proxy_sock = root.run_file("libvirt-sock");
    wait_socket(&mut proxy, &proxy_sock);
    let uri = format!("lxc+unix:///system?socket={}", proxy_sock.display());

    // Calls with descriptors through the proxy: each is answered in turn,
    // so virtlxcd took every carrier byte, and neither daemon keeps them.
    let spare = fs::File::open("/dev/null").expect("open /dev/null");
    let mut client = RawClient::unix(&proxy_sock);
    client.open("lxc:///system", 0);
    let baselines = (open_fds(proxy.pid()), open_fds(lxcd.pid()));
    for serial in 500..540u32 {
        let count = 1 + serial % 3;
        let header = Header::new(
            REMOTE_PROGRAM,
            remote_proc::CONNECT_GET_TYPE,
            MessageType::CallWithFds,
            serial,
        );
        client
            .send_bytes(&encode_message(&header, &count.to_be_bytes()))
            .expect("send");
        let sock = client.client().stream().as_raw_fd();
        for _ in 0..count {
            let rights = [spare.as_raw_fd()];
            sendmsg::<()>(
                sock,
                &[IoSlice::new(&[0])],
                &[ControlMessage::ScmRights(&rights)],
                MsgFlags::empty(),
                None,
            )
            .expect("sendmsg");
        }
        let body = client
            .wait_reply(serial)
            .unwrap_or_else(|e| panic!("call {serial}: {e}"))
            .expect_ok("CONNECT_GET_TYPE with descriptors");
        assert_eq!(&body[4..7], b"LXC", "serial {serial}");
    }
    let after = (
        wait_fds_at_most(proxy.pid(), baselines.0),
        wait_fds_at_most(lxcd.pid(), baselines.1),
    );
    assert!(
        after.0 <= baselines.0 && after.1 <= baselines.1,
        "descriptors kept: before {baselines:?}, after {after:?}"
    );
    drop(client);

    // Descriptors returned by virtlxcd reach virsh through the proxy.
    let name = container_name("pxy");
    let cleanup = ContainerCleanup {
        status_file: root.path().join(format!("run/libvirt/lxc/{name}.xml")),
    };
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("create {}", xml_path.display())).expect_success("create");
    let inside = rootfs.wait_report("hostname").trim().to_string();
    let out = virsh(
        &uri,
        &format!("lxc-enter-namespace {name} --noseclabel -- /bin/hostname"),
    )
    .expect_success("lxc-enter-namespace through virtproxyd");
    assert_eq!(out.stdout.trim(), inside, "{out}");
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
    drop(cleanup);
    for p in [&proxy, &lxcd] {
        p.signal(libc::SIGTERM);
    }
}
