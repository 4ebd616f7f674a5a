//! Read-only domain queries of a real guest through virsh, in libvirt's layouts:
//! `vcpuinfo`, `schedinfo`, `domjobinfo` (also while a managed save runs),
//! `domblklist` / `domiflist` from the XML, and `list` with its filters.

mod qemu_support;

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use integration_tests::{virsh_command, wait_until};
use qemu_support::{QemuHost, STATE_TIMEOUT};

/// The tiny guest with two vCPUs.
fn define_two_vcpu_guest(host: &QemuHost, name: &str) {
    let xml = host
        .guest_xml(name)
        .replace("<vcpu>1</vcpu>", "<vcpu>2</vcpu>");
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
}

/// Value of a "Key:   value" line.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|rest| rest.trim_start_matches(':').trim())
}

/// Online CPUs of the host, from sysfs as the daemon reads them (the test's own
/// affinity or CPU quota may be smaller).
fn host_cpus() -> usize {
    let text = fs::read_to_string("/sys/devices/system/cpu/online").expect("cpu list");
    text.trim()
        .split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap_or(0) + 1 - a.parse::<usize>().unwrap_or(0),
            None => 1,
        })
        .sum()
}

#[test]
fn vcpuinfo_schedinfo_and_domjobinfo() {
    let host = QemuHost::start();
    define_two_vcpu_guest(&host, "q1");

    // Shut off: the configured vCPUs with their (unpinned) affinity, no live data.
    let out = host.virsh_ok("vcpuinfo q1");
    let blocks: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{out}");
    assert_eq!(field(blocks[1], "VCPU"), Some("1"), "{out}");
    assert_eq!(field(blocks[0], "CPU"), Some("N/A"), "{out}");
    assert_eq!(field(blocks[0], "State"), Some("N/A"), "{out}");
    let all_yes = "y".repeat(host_cpus());
    assert_eq!(
        field(blocks[0], "CPU Affinity"),
        Some(all_yes.as_str()),
        "{out}"
    );

    host.virsh_ok("start q1");
    host.wait_booted("q1", 1);
    let out = host.virsh_ok("vcpuinfo q1");
    let blocks: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{out}");
    for (number, block) in blocks.iter().enumerate() {
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines.len(), 5, "{block}");
        assert_eq!(lines[0], format!("VCPU:           {number}"));
        assert!(lines[1].starts_with("CPU:            "), "{block}");
        let cpu: usize = field(block, "CPU")
            .and_then(|c| c.parse().ok())
            .expect("cpu number");
        assert!(cpu < host_cpus(), "{block}");
        assert_eq!(lines[2], "State:          running");
        let time = field(block, "CPU time").expect("cpu time");
        assert!(time.ends_with('s'), "{block}");
        // The vCPU threads inherit the daemon's affinity: a subset of the host's CPUs.
        let affinity = lines[4].strip_prefix("CPU Affinity:   ").expect("affinity");
        assert_eq!(affinity.len(), all_yes.len(), "{block}");
        assert!(
            affinity.contains('y') && affinity.chars().all(|c| c == 'y' || c == '-'),
            "{block}"
        );
    }
    // The boot kept vCPU 0 busy for a while under TCG.
    let vcpu0_time: f64 = field(blocks[0], "CPU time")
        .and_then(|t| t.trim_end_matches('s').parse().ok())
        .expect("vcpu 0 time");
    assert!(vcpu0_time > 0.0, "{out}");

    let sched = host.virsh_ok("schedinfo q1");
    let lines: Vec<&str> = sched.lines().collect();
    assert_eq!(lines[0], "Scheduler      : posix", "{sched}");
    // Live values come from the guest's cgroup (tests/tests/qemu_schedinfo.rs checks them).
    assert!(lines[1].starts_with("cpu_shares     : "), "{sched}");
    assert_ne!(lines[1], "cpu_shares     : 0", "{sched}");
    assert_eq!(lines.len(), 10, "{sched}");
    assert!(sched.contains("iothread_quota : "), "{sched}");
    let config = host.virsh_ok("schedinfo --config q1");
    assert!(config.contains("vcpu_period    : 0"), "{config}");

    assert_eq!(host.virsh_ok("domjobinfo q1"), "Job type:         None");

    // Slow the save down so that the job can be watched while it runs.
    host.virsh_ok(
        "qemu-monitor-command q1 '{\"execute\":\"migrate-set-parameters\",\
         \"arguments\":{\"max-bandwidth\":8388608}}'",
    );
    let mut saver = virsh_command()
        .args(["-c", &host.uri(), "managedsave", "q1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn virsh managedsave");
    let deadline = Instant::now() + STATE_TIMEOUT;
    let mut seen = String::new();
    while Instant::now() < deadline {
        let out = host.virsh("domjobinfo q1").stdout;
        // The figures appear once QEMU has started to copy memory.
        if out.contains("Unbounded") && out.contains("Memory total") {
            seen = out;
            break;
        }
        if saver.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        field(&seen, "Job type"),
        Some("Unbounded"),
        "no job seen: {seen}"
    );
    assert_eq!(field(&seen, "Operation"), Some("Save"), "{seen}");
    assert!(
        field(&seen, "Time elapsed").is_some_and(|t| t.ends_with("ms")),
        "{seen}"
    );
    assert!(field(&seen, "Memory total").is_some(), "{seen}");
    let status = saver.wait().expect("managedsave finishes");
    assert!(status.success(), "managedsave failed");
    assert_eq!(host.domstate("q1"), "shut off (saved)");
    assert_eq!(host.virsh_ok("domjobinfo q1"), "Job type:         None");
    // Statistics of finished jobs are not kept: a completed job reads as none.
    assert_eq!(
        host.virsh_ok("domjobinfo --completed q1"),
        "Job type:         None"
    );
}

