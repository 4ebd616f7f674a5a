//! `virDomainOpenChannel` through python3-libvirt: a stream to a guest's UNIX
//! virtio channel. The guest (driven through its mailbox disk) answers every
//! line it reads on the port with `GUEST-GOT <line>`, so a line coming back
//! proves both directions. A second stream without FORCE is refused, FORCE
//! takes the channel over and ends the first stream.

mod qemu_support;

use std::fs;
use std::process::Command;

use qemu_support::disk_io::Mailbox;
use qemu_support::*;

const PORT: &str = "org.example.echo";

/// Opens, refuses, takes over and reports each step on one line.
const SCRIPT: &str = r#"
import signal, sys
import libvirt

signal.alarm(120)
uri, name, port = sys.argv[1:4]
conn = libvirt.open(uri)
dom = conn.lookupByName(name)

def error_of(call):
    try:
        call()
        return "no error"
    except libvirt.libvirtError as e:
        return "%d %s" % (e.get_error_code(), e.get_error_message())

def ping(stream, text):
    stream.send((text + "\n").encode())
    seen = b""
    while ("GUEST-GOT " + text).encode() not in seen:
        chunk = stream.recv(4096)
        if not isinstance(chunk, bytes) or not chunk:
            return "stream ended after %r" % seen
        seen += chunk
    return "echoed " + text

first = conn.newStream(0)
dom.openChannel(port, first, 0)
print("FIRST", ping(first, "PING1"), flush=True)
print("BUSY", error_of(lambda: dom.openChannel(port, conn.newStream(0), 0)), flush=True)
print("MISSING", error_of(lambda: dom.openChannel("no.such.port", conn.newStream(0), 0)), flush=True)
second = conn.newStream(0)
dom.openChannel("channel0", second, libvirt.VIR_DOMAIN_CHANNEL_FORCE)
try:
    ended = first.recv(4096)
    print("FIRST-AFTER", "ended" if ended in (b"", -2) or ended is None else repr(ended), flush=True)
except libvirt.libvirtError as e:
    print("FIRST-AFTER ended", e.get_error_message(), flush=True)
print("SECOND", ping(second, "PING2"), flush=True)
second.finish()
dom.destroy()
print("STOPPED", error_of(lambda: dom.openChannel(port, conn.newStream(0), 0)), flush=True)
"#;

#[test]
fn channel_stream_reaches_the_guest_and_force_takes_it_over() {
    let host = QemuHost::start();
    let name = "chan";
    let root = host.root().to_path_buf();
    let mut mailbox = Mailbox::create(&root, host.serial_log(name));
    let xml = host.guest_xml(name).replace(
        "<devices>",
        &format!(
            "<devices>\n    <channel type='unix'><source mode='bind'/>\
             <target type='virtio' name='{PORT}'/></channel>"
        ),
    );
    let file = root.join(format!("{name}.xml"));
    fs::write(&file, mailbox.attach(&xml, "vda")).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);

    // The echo: one descriptor on the port (a virtio port opens once), reading
    // again after the host side closed (read then sees end of file).
    let port_dev = mailbox.run(&format!(
        "for p in /sys/class/virtio-ports/*; do \
         [ \"$(cat $p/name)\" = {PORT} ] && basename $p; done"
    ));
    assert!(
        port_dev.starts_with("vport"),
        "the guest has no port {PORT}: '{port_dev}'"
    );
    mailbox.run(&format!(
        "(while true; do while read l; do echo \"GUEST-GOT $l\"; done <&3 >&3; \
         sleep 0.1; done 3<>/dev/{port_dev} >/dev/null 2>&1 &); echo started"
    ));

    let out = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT, &host.uri(), name, PORT])
        .output()
        .expect("run python3 (Debian package python3-libvirt)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!(
        "stdout:\n{stdout}\nstderr:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        host.diagnostics()
    );
    let line = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} line; {report}"))
            .to_string()
    };
    assert_eq!(line("FIRST"), "echoed PING1", "{report}");
    assert_eq!(
        line("BUSY"),
        "9 operation failed: Active channel stream exists for this domain",
        "{report}"
    );
    assert_eq!(
        line("MISSING"),
        "1 internal error: cannot find channel no.such.port",
        "{report}"
    );
    assert!(line("FIRST-AFTER").starts_with("ended"), "{report}");
    assert_eq!(line("SECOND"), "echoed PING2", "{report}");
    assert_eq!(
        line("STOPPED"),
        "55 Requested operation is not valid: domain is not running",
        "{report}"
    );
    assert!(out.status.success(), "{report}");
}
