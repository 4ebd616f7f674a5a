//! Host memory calls on `qemu:///system`: kernel same-page merging settings
//! (`virsh node-memory-tune`, written to `/sys/kernel/mm/ksm` and put back
//! afterwards) and free pages per cell and size (`virsh freepages`, as sysfs
//! counts them); `virsh allocpages` sizing the 2 MiB huge page pools,
//! system-wide and per cell (the kernel's counts checked, then put back).

mod qemu_support;

use std::fs;
use std::sync::Mutex;

use qemu_support::QemuHost;

/// The huge page pools are the host's: one test at a time reads or sizes them.
static HUGE_PAGES: Mutex<()> = Mutex::new(());
const SYSTEM_2M: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
const CELL0_2M: &str = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages";

fn pool(path: &str) -> u64 {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Puts the 2 MiB pool's size back whatever happens.
struct RestorePool(u64);

impl Drop for RestorePool {
    fn drop(&mut self) {
        let _ = fs::write(SYSTEM_2M, self.0.to_string());
    }
}

const PAGES_TO_SCAN: &str = "/sys/kernel/mm/ksm/pages_to_scan";

/// Puts the host's value back whatever happens.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = fs::write(PAGES_TO_SCAN, &self.0);
    }
}

fn tune_value(host: &QemuHost, key: &str) -> String {
    host.virsh_ok("node-memory-tune")
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(key)).then(|| words.next().unwrap_or("").to_string())
        })
        .unwrap_or_else(|| panic!("no {key} in node-memory-tune"))
}

#[test]
fn ksm_settings_and_free_pages_come_from_sysfs() {
    let original = fs::read_to_string(PAGES_TO_SCAN)
        .expect("KSM in /sys/kernel/mm/ksm")
        .trim()
        .to_string();
    let _restore = Restore(original.clone());
    let _pools = HUGE_PAGES.lock().unwrap_or_else(|e| e.into_inner());
    let host = QemuHost::start();

    assert_eq!(tune_value(&host, "shm_pages_to_scan"), original);
    let changed = original.parse::<u32>().expect("number") + 7;
    host.virsh_ok(&format!("node-memory-tune --shm-pages-to-scan {changed}"));
    assert_eq!(
        fs::read_to_string(PAGES_TO_SCAN).expect("read").trim(),
        changed.to_string()
    );
    assert_eq!(tune_value(&host, "shm_pages_to_scan"), changed.to_string());
    host.virsh_ok(&format!("node-memory-tune --shm-pages-to-scan {original}"));
    assert_eq!(
        fs::read_to_string(PAGES_TO_SCAN).expect("read").trim(),
        original
    );

    // Huge pages as the kernel counts them for cell 0.
    let sysfs = fs::read_to_string(
        "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages",
    )
    .expect("2 MiB huge page counters")
    .trim()
    .to_string();
    let out = host.virsh_ok("freepages --cellno 0 --pagesize 2048");
    assert!(out.contains(&format!("2048KiB: {sysfs}")), "{out}");
    let out = host.virsh_ok("freepages --cellno 0 --pagesize 4");
    let small: u64 = out
        .split(':')
        .nth(1)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(small > 0, "{out}");
    let out = host.virsh("freepages --cellno 4096 --pagesize 2048");
    assert!(out.stderr.contains("start cell 4096 out of range"), "{out}");
}

#[test]
fn allocpages_sizes_the_huge_page_pools_the_kernel_reports() {
    let _pools = HUGE_PAGES.lock().unwrap_or_else(|e| e.into_inner());
    let before = pool(SYSTEM_2M);
    let _restore = RestorePool(before);
    let host = QemuHost::start();

    // System-wide (no cell): set, then grow.
    host.virsh_ok("allocpages --pagesize 2M --pagecount 3");
    assert_eq!(pool(SYSTEM_2M), 3);
    host.virsh_ok("allocpages --pagesize 2048 --pagecount 2 --add");
    assert_eq!(pool(SYSTEM_2M), 5);
    // On this one-cell host, cell 0 holds them all; setting it shrinks them.
    assert_eq!(pool(CELL0_2M), 5);
    host.virsh_ok("allocpages --pagesize 2M --pagecount 1 --cellno 0");
    assert_eq!(pool(CELL0_2M), 1);
    host.virsh_ok("allocpages --pagesize 2M --pagecount 4 --all");
    assert_eq!(pool(CELL0_2M), 4);
    let free = host.virsh_ok("freepages --cellno 0 --pagesize 2048");
    assert!(free.contains("2048KiB: 4"), "{free}");

    // libvirt's refusals, each leaving the pool as it was.
    let refusals = [
        (
            "allocpages --pagesize 4K --pagecount 1",
            "system pages pool can't be modified",
        ),
        (
            "allocpages --pagesize 3M --pagecount 1",
            "page size 3072 is not available",
        ),
        (
            "allocpages --pagesize 2M --pagecount 1 --cellno 7",
            "start cell 7 out of range (0-0)",
        ),
    ];
    for (command, message) in refusals {
        let out = host.virsh(command);
        assert!(out.stderr.contains(message), "{command}: {out}");
        assert_eq!(pool(CELL0_2M), 4, "{command} changed the pool");
    }
    let uri = host.uri();
    let out = integration_tests::virsh_args(&["-r", "-c", &uri, "allocpages 2M 9"]);
    assert!(out.stderr.contains("read only access"), "{out}");
    assert_eq!(pool(SYSTEM_2M), 4);

    host.virsh_ok(&format!("allocpages --pagesize 2M --pagecount {before}"));
    assert_eq!(pool(SYSTEM_2M), before);
}
