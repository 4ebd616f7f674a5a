//! What a save image keeps: the domain XML and the running state at save time. A guest
//! paused at managed save comes back paused, an edit of the persistent definition
//! after the save does not change what is restored, and the XML and state in an image
//! are read and replaced with managedsave-dumpxml/-define and save-image-dumpxml/-define.
//! An incomplete managed save image is dropped at the next start, which boots.

mod qemu_support;

use std::fs;

use qemu_support::{expect_event, listen_events, QemuHost};

/// Adds a `<description>` to a domain XML.
fn with_description(xml: &str, text: &str) -> String {
    xml.replacen(
        "</name>",
        &format!("</name>\n  <description>{text}</description>"),
        1,
    )
}

#[test]
fn images_keep_their_xml_and_running_state() {
    let host = QemuHost::start();
    host.define_guest("k1");
    host.virsh_ok("start k1");
    host.wait_booted("k1", 1);
    let image = host.root().join("var/lib/libvirt/qemu/save/k1.save");
    let mut events = listen_events(&host);

    // Paused at managed save: back paused.
    host.virsh_ok("suspend k1");
    host.virsh_ok("managedsave k1");
    assert_eq!(host.domstate("k1"), "shut off (saved)");
    let saved_xml = host.virsh_ok("managedsave-dumpxml k1");
    assert!(saved_xml.contains("<name>k1</name>"), "{saved_xml}");

    // An edit after the save changes the persistent definition only.
    let edited = host.root().join("k1-edited.xml");
    fs::write(
        &edited,
        with_description(&host.virsh_ok("dumpxml --inactive k1"), "edited-after-save"),
    )
    .expect("write edited xml");
    host.virsh_ok(&format!("define {}", edited.display()));
    assert!(!host
        .virsh_ok("managedsave-dumpxml k1")
        .contains("edited-after-save"));
    host.virsh_ok("start k1");
    assert_eq!(host.domstate("k1"), "paused (migrating)");
    expect_event(&mut events, "k1", "Started Restored");
    expect_event(&mut events, "k1", "Suspended Restored");
    assert!(!host.virsh_ok("dumpxml k1").contains("edited-after-save"));
    assert!(host
        .virsh_ok("dumpxml --inactive k1")
        .contains("edited-after-save"));
    assert!(!image.exists(), "the image outlived its restore");
    host.virsh_ok("resume k1");
    assert_eq!(host.domstate("k1"), "running (unpaused)");

    // managedsave-define: the new XML and --paused are what the next start uses.
    host.virsh_ok("managedsave k1");
    let dumped = host.virsh_ok("managedsave-dumpxml k1");
    let redefined = host.root().join("k1-redefined.xml");
    fs::write(&redefined, with_description(&dumped, "from-define")).expect("write xml");
    host.virsh_ok(&format!(
        "managedsave-define k1 {} --paused",
        redefined.display()
    ));
    assert!(host
        .virsh_ok("managedsave-dumpxml k1")
        .contains("from-define"));
    let renamed = host.root().join("k1-renamed.xml");
    fs::write(
        &renamed,
        dumped.replace("<name>k1</name>", "<name>k2</name>"),
    )
    .expect("write");
    let out = host.virsh(&format!("managedsave-define k1 {}", renamed.display()));
    assert!(
        !out.success(),
        "an image accepted another guest's XML: {out}"
    );
    host.virsh_ok("start k1");
    assert_eq!(host.domstate("k1"), "paused (migrating)");
    assert!(host.virsh_ok("dumpxml k1").contains("from-define"));
    host.virsh_ok("resume k1");

    // managedsave --paused: a running guest is to come back paused.
    host.virsh_ok("managedsave --paused k1");
    host.virsh_ok("start k1");
    assert_eq!(host.domstate("k1"), "paused (migrating)");
    host.virsh_ok("resume k1");

    // The same through a file: save-image-define, then restore --running overrides
    // the paused state stored in the image.
    let file = host.root().join("k1.img");
    host.virsh_ok(&format!("save k1 {}", file.display()));
    let dumped = host.virsh_ok(&format!("save-image-dumpxml {}", file.display()));
    assert!(dumped.contains("from-define"), "{dumped}");
    let image_xml = host.root().join("k1-image.xml");
    fs::write(
        &image_xml,
        dumped.replace("from-define", "from-image-define"),
    )
    .expect("write xml");
    host.virsh_ok(&format!(
        "save-image-define {} {} --paused",
        file.display(),
        image_xml.display()
    ));
    assert!(host
        .virsh_ok(&format!("save-image-dumpxml {}", file.display()))
        .contains("from-image-define"));
    host.virsh_ok(&format!("restore {} --running", file.display()));
    assert_eq!(host.domstate("k1"), "running (restored)");
    assert!(host.virsh_ok("dumpxml k1").contains("from-image-define"));

    // Through every image the guest ran on: it powers off without having rebooted.
    host.virsh_ok("shutdown k1");
    host.wait_state("k1", "shut off (shutdown)");
    assert_eq!(host.boot_count("k1"), 1, "the guest booted again");

    // A managed save image a save never finished is dropped and the guest boots.
    let mut partial = b"LibvirtQemudPart".to_vec();
    partial.resize(4096, 0);
    fs::write(&image, partial).expect("write partial image");
    host.virsh_ok("start k1");
    assert_eq!(host.domstate("k1"), "running (booted)");
    assert!(!image.exists(), "the incomplete image was kept");
    host.wait_booted("k1", 2);
    host.virsh_ok("destroy k1");
}
