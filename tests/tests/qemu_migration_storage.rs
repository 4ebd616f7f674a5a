//! Live migration with non-shared storage (`--copy-storage-all`): the guest's
//! qcow2 disk holds data only on the source host; the destination's QEMU
//! exports an empty image over NBD, the source mirrors the disk into it
//! before and during the memory migration, and afterwards the destination's
//! image holds the same guest-visible contents (`qemu-img compare`). A missing
//! destination image is created only through the storage pool whose
//! directory holds it, as libvirt does. Also against the real libvirtd 9.0.

mod qemu_reference;
mod qemu_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use integration_tests::tools::require_tool;
use qemu_support::QemuHost;

/// A daemon whose incoming migrations (and NBD servers) listen on loopback,
/// on ports of `ports`.
fn host_on_loopback(ports: (u16, u16)) -> QemuHost {
    let mut host = QemuHost::start();
    host.kill_daemon();
    fs::write(
        host.root().join("etc/libvirt/qemu.conf"),
        format!(
            "migration_address = \"127.0.0.1\"\nmigration_host = \"127.0.0.1\"\n\
             migration_port_min = {}\nmigration_port_max = {}\n",
            ports.0, ports.1
        ),
    )
    .expect("write qemu.conf");
    host.start_daemon();
    host
}

