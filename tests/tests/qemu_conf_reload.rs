//! qemu.conf is re-read on SIGHUP: `vnc_auto_unix_socket` switched on afterwards makes
//! the next guest's VNC server listen on a UNIX socket, shown in its live XML.

mod qemu_support;

use std::fs;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use integration_tests::wait_until;
use qemu_support::{QemuHost, STATE_TIMEOUT};

#[test]
fn sighup_rereads_qemu_conf_and_vnc_goes_to_a_socket() {
    let host = QemuHost::start();
    // `user` is not supported: its warning in the log marks the end of the reload.
    fs::write(
        host.root().join("etc/libvirt/qemu.conf"),
        "vnc_auto_unix_socket = 1\nuser = \"nobody\"\n",
    )
    .expect("write qemu.conf");
    host.signal_daemon(libc::SIGHUP);
    let reloaded = wait_until(STATE_TIMEOUT, || {
        fs::read_to_string(host.root().join("log"))
            .is_ok_and(|log| log.contains("reload: user = \"nobody\" is not supported"))
    });
    assert!(reloaded, "no reload seen\n{}", host.diagnostics());

    let xml = host.guest_xml("v1").replace(
        "<devices>",
        "<devices>\n    <graphics type='vnc' autoport='yes'/>",
    );
    let file = host.root().join("v1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start v1");

    let socket = host.root().join("run/libvirt/qemu/v1.vnc");
    let live = host.virsh_ok("dumpxml v1");
    let expected = format!("<listen type='socket' socket='{}'/>", socket.display());
    assert!(live.contains(&expected), "{live}");
    let inactive = host.virsh_ok("dumpxml --inactive v1");
    assert!(!inactive.contains("type='socket'"), "{inactive}");

    let mut stream = UnixStream::connect(&socket).expect("connect to the VNC socket");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut greeting = [0u8; 12];
    stream.read_exact(&mut greeting).expect("VNC greeting");
    assert_eq!(&greeting[..4], b"RFB ");
    host.virsh_ok("destroy v1");
}
