//! `virsh schedinfo` of a running qemu guest shows its cgroup's real values, laid out as
//! libvirtd 9.0 lays them out (`machine/qemu-ID-NAME.libvirt-qemu` with `emulator` and
//! `vcpuN` sub-groups), and `virConnectGetMaxVcpus` answers as libvirtd 9.0 does. The
//! real libvirtd runs its qemu driver in a private mount namespace for the comparison.

mod qemu_reference;
mod qemu_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::tools::require_python_libvirt;
use integration_tests::{virsh, wait_until};
use qemu_reference::{guest_pids, GuestReaper, ReferenceDaemon};
use qemu_support::{QemuHost, STATE_TIMEOUT};

/// The hierarchy holding the cpu controller: (mount point, is v2).
fn cpu_hierarchy() -> (PathBuf, bool) {
    let mounts = fs::read_to_string("/proc/self/mounts").expect("read mounts");
    let mut v2 = None;
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() < 4 {
            continue;
        }
        match fields[2] {
            "cgroup" if fields[3].split(',').any(|o| o == "cpu") => {
                return (PathBuf::from(fields[1]), false)
            }
            "cgroup2" => v2 = Some(PathBuf::from(fields[1])),
            _ => {}
        }
    }
    (
        v2.expect("no cgroup hierarchy with the cpu controller"),
        true,
    )
}

/// The cpu-controller cgroup directory of thread/process `id`.
fn cpu_group_of(id: &str, mount: &Path, v2: bool) -> PathBuf {
    let text = fs::read_to_string(format!("/proc/{id}/cgroup")).expect("read cgroup");
    let path = text
        .lines()
        .find_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let wanted = if v2 {
                controllers.is_empty()
            } else {
                controllers.split(',').any(|c| c == "cpu")
            };
            wanted.then(|| path.to_string())
        })
        .expect("cpu cgroup line");
    mount.join(path.trim_start_matches('/'))
}

fn read_trimmed(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// (period, quota) of one group, as libvirt reports them.
fn bandwidth(dir: &Path, v2: bool) -> (String, String) {
    if v2 {
        let max = read_trimmed(&dir.join("cpu.max"));
        let (quota, period) = max.split_once(' ').expect("cpu.max");
        let quota = if quota == "max" {
            "17592186044415"
        } else {
            quota
        };
        (period.to_string(), quota.to_string())
    } else {
        (
            read_trimmed(&dir.join("cpu.cfs_period_us")),
            read_trimmed(&dir.join("cpu.cfs_quota_us")),
        )
    }
}

/// `virsh schedinfo` as the files of `group` say it must read.
fn expected_schedinfo(group: &Path, v2: bool) -> String {
    let shares = read_trimmed(&group.join(if v2 { "cpu.weight" } else { "cpu.shares" }));
    let vcpu = bandwidth(&group.join("vcpu0"), v2);
    let emulator = bandwidth(&group.join("emulator"), v2);
    let global = bandwidth(group, v2);
    format!(
        "Scheduler      : posix\ncpu_shares     : {shares}\n\
         vcpu_period    : {}\nvcpu_quota     : {}\n\
         emulator_period: {}\nemulator_quota : {}\n\
         global_period  : {}\nglobal_quota   : {}\n\
         iothread_period: {}\niothread_quota : {}",
        vcpu.0, vcpu.1, emulator.0, emulator.1, global.0, global.1, global.0, global.1
    )
}

/// The guest's cgroup, checked against libvirt's layout: QEMU's threads in `emulator`,
/// each vCPU thread in its `vcpuN` group.
fn guest_group(pid: i32, name: &str) -> PathBuf {
    let (mount, v2) = cpu_hierarchy();
    let emulator = cpu_group_of(&pid.to_string(), &mount, v2);
    assert!(emulator.ends_with("emulator"), "{}", emulator.display());
    let group = emulator.parent().expect("group").to_path_buf();
    assert!(
        group.ends_with(format!("machine/qemu-1-{name}.libvirt-qemu")),
        "{}",
        group.display()
    );
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).expect("tasks");
    let mut vcpus = 0;
    for task in tasks.flatten() {
        let tid = task.file_name().to_string_lossy().to_string();
        let comm = read_trimmed(&task.path().join("comm"));
        let thread_group = cpu_group_of(&format!("{pid}/task/{tid}"), &mount, v2);
        match comm.strip_prefix("CPU ").and_then(|c| c.split('/').next()) {
            Some(index) => {
                vcpus += 1;
                assert_eq!(thread_group, group.join(format!("vcpu{index}")), "{comm}");
            }
            None => assert_eq!(thread_group, emulator, "{comm}"),
        }
    }
    assert_eq!(vcpus, 2, "vCPU threads of {name}");
    group
}

fn two_vcpu_xml(host: &QemuHost, name: &str) -> PathBuf {
    let file = host.root().join(format!("{name}.xml"));
    let xml = host
        .guest_xml(name)
        .replace("<vcpu>1</vcpu>", "<vcpu>2</vcpu>");
    fs::write(&file, xml).expect("write guest xml");
    file
}

