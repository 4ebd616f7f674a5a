//! The display of a running qemu guest: `domdisplay`, `vncdisplay`, `screenshot`
//! (streamed PPM from QMP screendump) and `send-key`.

mod qemu_support;

use std::fs;

use qemu_support::QemuHost;

#[test]
fn display_uri_screenshot_and_send_key() {
    let host = QemuHost::start();
    let xml = host.guest_xml("d1").replace(
        "</devices>",
        "<graphics type='vnc' port='-1'/><video><model type='vga'/></video></devices>",
    );
    let file = host.root().join("d1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    let out = host.virsh("screenshot d1 /dev/null");
    assert!(
        !out.success() && out.stderr.contains("domain is not running"),
        "{out}"
    );
    host.virsh_ok("start d1");
    host.wait_booted("d1", 1);

    let display = host.virsh_ok("domdisplay d1");
    assert!(display.starts_with("vnc://127.0.0.1:"), "{display}");
    let vnc = host.virsh_ok("vncdisplay d1");
    assert!(vnc.starts_with("127.0.0.1:"), "{vnc}");

    let image = host.root().join("shot.ppm");
    let out = host.virsh_ok(&format!("screenshot d1 {}", image.display()));
    assert!(out.contains("image/x-portable-pixmap"), "{out}");
    let data = fs::read(&image).expect("screenshot written");
    assert!(data.starts_with(b"P6\n"), "not a PPM image");
    let header = String::from_utf8_lossy(&data[..data.len().min(32)]).to_string();
    let mut fields = header.split_ascii_whitespace().skip(1);
    let width: usize = fields.next().and_then(|w| w.parse().ok()).expect("width");
    let height: usize = fields.next().and_then(|h| h.parse().ok()).expect("height");
    assert!(
        data.len() >= width * height * 3,
        "{header}: {} bytes",
        data.len()
    );
    // No dump is left behind in the driver's directory.
    assert!(!host.root().join("run/libvirt/qemu/d1.screendump").exists());
    let out = host.virsh(&format!("screenshot d1 --screen 4 {}", image.display()));
    assert!(
        !out.success() && out.stderr.contains("no screen with index 4"),
        "{out}"
    );

    let out = host.virsh("send-key d1 --codeset usb 4");
    assert!(
        !out.success() && out.stderr.contains("cannot translate keycode"),
        "{out}"
    );
    assert_eq!(host.virsh_ok("domstate d1"), "running");
    // The tiny guest powers off on its first input event: the key reached it.
    host.virsh_ok("send-key d1 --holdtime 50 KEY_A");
    host.wait_state("d1", "shut off (shutdown)");
    let serial = fs::read_to_string(host.serial_log("d1")).unwrap_or_default();
    assert!(serial.contains("TINY-GUEST-POWEROFF"), "{serial}");
}
