//! Host memory calls on `qemu:///system`: kernel same-page merging settings
//! (`virsh node-memory-tune`, written to `/sys/kernel/mm/ksm` and put back
//! afterwards) and free pages per cell and size (`virsh freepages`, as sysfs
//! counts them).

mod qemu_support;

use std::fs;

use qemu_support::QemuHost;

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