/// virConnectGetMaxVcpus for each type, one "type=answer" line each.
fn max_vcpus_answers(uri: &str) -> String {
    let python = require_python_libvirt();
    let script = "import libvirt, sys\n\
        libvirt.registerErrorHandler(lambda *a: None, None)\n\
        c = libvirt.open(sys.argv[1])\n\
        for t in [None, 'qemu', 'QEMU', 'kvm', 'xen']:\n\
        \x20   try:\n\
        \x20       print(t, c.getMaxVcpus(t))\n\
        \x20   except libvirt.libvirtError as e:\n\
        \x20       print(t, e.get_error_code(), e.get_error_message())\n";
    let out = Command::new(python)
        .args(["-c", script, uri])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn schedinfo_and_maxvcpus_match_the_cgroup_and_libvirtd() {
    let mut host = QemuHost::start();
    let ours = format!("sched{}", std::process::id());
    let theirs = format!("schedref{}", std::process::id());
    let xml = two_vcpu_xml(&host, &ours);
    host.virsh_ok(&format!("create {}", xml.display()));
    let pids = host.guest_pids();
    assert_eq!(pids.len(), 1, "{pids:?}");
    let group = guest_group(pids[0], &ours);
    let v2 = cpu_hierarchy().1;

    let fresh = host.virsh_ok(&format!("schedinfo {ours}"));
    assert_eq!(fresh, expected_schedinfo(&group, v2));

    // The same guest under libvirtd 9.0: the same layout and the same values.
    let real = ReferenceDaemon::start("");
    let reaper = GuestReaper(theirs.clone());
    let their_xml = two_vcpu_xml(&host, &theirs);
    real.virsh_ok(&format!("create {}", their_xml.display()));
    let their_pids = guest_pids(&theirs);
    assert_eq!(their_pids.len(), 1, "{their_pids:?}");
    guest_group(their_pids[0], &theirs);
    assert_eq!(real.virsh_ok(&format!("schedinfo {theirs}")), fresh);
    assert_eq!(
        max_vcpus_answers(&host.uri()),
        max_vcpus_answers(&real.uri())
    );

    // Values changed in the kernel are what the daemon reports.
    let (shares_file, shares) = if v2 {
        ("cpu.weight", "50")
    } else {
        ("cpu.shares", "512")
    };
    fs::write(group.join(shares_file), shares).expect("write shares");
    for sub in ["vcpu0", "vcpu1"] {
        let dir = group.join(sub);
        if v2 {
            fs::write(dir.join("cpu.max"), "20000 100000").expect("write cpu.max");
        } else {
            fs::write(dir.join("cpu.cfs_quota_us"), "20000").expect("write quota");
        }
    }
    let changed = host.virsh_ok(&format!("schedinfo {ours}"));
    assert!(
        changed.contains(&format!("cpu_shares     : {shares}\n")),
        "{changed}"
    );
    assert!(changed.contains("vcpu_quota     : 20000\n"), "{changed}");
    assert_eq!(changed, expected_schedinfo(&group, v2));

    // schedinfo --set writes the cgroup files libvirtd 9.0 writes.
    let set = "cpu_shares=300 vcpu_quota=30000 emulator_period=50000";
    host.virsh_ok(&format!("schedinfo {ours} --set {set}"));
    real.virsh_ok(&format!("schedinfo {theirs} --set {set}"));
    let their_group = guest_group(their_pids[0], &theirs);
    for file in [
        shares_file,
        "vcpu0/cpu.max",
        "vcpu1/cpu.max",
        "emulator/cpu.max",
    ] {
        let file = if v2 {
            file.to_string()
        } else {
            file.replace("cpu.max", "cpu.cfs_quota_us")
        };
        assert_eq!(
            read_trimmed(&group.join(&file)),
            read_trimmed(&their_group.join(&file)),
            "{file}"
        );
    }
    assert_eq!(
        host.virsh_ok(&format!("schedinfo {ours}")),
        real.virsh_ok(&format!("schedinfo {theirs}"))
    );
    let refused = |uri: &str, name: &str| {
        let out = virsh(uri, &format!("schedinfo {name} --set vcpu_quota=10"));
        assert!(!out.success());
        out.stderr
    };
    assert_eq!(refused(&host.uri(), &ours), refused(&real.uri(), &theirs));

    // The persistent side of a transient guest does not exist, as with libvirtd.
    let config = host.virsh(&format!("schedinfo --config {ours}"));
    assert!(!config.success());
    assert!(
        config
            .stderr
            .contains("transient domains do not have any persistent config"),
        "{config}"
    );

    // A restarted daemon finds the re-attached guest's group, and removes it at stop.
    drop(reaper);
    drop(real);
    host.kill_daemon();
    host.start_daemon();
    host.wait_state(&ours, "running (booted)");
    assert_eq!(
        host.virsh_ok(&format!("schedinfo {ours}")),
        expected_schedinfo(&group, v2)
    );

    host.virsh_ok(&format!("destroy {ours}"));
    assert!(
        wait_until(STATE_TIMEOUT, || !group.exists()),
        "{} outlived the guest",
        group.display()
    );
}
