//! `--bypass-cache` on save, managed save, restore and start: the image goes to and
//! comes from the disk without staying in the page cache (checked with fincore:
//! only the image's short last block, written after direct I/O is switched off, may
//! be cached), and the guest comes back intact.

mod qemu_support;

use std::path::Path;
use std::process::Command;

use integration_tests::tools::require_tool;
use qemu_support::QemuHost;

/// The short tail written through the cache, rounded up to pages, plus one page.
const CACHED_AT_MOST: u64 = (1 << 20) + 4096;

/// Bytes of `path` in the page cache.
fn cached_bytes(path: &Path) -> u64 {
    let out = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .arg(path)
        .output()
        .expect("run fincore");
    assert!(out.status.success(), "fincore: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("fincore prints a number")
}

fn assert_not_cached(path: &Path, what: &str) {
    let size = std::fs::metadata(path).expect("image").len();
    assert!(
        size > 2 * CACHED_AT_MOST,
        "{what}: image too small ({size} bytes) to tell"
    );
    let cached = cached_bytes(path);
    assert!(
        cached <= CACHED_AT_MOST,
        "{what}: {cached} of {size} bytes of {} are in the page cache",
        path.display()
    );
}

#[test]
fn save_and_restore_bypass_the_page_cache() {
    require_tool("fincore", "util-linux");
    let host = QemuHost::start();
    host.define_guest("b1");
    host.virsh_ok("start b1");
    host.wait_booted("b1", 1);

    let file = host.root().join("b1.img");
    host.virsh_ok(&format!("save --bypass-cache b1 {}", file.display()));
    assert_eq!(host.domstate("b1"), "shut off (saved)");
    assert_not_cached(&file, "after save --bypass-cache");

    host.virsh_ok(&format!("restore --bypass-cache {}", file.display()));
    assert_eq!(host.domstate("b1"), "running (restored)");
    assert_not_cached(&file, "after restore --bypass-cache");
    // The restored guest runs on from where it was: no second boot.
    assert_eq!(host.boot_count("b1"), 1);

    host.virsh_ok("managedsave --bypass-cache b1");
    assert_eq!(host.domstate("b1"), "shut off (saved)");
    let image = host.root().join("var/lib/libvirt/qemu/save/b1.save");
    assert_not_cached(&image, "after managedsave --bypass-cache");
    // Reading the image with direct I/O must not pull it into the cache either;
    // watched through a hard link, since the start removes the image.
    let watched = host.root().join("b1.watched");
    std::fs::hard_link(&image, &watched).expect("link the image");
    host.virsh_ok("start --bypass-cache b1");
    assert_eq!(host.domstate("b1"), "running (restored)");
    assert_not_cached(&watched, "after start --bypass-cache");
    assert_eq!(host.boot_count("b1"), 1);
    host.virsh_ok("destroy b1");
}
