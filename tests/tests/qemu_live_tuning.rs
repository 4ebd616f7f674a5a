//! Live tuning of a booted tiny guest: vCPUs plugged with `setvcpus --live` and
//! `setvcpu`,
//! `vcpupin`/`emulatorpin`/`iothreadpin` changing the real affinity of QEMU's threads,
//! IOThreads added and removed, `setmem` moving the balloon the guest reports,
//! `memtune` and `numatune` kept in the definition,
//! `setmaxmem` and the errors libvirt gives for what cannot change live.

mod qemu_support;

use std::fs;
use std::time::Duration;

use integration_tests::wait_until;
use qemu_support::QemuHost;

/// `Cpus_allowed_list` of a thread, as the kernel shows it.
fn allowed_cpus(tid: i64) -> String {
    fs::read_to_string(format!("/proc/{tid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Thread ids of the guest's vCPUs, from QEMU.
fn vcpu_tids(host: &QemuHost, name: &str) -> Vec<i64> {
    let out = host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"query-cpus-fast\"}}'"
    ));
    let reply: serde_json::Value = serde_json::from_str(&out).expect("QMP reply");
    reply["return"]
        .as_array()
        .expect("cpu list")
        .iter()
        .filter_map(|c| c["thread-id"].as_i64())
        .collect()
}

fn actual_balloon(host: &QemuHost, name: &str) -> Option<u64> {
    host.virsh_ok(&format!("dommemstat {name}"))
        .lines()
        .find_map(|l| l.strip_prefix("actual "))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn vcpus_pinning_iothreads_and_memory_change_on_a_running_guest() {
    let host = QemuHost::start();
    let name = "lt1";
    let xml = host
        .guest_xml(name)
        .replace("<vcpu>1</vcpu>", "<vcpu current='1'>3</vcpu>")
        // A slow TCG boot must not fail the kernel's timer check.
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check")
        .replace("</devices>", "<memballoon model='virtio'/></devices>");
    let file = host.root().join("lt1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);

    // vCPU hot plug up to the maximum, and no further.
    host.virsh_ok(&format!("setvcpus {name} 2 --live"));
    assert_eq!(vcpu_tids(&host, name).len(), 2);
    let count = host.virsh_ok(&format!("vcpucount {name} --live --active"));
    assert_eq!(count, "2");
    // setvcpu enables one named vCPU; those present at start stay.
    host.virsh_ok(&format!("setvcpu {name} 2 --enable --live"));
    assert_eq!(vcpu_tids(&host, name).len(), 3);
    let out = host.virsh(&format!("setvcpu {name} 0 --disable --live"));
    assert!(
        out.stderr.contains("vcpu '0' can't be hotunplugged"),
        "{out}"
    );
    let out = host.virsh(&format!("setvcpus {name} 4 --live"));
    assert!(
        out.stderr.contains(
            "requested vcpus is greater than max allowable vcpus for the live domain: 4 > 3"
        ),
        "{out}"
    );
    assert_eq!(
        host.virsh_ok(&format!("vcpucount {name} --config --active")),
        "1"
    );

    // Pinning changes what the kernel lets the threads use.
    host.virsh_ok(&format!("vcpupin {name} 1 0"));
    let tids = vcpu_tids(&host, name);
    assert_eq!(allowed_cpus(tids[1]), "0");
    host.virsh_ok(&format!("emulatorpin {name} 0"));
    let pid = host.guest_pids()[0];
    assert_eq!(allowed_cpus(i64::from(pid)), "0");
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(live.contains("<vcpupin vcpu='1' cpuset='0'/>"), "{live}");
    assert!(live.contains("<emulatorpin cpuset='0'/>"), "{live}");
    host.virsh_ok(&format!("vcpupin {name} 0 0 --config"));
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        inactive.contains("<vcpupin vcpu='0' cpuset='0'/>"),
        "{inactive}"
    );
    assert!(!inactive.contains("<emulatorpin"), "{inactive}");

    // IOThreads come and go in QEMU.
    host.virsh_ok(&format!("iothreadadd {name} 2 --live"));
    let info = host.virsh_ok(&format!("iothreadinfo {name}"));
    assert!(
        info.lines().any(|l| l.trim_start().starts_with("2 ")),
        "{info}"
    );
    let threads = host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"query-iothreads\"}}'"
    ));
    assert!(threads.contains("iothread2"), "{threads}");
    let stats = host.virsh_ok(&format!("domstats --iothread {name}"));
    assert!(
        stats.contains("iothread.count=1") && stats.contains("iothread.2.poll-max-ns="),
        "{stats}"
    );
    host.virsh_ok(&format!("iothreadpin {name} 2 0 --live"));
    let reply: serde_json::Value = serde_json::from_str(&host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"query-iothreads\"}}'"
    )))
    .expect("QMP reply");
    let tid = reply["return"][0]["thread-id"]
        .as_i64()
        .expect("iothread tid");
    assert_eq!(allowed_cpus(tid), "0");
    assert!(host
        .virsh_ok(&format!("dumpxml {name}"))
        .contains("<iothreadpin iothread='2' cpuset='0'/>"));
    let out = host.virsh(&format!("iothreadadd {name} 2 --live"));
    assert!(
        out.stderr
            .contains("invalid argument: an IOThread is already using iothread_id '2'"),
        "{out}"
    );
    host.virsh_ok(&format!("iothreaddel {name} 2 --live"));
    assert!(host
        .virsh_ok(&format!("iothreadinfo {name}"))
        .contains("No IOThreads found"));

    // The balloon: setmem moves what the guest's balloon reports.
    host.virsh_ok(&format!("setmem {name} 100M --live"));
    let moved = wait_until(Duration::from_secs(30), || {
        actual_balloon(&host, name) == Some(102_400)
    });
    assert!(moved, "balloon stayed at {:?}", actual_balloon(&host, name));

    // memtune and numatune: read, kept in the definition, refused live.
    let memtune = host.virsh_ok(&format!("memtune {name}"));
    assert!(memtune.contains("hard_limit     : unlimited"), "{memtune}");
    host.virsh_ok(&format!("memtune {name} --hard-limit 500000 --config"));
    assert!(host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("<hard_limit unit='KiB'>500000</hard_limit>"));
    assert!(host
        .virsh_ok(&format!("memtune {name} --config"))
        .contains("hard_limit     : 500000"));
    let numatune = host.virsh_ok(&format!("numatune {name}"));
    assert!(numatune.contains("numa_mode      : strict"), "{numatune}");
    host.virsh_ok(&format!(
        "numatune {name} --mode interleave --nodeset 0 --config"
    ));
    assert!(host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("<memory mode='interleave' nodeset='0'/>"));
    let out = host.virsh(&format!("numatune {name} --mode interleave --live"));
    assert!(
        out.stderr
            .contains("can't change numatune mode for running domain"),
        "{out}"
    );

    // The maximum memory only changes in the definition.
    let out = host.virsh(&format!("setmaxmem {name} 200M"));
    assert!(
        out.stderr
            .contains("cannot resize the maximum memory on an active domain"),
        "{out}"
    );
    host.virsh_ok(&format!("setmaxmem {name} 200M --config"));
    assert!(host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("<memory unit='KiB'>204800</memory>"));
}