#[test]
fn block_and_interface_lists_come_from_the_xml() {
    let host = QemuHost::start();
    let disk = host.root().join("d1.img");
    fs::write(&disk, vec![0u8; 1 << 20]).expect("disk image");
    let xml = host.guest_xml("q2").replace(
        "<devices>",
        &format!(
            "<devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='{}'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='user'><mac address='52:54:00:aa:bb:01'/><model type='virtio'/></interface>
    <interface type='network'><mac address='52:54:00:aa:bb:02'/><source network='default'/></interface>
    <interface type='bridge'><mac address='52:54:00:aa:bb:03'/><source bridge='br-test'/><model type='e1000'/></interface>",
            disk.display()
        ),
    );
    let file = host.root().join("q2.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));

    let blk = host.virsh_ok("domblklist q2");
    let rows: Vec<Vec<&str>> = blk
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["vda", disk.to_str().expect("utf-8 path")],
            vec!["hdc", "-"]
        ],
        "{blk}"
    );
    let details = host.virsh_ok("domblklist --details q2");
    assert!(
        details.lines().nth(3).is_some_and(
            |l| l.split_whitespace().collect::<Vec<_>>() == ["file", "cdrom", "hdc", "-"]
        ),
        "{details}"
    );

    let ifl = host.virsh_ok("domiflist q2");
    let rows: Vec<Vec<&str>> = ifl
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["-", "user", "-", "virtio", "52:54:00:aa:bb:01"],
            vec!["-", "network", "default", "rtl8139", "52:54:00:aa:bb:02"],
            vec!["-", "bridge", "br-test", "e1000", "52:54:00:aa:bb:03"],
        ],
        "{ifl}"
    );

    // The network `default` is defined but not started: starting is refused as
    // libvirt refuses it, and nothing is left.
    let out = host.virsh("start q2");
    assert!(!out.success());
    assert!(
        out.stderr.contains("network 'default' is not active"),
        "{}",
        out.stderr
    );
    assert_eq!(host.domstate("q2"), "shut off (failed)");
    assert!(host.guest_pids().is_empty());
}

#[test]
fn list_filters() {
    let host = QemuHost::start();
    host.define_guest("run");
    host.define_guest("idle");
    host.define_guest("held");
    host.virsh_ok("autostart idle");
    host.virsh_ok("start run");
    host.virsh_ok("start --paused held");
    let transient = host.root().join("tr.xml");
    fs::write(&transient, host.guest_xml("tr")).expect("write xml");
    host.virsh_ok(&format!("create {}", transient.display()));

    let names = |flags: &str| -> Vec<String> {
        let out = host.virsh_ok(&format!("list --name {flags}"));
        let mut names: Vec<String> = out
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(""), ["held", "run", "tr"]);
    assert_eq!(names("--all"), ["held", "idle", "run", "tr"]);
    assert_eq!(names("--inactive"), ["idle"]);
    assert_eq!(names("--all --persistent"), ["held", "idle", "run"]);
    assert_eq!(names("--all --transient"), ["tr"]);
    assert_eq!(names("--all --autostart"), ["idle"]);
    assert_eq!(names("--all --no-autostart"), ["held", "run", "tr"]);
    assert_eq!(names("--all --state-running"), ["run", "tr"]);
    assert_eq!(names("--all --state-paused"), ["held"]);
    assert_eq!(names("--all --state-shutoff"), ["idle"]);
    assert_eq!(names("--all --state-other"), Vec::<String>::new());
    assert_eq!(names("--all --with-snapshot"), Vec::<String>::new());
    assert_eq!(
        names("--all --without-snapshot"),
        ["held", "idle", "run", "tr"]
    );
    assert_eq!(names("--all --with-managed-save"), Vec::<String>::new());
    assert_eq!(
        names("--all --without-managed-save"),
        ["held", "idle", "run", "tr"]
    );

    // The table layout of libvirt's virsh list.
    let table = host.virsh_ok("list --all");
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("Id   Name"), "{table}");
    assert!(
        lines.iter().any(|l| l.contains(" idle ")
            && l.trim_start().starts_with('-')
            && l.ends_with("shut off")),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" held ") && l.ends_with("paused")),
        "{table}"
    );
    assert!(wait_until(STATE_TIMEOUT, || host
        .virsh("destroy tr")
        .success()));
    assert_eq!(names("--all --transient"), Vec::<String>::new());
}