fn run(tool: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(require_tool(tool, "qemu-utils"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A 64 MiB qcow2 image; with `data`, two regions written with patterns.
fn make_image(path: &Path, data: bool) {
    let p = path.to_str().expect("utf-8 path");
    run("qemu-img", &["create", "-q", "-f", "qcow2", p, "64M"]);
    if data {
        run(
            "qemu-io",
            &[
                "-f",
                "qcow2",
                "-c",
                "write -q -P 0x5a 1M 4M",
                "-c",
                "write -q -P 0xa5 40M 1M",
                p,
            ],
        );
    }
}

/// Whether the image at `path` shows the source's patterns.
fn has_source_data(path: &Path) -> bool {
    let p = path.to_str().expect("utf-8 path");
    let out = Command::new(require_tool("qemu-io", "qemu-utils"))
        .args([
            "-r",
            "-f",
            "qcow2",
            "-c",
            "read -q -P 0x5a 1M 4M",
            "-c",
            "read -q -P 0xa5 40M 1M",
            p,
        ])
        .output()
        .expect("run qemu-io");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    out.status.success() && !text.contains("Pattern verification failed")
}

fn images_identical(a: &Path, b: &Path) -> bool {
    Command::new(require_tool("qemu-img", "qemu-utils"))
        .args(["compare", "-q", "-f", "qcow2", "-F", "qcow2"])
        .arg(a)
        .arg(b)
        .status()
        .expect("run qemu-img compare")
        .success()
}

/// The tiny guest's definition with a virtio disk on `image`.
fn guest_with_disk(host: &QemuHost, name: &str, image: &Path) -> String {
    // no_timer_check: a busy TCG host can fail the kernel's IO-APIC timer check.
    host.guest_xml(name)
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check")
        .replace(
            "</devices>",
            &format!(
                "  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>\n  </devices>",
                image.display()
            ),
        )
}

/// The running guest's migratable definition with its disk on `to`, in `file`.
fn write_moved(host: &QemuHost, name: &str, from: &Path, to: &Path, file: &Path) {
    let xml = host
        .virsh_ok(&format!("dumpxml --migratable {name}"))
        .replace(from.to_str().unwrap(), to.to_str().unwrap());
    fs::write(file, xml).expect("write xml");
}

#[test]
fn copy_storage_all_moves_the_disk_contents() {
    let src = QemuHost::start();
    let dst = host_on_loopback((49411, 49430));
    let src_image = src.root().join("s1.qcow2");
    let dst_image = dst.root().join("s1.qcow2");
    make_image(&src_image, true);
    make_image(&dst_image, false);
    assert!(!has_source_data(&dst_image), "the empty image has the data");
    let file = src.root().join("s1.xml");
    fs::write(&file, guest_with_disk(&src, "s1", &src_image)).expect("write xml");
    src.virsh_ok(&format!("define {}", file.display()));
    src.virsh_ok("start s1");
    src.wait_booted("s1", 1);
    // The destination's definition names its own image.
    let dst_xml = dst.root().join("s1-dest.xml");
    write_moved(&src, "s1", &src_image, &dst_image, &dst_xml);

    // An unknown disk target is refused before anything moves.
    let out = src.virsh(&format!(
        "migrate --live --copy-storage-all --migrate-disks vdz --xml {} s1 '{}'",
        dst_xml.display(),
        dst.uri()
    ));
    assert!(!out.success());
    assert!(
        out.stderr.contains("disk target vdz not found"),
        "{}",
        out.stderr
    );
    assert_eq!(src.domstate("s1"), "running (booted)");

    src.virsh_ok(&format!(
        "migrate --live --copy-storage-all --migrate-disks vda --xml {} s1 '{}'",
        dst_xml.display(),
        dst.uri()
    ));
    assert_eq!(dst.domstate("s1"), "running (migrated)");
    assert_eq!(src.domstate("s1"), "shut off (migrated)");
    assert_eq!(src.boot_count("s1"), 1, "the guest rebooted");
    assert!(dst
        .virsh_ok("domblklist s1")
        .contains(dst_image.to_str().unwrap()));
    assert!(dst.guest_pids().len() == 1);

    // And back, copying only the top image, into a third image, with the
    // NBD server on the port the client names.
    let back_image = src.root().join("s1-back.qcow2");
    make_image(&back_image, false);
    let back_xml = src.root().join("s1-back.xml");
    write_moved(&dst, "s1", &dst_image, &back_image, &back_xml);
    dst.virsh_ok(&format!(
        "migrate --live --copy-storage-inc --disks-port 49399 --xml {} s1 '{}'",
        back_xml.display(),
        src.uri()
    ));
    assert_eq!(src.domstate("s1"), "running (migrated)");
    assert_eq!(src.boot_count("s1"), 1, "the guest rebooted");
    src.virsh_ok("destroy s1");
    assert!(
        has_source_data(&dst_image),
        "the destination's image lacks the data"
    );
    assert!(
        images_identical(&src_image, &dst_image),
        "the images differ"
    );
    assert!(has_source_data(&back_image), "the way back lost the data");
    assert!(images_identical(&src_image, &back_image));
}

#[test]
fn missing_destination_image_is_created_only_through_a_pool() {
    let src = QemuHost::start();
    let dst = host_on_loopback((49431, 49450));
    let src_image = src.root().join("s2.qcow2");
    make_image(&src_image, true);
    let pool_dir = dst.root().join("pool");
    fs::create_dir_all(&pool_dir).expect("pool dir");
    let dst_image = pool_dir.join("s2.qcow2");
    let file = src.root().join("s2.xml");
    fs::write(&file, guest_with_disk(&src, "s2", &src_image)).expect("write xml");
    src.virsh_ok(&format!("define {}", file.display()));
    src.virsh_ok("start s2");
    src.wait_booted("s2", 1);
    let dst_xml = dst.root().join("s2-dest.xml");
    write_moved(&src, "s2", &src_image, &dst_image, &dst_xml);
    let migrate = format!(
        "migrate --live --copy-storage-all --xml {} s2 '{}'",
        dst_xml.display(),
        dst.uri()
    );

    let out = src.virsh(&migrate);
    assert!(!out.success(), "migrated without a destination image");
    assert!(
        out.stderr.contains(&format!(
            "no storage pool with matching target path '{}'",
            pool_dir.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(src.domstate("s2"), "running (booted)");
    assert!(dst.guest_pids().is_empty(), "a QEMU was left behind");
    assert!(!dst_image.exists());

    dst.virsh_ok(&format!(
        "pool-create-as s2pool dir --target {}",
        pool_dir.display()
    ));
    // Peer to peer this time: the source daemon drives the destination.
    src.virsh_ok(&migrate.replace("--live", "--live --p2p"));
    assert_eq!(dst.domstate("s2"), "running (migrated)");
    assert!(dst_image.is_file(), "the pool did not create the image");
    dst.virsh_ok("pool-refresh s2pool");
    assert!(dst.virsh_ok("vol-list s2pool").contains("s2.qcow2"));
    dst.virsh_ok("destroy s2");
    assert!(has_source_data(&dst_image));
    assert!(images_identical(&src_image, &dst_image));
}

/// Kills the reference daemon's guests at the end (they outlive it).
struct Reaper(&'static str);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in qemu_reference::guest_pids(self.0) {
            // SAFETY: the pid runs a qemu whose command line names this test's guest.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Our source mirrors into libvirtd 9.0's NBD server (its cookie's `<nbd>`),
/// and 9.0 mirrors back into ours.
#[test]
fn copy_storage_with_libvirtd_9() {
    let _reaper = Reaper("sref1");
    // Port ranges of their own, away from other migrations of this host.
    let theirs = qemu_reference::ReferenceDaemon::start(
        "migration_port_min = 49551\nmigration_port_max = 49570\n",
    );
    let ours = host_on_loopback((49571, 49590));
    let first = ours.root().join("sref1-a.qcow2");
    let second = ours.root().join("sref1-b.qcow2");
    let third = ours.root().join("sref1-c.qcow2");
    make_image(&first, true);
    make_image(&second, false);
    make_image(&third, false);
    let file = ours.root().join("sref1.xml");
    fs::write(&file, guest_with_disk(&ours, "sref1", &first)).expect("write xml");
    ours.virsh_ok(&format!("define {}", file.display()));
    ours.virsh_ok("start sref1");
    ours.wait_booted("sref1", 1);

    let to_theirs = ours.root().join("sref1-theirs.xml");
    write_moved(&ours, "sref1", &first, &second, &to_theirs);
    ours.virsh_ok(&format!(
        "migrate --live --copy-storage-all --xml {} sref1 '{}'",
        to_theirs.display(),
        theirs.uri()
    ));
    assert_eq!(
        theirs.virsh_ok("domstate --reason sref1"),
        "running (migrated)"
    );

    let to_ours = ours.root().join("sref1-ours.xml");
    let xml = theirs
        .virsh_ok("dumpxml --migratable sref1")
        .replace(second.to_str().unwrap(), third.to_str().unwrap());
    fs::write(&to_ours, xml).expect("write xml");
    theirs.virsh_ok(&format!(
        "migrate --live --copy-storage-all --xml {} sref1 '{}'",
        to_ours.display(),
        ours.uri()
    ));
    assert_eq!(ours.domstate("sref1"), "running (migrated)");
    assert!(ours.boot_count("sref1") <= 1, "the guest rebooted");
    ours.virsh_ok("destroy sref1");
    assert!(has_source_data(&second), "9.0's copy lacks the data");
    assert!(has_source_data(&third), "our copy from 9.0 lacks the data");
    assert!(images_identical(&first, &third), "the images differ");
}
