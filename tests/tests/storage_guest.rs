//! A qemu guest whose disk names a volume (`<disk type='volume'>`): a qcow2
//! volume over a backing volume, resolved when the guest starts; the volume
//! cannot be deleted while the guest runs (libvirt 9.0 allows it).

mod storage_support;

use std::fs;

use storage_support::{virsh_err, QemuHost};

#[test]
fn guest_boots_with_a_qcow2_volume_and_keeps_it_from_deletion() {
    let host = QemuHost::start();
    let dir = host.root().join("gpool");
    host.virsh_ok(&format!(
        "pool-create-as gp dir --target {} --build",
        dir.display()
    ));
    host.virsh_ok("vol-create-as gp base.raw 16M");
    host.virsh_ok(
        "vol-create-as gp top.qcow2 16M --format qcow2 --backing-vol base.raw --backing-vol-format raw",
    );
    let xml = host.guest_xml("g1").replace(
        "<devices>",
        "<devices>\n    <disk type='volume' device='disk'>\n      <source pool='gp' volume='top.qcow2'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>",
    );
    let file = host.root().join("g1.xml");
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start g1");
    host.wait_booted("g1", 1);

    let cmdline = host
        .guest_pids()
        .first()
        .map(|pid| fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default();
    let wanted = format!("file={}/top.qcow2,format=qcow2", dir.display());
    assert!(cmdline.contains(&wanted), "{wanted} not in {cmdline}");
    // QEMU opened the volume and, through its header, the backing volume.
    let block = host.virsh_ok("qemu-monitor-command g1 --pretty '{\"execute\":\"query-block\"}'");
    assert!(
        block.contains(&format!("\"filename\": \"{}/top.qcow2\"", dir.display())),
        "{block}"
    );
    assert!(
        block.contains(&format!("\"backing_file\": \"{}/base.raw\"", dir.display())),
        "{block}"
    );
    let live = host.virsh_ok("dumpxml g1");
    assert!(
        live.contains("<source pool='gp' volume='top.qcow2'/>"),
        "{live}"
    );

    let err = virsh_err(&host, "vol-delete --pool gp top.qcow2");
    assert!(err.contains("volume 'top.qcow2' is still in use."), "{err}");
    let err = virsh_err(&host, "vol-wipe --pool gp top.qcow2");
    assert!(err.contains("is still in use"), "{err}");
    assert!(dir.join("top.qcow2").is_file());

    host.virsh_ok("destroy g1");
    host.virsh_ok("vol-delete --pool gp top.qcow2; vol-delete --pool gp base.raw");
    assert!(!dir.join("top.qcow2").exists());

    // A volume that does not exist: the start fails with the storage error.
    let err = virsh_err(&host, "start g1");
    assert!(
        err.contains("Storage volume not found: no storage vol with matching name 'top.qcow2'"),
        "{err}"
    );
    host.virsh_ok("undefine g1; pool-destroy gp");
}
