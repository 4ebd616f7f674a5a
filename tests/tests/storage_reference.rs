//! The same virsh session against the real libvirtd 9.0 and against this daemon
//! gives the same output: pool and volume XML, info, listings and the errors
//! of bad requests (UUIDs, sizes of the host file system, temporary paths and
//! file times normalised).

mod qemu_reference;
mod storage_support;

use integration_tests::compare::{assert_same_output, map_output};
use integration_tests::virsh;
use qemu_reference::ReferenceDaemon;
use storage_support::QemuHost;

/// Replaces what differs between two runs on two roots.
fn normalise(text: &str, root: &str) -> String {
    let text = text.replace(root, "ROOT");
    text.lines()
        .map(|line| {
            let t = line.trim_start();
            let indent = &line[..line.len() - t.len()];
            let value_of = |tag: &str| t.starts_with(&format!("<{tag}"));
            if value_of("uuid>") {
                format!("{indent}<uuid>U</uuid>")
            } else if (value_of("capacity unit")
                || value_of("allocation unit")
                || value_of("available unit"))
                && line.starts_with("  <")
                && !line.starts_with("   ")
            {
                // Pool sizes come from the host's file system at that moment.
                format!("{indent}{}", &t[..t.find('>').unwrap_or(0) + 1])
            } else if value_of("atime>") || value_of("mtime>") || value_of("ctime>") {
                format!("{indent}{}", &t[..7])
            } else if t.starts_with("UUID:")
                || t.starts_with("Capacity:") && line.contains("GiB")
                || t.starts_with("Allocation:") && line.contains("GiB")
                || t.starts_with("Available:")
            {
                t.split(':').next().unwrap_or_default().to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const SESSION: &str = "pool-define-as p dir --target ROOT/p; pool-start p; pool-build p; pool-start p; \
    pool-info p; pool-dumpxml p; pool-list --all; \
    vol-create-as p a.raw 1M; vol-create-as p a.raw 1M; vol-create-as p x/y 1M; \
    vol-create-as p s.raw 8M --allocation 0; vol-create-as p q.qcow2 2M --format qcow2; \
    vol-list p --details; vol-info --pool p a.raw; vol-dumpxml --pool p a.raw; vol-dumpxml --pool p q.qcow2; \
    vol-create-as p top.qcow2 4M --format qcow2 --backing-vol q.qcow2 --backing-vol-format qcow2; \
    vol-dumpxml --pool p top.qcow2; vol-clone --pool p s.raw c.raw; vol-info --pool p c.raw; \
    vol-delete --pool p top.qcow2; vol-delete --pool p c.raw; vol-delete --pool p q.qcow2; \
    vol-resize --pool p a.raw 512K; vol-resize --pool p s.raw 4M; vol-resize --pool p s.raw 4M --shrink; \
    vol-info --pool p s.raw; vol-key --pool p s.raw; vol-delete --pool p a.raw; vol-info --pool p a.raw; \
    pool-undefine p; pool-delete p; pool-destroy p; pool-start nothere; \
    vol-delete --pool p s.raw; pool-delete p; pool-undefine p; pool-list --all; \
    find-storage-pool-sources dir; find-storage-pool-sources logical; pool-create-as p dir";

#[test]
fn pool_and_volume_session_matches_libvirt() {
    let reference = ReferenceDaemon::start("");
    let host = QemuHost::start();
    let ref_root = tempfile::Builder::new()
        .prefix("lvsref-")
        .tempdir()
        .expect("root");
    let our_root = tempfile::Builder::new()
        .prefix("lvsref-")
        .tempdir()
        .expect("root");
    let run = |uri: &str, root: &std::path::Path| {
        let root = root.display().to_string();
        let out = virsh(uri, &SESSION.replace("ROOT", &root));
        map_output(&out, |t| normalise(t, &root))
    };
    let theirs = run(&reference.uri(), ref_root.path());
    let ours = run(&host.uri(), our_root.path());
    assert!(ours.stdout.contains("<name>q.qcow2</name>"), "{ours}");
    assert_same_output("storage session", &theirs, &ours);
}

/// The loop device's name stands for itself in both runs.
fn normalise_disk(text: &str, dev: &str) -> String {
    normalise(&text.replace(dev, "DEV"), "/nonexistent-root")
}

/// The parts of a disk pool session whose output does not depend on where
/// partitions are placed (libvirt aligns them to the device's geometry).
const DISK_SESSION: &str = "pool-define-as d disk --source-dev DEV --target /dev; pool-start d; \
    pool-dumpxml d; pool-build d; pool-start d; vol-create-as d other 4M; pool-destroy d; \
    pool-dumpxml d; pool-delete d; pool-undefine d";

#[test]
fn disk_pool_session_matches_libvirt() {
    let reference = ReferenceDaemon::start("");
    let host = QemuHost::start();
    let dir = tempfile::Builder::new()
        .prefix("lvsdisk-")
        .tempdir()
        .expect("dir");
    let theirs_dev = storage_support::LoopDevice::new(dir.path(), "theirs", 64);
    let ours_dev = storage_support::LoopDevice::new(dir.path(), "ours", 64);
    let run = |uri: &str, dev: &storage_support::LoopDevice| {
        let session = DISK_SESSION
            .replace("NAME", dev.name())
            .replace("DEV", &dev.path);
        let out = virsh(uri, &session);
        map_output(&out, |t| {
            normalise_disk(&t.replace(dev.name(), "NAME"), &dev.path)
        })
    };
    let theirs = run(&reference.uri(), &theirs_dev);
    let ours = run(&host.uri(), &ours_dev);
    assert!(ours.stderr.contains("invalid partition name"), "{ours}");
    assert_same_output("disk pool session", &theirs, &ours);
}
