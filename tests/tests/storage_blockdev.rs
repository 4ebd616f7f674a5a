//! Pools on block devices the test creates (loop devices): `fs` (ext4 made by
//! pool-build, mounted at start, unmounted at destroy) and `disk` (a partition
//! table through parted; partitions are volumes). `logical` and `netfs` need
//! device-mapper and an NFS server: where the host has none the test says why.

mod storage_support;

use std::fs;
use std::path::Path;

use storage_support::{is_mounted, virsh_err, LoopDevice, QemuHost};

#[test]
fn fs_pool_mounts_at_start_and_unmounts_at_destroy() {
    let host = QemuHost::start();
    let dev = LoopDevice::new(host.root(), "fsdev", 64);
    let mnt = host.root().join("fsmnt");
    host.virsh_ok(&format!(
        "pool-define-as f1 fs --source-dev {} --source-format ext4 --target {}",
        dev.path,
        mnt.display()
    ));
    // Without a file system the mount fails and the pool stays inactive.
    host.virsh_ok("pool-build f1");
    let err = virsh_err(&host, "pool-start f1");
    assert!(err.contains("mount"), "{err}");
    assert!(!is_mounted(&mnt));
    host.virsh_ok("pool-build f1 --overwrite");
    host.virsh_ok("pool-start f1");
    assert!(
        is_mounted(&mnt),
        "pool-start did not mount {}",
        mnt.display()
    );
    host.virsh_ok("vol-create-as f1 v.raw 4M; vol-create-as f1 q.qcow2 8M --format qcow2");
    assert!(mnt.join("v.raw").is_file());
    let list = host.virsh_ok("vol-list f1");
    assert!(list.contains("q.qcow2") && list.contains("v.raw"), "{list}");
    assert!(!list.contains("lost+found"), "{list}");
    let info = host.virsh_ok("pool-info f1");
    assert!(
        info.contains("Capacity:       5"),
        "a 64 MiB file system: {info}"
    );
    host.virsh_ok("pool-destroy f1");
    assert!(!is_mounted(&mnt), "pool-destroy did not unmount");
    assert!(!mnt.join("v.raw").exists());
    // The data is on the device: a new start shows it again.
    host.virsh_ok("pool-start f1");
    assert!(host.virsh_ok("vol-list f1").contains("v.raw"));
    host.virsh_ok("pool-destroy f1; pool-delete f1; pool-undefine f1");
    assert!(!mnt.exists());
}

#[test]
fn disk_pool_partitions_are_volumes() {
    let host = QemuHost::start();
    let dev = LoopDevice::new(host.root(), "diskdev", 64);
    host.virsh_ok(&format!(
        "pool-define-as d1 disk --source-dev {} --source-format gpt --target /dev",
        dev.path
    ));
    let err = virsh_err(&host, "pool-start d1");
    assert!(
        err.contains(&format!(
            "Storage pool probe failed: Device '{}' is unrecognized, requires build",
            dev.path
        )),
        "{err}"
    );
    host.virsh_ok("pool-build d1; pool-start d1");
    let err = virsh_err(&host, "pool-build d1");
    assert!(err.contains("active"), "{err}");
    // As libvirt: a new partition's volume is named after its device node.
    let err = virsh_err(&host, "vol-create-as d1 part1 8M");
    assert!(
        err.contains(&format!(
            "invalid partition name 'part1', expected '{}p1'",
            dev.name()
        )),
        "{err}"
    );
    host.virsh_ok(&format!(
        "vol-create-as d1 {0}p1 8M; vol-create-as d1 {0}p2 16M",
        dev.name()
    ));
    let p1 = format!("{}p1", dev.path);
    let p2 = format!("{}p2", dev.path);
    let list = host.virsh_ok("vol-list d1 --details");
    assert!(list.contains(&p1) && list.contains(&p2), "{list}");
    assert!(Path::new(&p2).exists());
    let info = host.virsh_ok(&format!("vol-info {p2}"));
    assert!(
        info.contains("16.00 MiB") && info.contains("block"),
        "{info}"
    );
    let table = storage_support::run(
        "parted",
        "parted",
        &["-s", "-m", &dev.path, "unit", "B", "print"],
    );
    assert!(table.contains(":gpt:"), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    host.virsh_ok(&format!("vol-delete {p1}"));
    let list = host.virsh_ok("vol-list d1");
    assert!(
        !list.contains(&format!("{}p1 ", dev.name())) && list.contains(&p2),
        "{list}"
    );
    host.virsh_ok("pool-destroy d1");
    // Deleting the pool erases the partition table.
    host.virsh_ok("pool-delete d1; pool-undefine d1");
    let out = std::process::Command::new("parted")
        .args(["-s", "-m", &dev.path, "print"])
        .output()
        .expect("parted");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains(":gpt:"), "{text}");
}

#[test]
fn logical_and_netfs_pools_where_the_host_allows() {
    // logical: LVM needs device-mapper in the kernel.
    if !Path::new("/dev/mapper/control").exists() {
        eprintln!(
            "logical pool test NOT RUN: this kernel has no device-mapper (/dev/mapper/control is missing)"
        );
    } else {
        let host = QemuHost::start();
        let dev = LoopDevice::new(host.root(), "lvmdev", 64);
        let vg = format!("lvt{}", std::process::id());
        host.virsh_ok(&format!(
            "pool-define-as {vg} logical --source-dev {} --source-name {vg} --target /dev/{vg}",
            dev.path
        ));
        host.virsh_ok(&format!("pool-build {vg}; pool-start {vg}"));
        host.virsh_ok(&format!("vol-create-as {vg} lv1 8M"));
        assert!(host.virsh_ok(&format!("vol-list {vg}")).contains("lv1"));
        host.virsh_ok(&format!(
            "vol-delete --pool {vg} lv1; pool-destroy {vg}; pool-delete {vg}; pool-undefine {vg}"
        ));
    }
    // netfs: needs an NFS server; none is reachable from these machines.
    let exports = fs::read_to_string("/etc/exports").unwrap_or_default();
    if exports.trim().is_empty() || !Path::new("/proc/fs/nfsd").exists() {
        eprintln!(
            "netfs pool test NOT RUN: no NFS server runs on this host (no /etc/exports, no nfsd)"
        );
    }
}
