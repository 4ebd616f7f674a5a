//! `virsh console` of a qemu guest: the serial port is a pty; DOMAIN_OPEN_CONSOLE
//! relays it over an RPC stream. The guest is started paused, the console
//! opened, then resumed, so its whole boot output comes through the stream.

mod qemu_support;

use std::fs;
use std::time::Instant;

use integration_tests::RawClient;
use protocol::header::{MessageType, Status};
use qemu_support::*;

#[test]
fn console_stream_shows_the_guest_booting() {
    let host = QemuHost::start();
    let xml = host.guest_xml("cons").replace(
        &format!(
            "<serial type='file'><source path='{}'/></serial>",
            host.serial_log("cons").display()
        ),
        "<serial type='pty'/><console type='pty'/>",
    );
    assert!(
        xml.contains("<serial type='pty'/>"),
        "guest XML template changed:\n{xml}"
    );
    let file = host.root().join("cons.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start --paused cons");

    let mut client = RawClient::unix(&host.root().join("run/libvirt/libvirt-sock"));
    client.open("qemu:///system", 0);
    let serial = client.send_open_console("cons");
    client
        .wait_reply(serial)
        .expect("reply")
        .expect_ok("open console");

    host.virsh_ok("resume cons");
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    let mut seen = String::new();
    while !seen.contains("TINY-GUEST-BOOTED") {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no boot marker on the console; got:\n{seen}"
        );
        let message = client
            .next_message(left)
            .unwrap_or_else(|e| panic!("console stream: {e:?}; got:\n{seen}"))
            .expect("connection open");
        let h = message.header;
        if h.message_type() == Some(MessageType::Stream) && h.serial == serial {
            assert_eq!(h.status, Status::Continue as u32);
            seen.push_str(&String::from_utf8_lossy(&message.body));
        }
    }
    host.virsh_ok("destroy cons");
}
