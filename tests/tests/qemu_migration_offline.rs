//! Offline migration (`virsh migrate --offline --persistent`): only the
//! definition moves, between our daemons and both ways with libvirtd 9.0; a
//! running guest keeps running on the source. `--persistent-xml` and `--xml`
//! change what the destination defines.

mod qemu_reference;
mod qemu_support;

use std::fs;

use qemu_support::QemuHost;

#[test]
fn offline_migration_moves_only_the_definition() {
    let src = QemuHost::start();
    let dst = QemuHost::start();
    // no_timer_check: a busy TCG host can fail the kernel's IO-APIC timer check.
    let file = src.root().join("o1.xml");
    let xml = src
        .guest_xml("o1")
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check");
    fs::write(&file, xml).expect("write guest xml");
    src.virsh_ok(&format!("define {}", file.display()));

    // libvirt's rules for --offline.
    let out = src.virsh(&format!("migrate --offline o1 '{}'", dst.uri()));
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("offline migration must be specified with the persistent flag set"),
        "{}",
        out.stderr
    );
    let out = src.virsh(&format!(
        "migrate --offline --persistent --copy-storage-all o1 '{}'",
        dst.uri()
    ));
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("offline migration cannot handle non-shared storage"),
        "{}",
        out.stderr
    );

    // An inactive guest: the definition moves, the source forgets it.
    src.virsh_ok(&format!(
        "migrate --offline --persistent --undefinesource o1 '{}'",
        dst.uri()
    ));
    assert_eq!(dst.domstate("o1"), "shut off (unknown)");
    assert!(dst.virsh_ok("dominfo o1").contains("Persistent:     yes"));
    assert!(dst.root().join("etc/libvirt/qemu/o1.xml").is_file());
    assert!(src
        .virsh("domstate o1")
        .stderr
        .contains("failed to get domain 'o1'"));
    assert!(
        dst.guest_pids().is_empty(),
        "offline migration started QEMU"
    );

    // --persistent-xml: the destination defines that definition instead.
    let persist = dst.virsh_ok("dumpxml o1").replace(
        "</name>",
        "</name>\n  <description>from persistent xml</description>",
    );
    let file = dst.root().join("o1-persist.xml");
    fs::write(&file, persist).expect("write xml");
    dst.virsh_ok(&format!(
        "migrate --offline --persistent --persistent-xml {} o1 '{}'",
        file.display(),
        src.uri()
    ));
    assert!(src
        .virsh_ok("dumpxml o1")
        .contains("<description>from persistent xml</description>"));
    // Without --undefinesource the source keeps its copy.
    assert_eq!(dst.domstate("o1"), "shut off (unknown)");

    // A running guest keeps running where it is; the destination gets its
    // definition, changed by --xml.
    src.virsh_ok("start o1");
    src.wait_booted("o1", 1);
    let xml = src.virsh_ok("dumpxml --inactive o1").replace(
        "<memory unit='KiB'>131072</memory>",
        "<memory unit='KiB'>262144</memory>",
    );
    let file = src.root().join("o1-dest.xml");
    fs::write(&file, xml).expect("write xml");
    src.virsh_ok(&format!(
        "migrate --offline --persistent --xml {} o1 '{}'",
        file.display(),
        dst.uri()
    ));
    assert_eq!(src.domstate("o1"), "running (booted)");
    assert!(dst.guest_pids().is_empty());
    assert!(dst.virsh_ok("dominfo o1").contains("262144 KiB"));
    src.virsh_ok("destroy o1");
}

#[test]
fn offline_migration_with_libvirtd_9() {
    let theirs = qemu_reference::ReferenceDaemon::start("");
    let ours = QemuHost::start();
    ours.define_guest("oref1");
    let uuid = ours.virsh_ok("domuuid oref1");

    ours.virsh_ok(&format!(
        "migrate --offline --persistent --undefinesource oref1 '{}'",
        theirs.uri()
    ));
    assert_eq!(theirs.virsh_ok("domuuid oref1"), uuid);
    assert!(theirs
        .virsh_ok("dominfo oref1")
        .contains("Persistent:     yes"));
    assert!(ours
        .virsh("domstate oref1")
        .stderr
        .contains("failed to get domain 'oref1'"));

    theirs.virsh_ok(&format!(
        "migrate --offline --persistent --undefinesource oref1 '{}'",
        ours.uri()
    ));
    assert_eq!(ours.virsh_ok("domuuid oref1"), uuid);
    assert_eq!(ours.domstate("oref1"), "shut off (unknown)");
    assert!(ours.root().join("etc/libvirt/qemu/oref1.xml").is_file());
    assert!(!theirs.virsh_ok("list --all --name").contains("oref1"));

    // Peer to peer, each daemon driving the other.
    ours.virsh_ok(&format!(
        "migrate --p2p --offline --persistent --undefinesource oref1 '{}'",
        theirs.uri()
    ));
    assert_eq!(theirs.virsh_ok("domuuid oref1"), uuid);
    theirs.virsh_ok(&format!(
        "migrate --p2p --offline --persistent --undefinesource oref1 '{}'",
        ours.uri()
    ));
    assert_eq!(ours.virsh_ok("domuuid oref1"), uuid);
    assert!(!theirs.virsh_ok("list --all --name").contains("oref1"));
}
