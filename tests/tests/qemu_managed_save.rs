//! Managed save: the guest's state goes to an image, dominfo reports it, and the next
//! start resumes the guest from it (no second boot) and removes the image; the same
//! for save/restore through a file, and the balloon through setmem.

mod qemu_support;

use qemu_support::{expect_event, listen_events, QemuHost};

#[test]
fn managed_save_and_restore() {
    let host = QemuHost::start();
    host.define_guest("s1");
    host.virsh_ok("start s1");
    host.wait_booted("s1", 1);
    let mut events = listen_events(&host);

    host.virsh_ok("managedsave s1");
    assert_eq!(host.domstate("s1"), "shut off (saved)");
    expect_event(&mut events, "s1", "Stopped Saved");
    let image = host.root().join("var/lib/libvirt/qemu/save/s1.save");
    assert!(image.is_file(), "no image at {}", image.display());
    let info = host.virsh_ok("dominfo s1");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Managed save:") && l.ends_with("yes")),
        "{info}"
    );
    assert_eq!(host.virsh_ok("list --all --with-managed-save --name"), "s1");
    assert!(host.guest_pids().is_empty());

    host.virsh_ok("start s1");
    assert_eq!(host.domstate("s1"), "running (restored)");
    expect_event(&mut events, "s1", "Started Restored");
    assert!(!image.exists(), "image not removed after restore");

    // The balloon target and dominfo follow setmem; the maximum is enforced.
    host.virsh_ok("setmem s1 65536");
    let info = host.virsh_ok("dominfo s1");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Used memory:") && l.contains("65536 KiB")),
        "{info}"
    );
    let out = host.virsh("setmem s1 99999999");
    assert!(
        out.stderr
            .contains("cannot set memory higher than max memory"),
        "{}",
        out.stderr
    );
    // The guest's balloon driver really gives the memory up: hand it back before
    // the guest has to answer the power button.
    host.virsh_ok("setmem s1 131072");

    // save/restore through a file of the caller's, with the XML inside.
    let file = host.root().join("s1.img");
    host.virsh_ok(&format!("save s1 {}", file.display()));
    assert_eq!(host.domstate("s1"), "shut off (saved)");
    host.virsh_ok(&format!("restore {}", file.display()));
    assert_eq!(host.domstate("s1"), "running (restored)");
    expect_event(&mut events, "s1", "Started Restored");
    // The restored guest answers the power button without having booted again.
    host.virsh_ok("shutdown s1");
    host.wait_state("s1", "shut off (shutdown)");
    assert_eq!(
        host.boot_count("s1"),
        1,
        "the guest booted again instead of resuming"
    );

    // managedsave-remove drops the image: the next start boots afresh.
    host.virsh_ok("start s1");
    host.virsh_ok("managedsave s1");
    assert!(image.is_file());
    host.virsh_ok("managedsave-remove s1");
    assert!(!image.exists(), "managedsave-remove left the image");
    let info = host.virsh_ok("dominfo s1");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Managed save:") && l.ends_with("no")),
        "{info}"
    );
    host.virsh_ok("start s1");
    assert_eq!(host.domstate("s1"), "running (booted)");
    host.virsh_ok("destroy s1");
}
