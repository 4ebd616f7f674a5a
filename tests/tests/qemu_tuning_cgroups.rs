//! cgroup tuning of a running tiny guest, checked in the files of the guest's cgroups:
//! `blkiotune` throttles (and the weight where the host's scheduler has one) in the
//! blkio (v1) or io (v2) group, `memtune` limits in the memory group, `numatune`
//! nodesets in the cpuset group; `--config` kept in the definition; python3-libvirt's
//! `setBlkioParameters` and `setMemoryParameters`.

#[path = "storage_support/mod.rs"]
mod storage_support;

use std::fs;
use std::path::{Path, PathBuf};

use storage_support::{python_inline, virsh_err, LoopDevice, QemuHost};

/// The guest's group directory in `controller` (v1 name; `v2` its v2 name) and whether it
/// is a v2 group.
fn guest_group(pid: i32, controller: &str, v2_name: &str) -> (PathBuf, bool) {
    let mounts = fs::read_to_string("/proc/self/mounts").expect("read mounts");
    let mut v1 = None;
    let mut unified = None;
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.get(2) {
            Some(&"cgroup") if fields[3].split(',').any(|o| o == controller) => {
                v1 = Some(PathBuf::from(fields[1]));
            }
            Some(&"cgroup2") => unified = Some(PathBuf::from(fields[1])),
            _ => {}
        }
    }
    let (mount, v2) = match (v1, unified) {
        (Some(m), _) => (m, false),
        (None, Some(m)) => (m, true),
        (None, None) => panic!("no cgroup hierarchy holds the {controller} controller"),
    };
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("read cgroup");
    let path = text
        .lines()
        .find_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let wanted = if v2 {
                controllers.is_empty()
            } else {
                controllers.split(',').any(|c| c == controller)
            };
            wanted.then(|| path.to_string())
        })
        .expect("cgroup line");
    let path = path.strip_suffix("/emulator").unwrap_or(&path).to_string();
    assert!(
        path.ends_with(".libvirt-qemu"),
        "guest not in its {controller} group: {path}"
    );
    let dir = mount.join(path.trim_start_matches('/'));
    if v2 {
        let controllers = fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        assert!(
            controllers.split_whitespace().any(|c| c == v2_name),
            "{v2_name} not enabled for {}",
            dir.display()
        );
    }
    (dir, v2)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// `MAJ:MIN` of a block device.
fn dev_numbers(path: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    let rdev = fs::metadata(path).expect("stat device").rdev();
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    format!("{major}:{minor}")
}

/// The throttle `key` (v2 `io.max` key) of device `dev` in the blkio group.
fn throttle(dir: &Path, v2: bool, v1_file: &str, key: &str, dev: &str) -> Option<String> {
    let file = if v2 { "io.max" } else { v1_file };
    let text = read(&dir.join(file));
    let line = text.lines().find(|l| l.starts_with(&format!("{dev} ")))?;
    let rest = line.split_once(' ')?.1;
    if v2 {
        rest.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    } else {
        Some(rest.trim().to_string())
    }
}

#[test]
fn blkiotune_memtune_and_numatune_reach_the_guest_cgroups() {
    let host = QemuHost::start();
    let name = "cg1";
    let disk = LoopDevice::new(host.root(), "blkio", 8);
    let dev = dev_numbers(&disk.path);
    let xml = host.guest_xml(name).replace(
        "<vcpu>1</vcpu>",
        "<memtune><soft_limit unit='KiB'>262144</soft_limit></memtune>\n  \
         <vcpu>1</vcpu>\n  \
         <numatune><memory mode='restrictive' nodeset='0'/></numatune>",
    );
    let file = host.root().join("cg1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));
    let pid = host.guest_pids()[0];

    // The definition's limits are applied at start.
    let (mem, mem_v2) = guest_group(pid, "memory", "memory");
    let soft_file = if mem_v2 {
        "memory.high"
    } else {
        "memory.soft_limit_in_bytes"
    };
    assert_eq!(read(&mem.join(soft_file)), (262_144u64 << 10).to_string());

    // blkiotune throttles: virsh and python3-libvirt, live, seen in the group's files.
    let (blkio, blkio_v2) = guest_group(pid, "blkio", "io");
    host.virsh_ok(&format!(
        "blkiotune {name} --device-read-iops-sec {},100 --live",
        disk.path
    ));
    assert_eq!(
        throttle(
            &blkio,
            blkio_v2,
            "blkio.throttle.read_iops_device",
            "riops",
            &dev
        )
        .as_deref(),
        Some("100")
    );
    host.virsh_ok(&format!(
        "blkiotune {name} --device-write-bytes-sec {},1048576 --live",
        disk.path
    ));
    // python3-libvirt reads the parameters' types first; the live read needs a weight
    // file, so its blkio change goes to the definition.
    let script = "import libvirt, sys\n\
        c = libvirt.open(sys.argv[1])\n\
        d = c.lookupByName(sys.argv[2])\n\
        d.setBlkioParameters({'device_write_iops_sec': sys.argv[3] + ',77'}, libvirt.VIR_DOMAIN_AFFECT_CONFIG)\n\
        d.setMemoryParameters({'hard_limit': 409600, 'swap_hard_limit': 512000}, libvirt.VIR_DOMAIN_AFFECT_LIVE)\n";
    let out = python_inline(script, &[&host.uri(), name, &disk.path]);
    assert!(out.success(), "{out}");
    assert!(host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("<write_iops_sec>77</write_iops_sec>"));
    assert_eq!(
        throttle(
            &blkio,
            blkio_v2,
            "blkio.throttle.write_bps_device",
            "wbps",
            &dev
        )
        .as_deref(),
        Some("1048576")
    );
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live.contains("<read_iops_sec>100</read_iops_sec>")
            && live.contains("<write_bytes_sec>1048576</write_bytes_sec>"),
        "{live}"
    );
    // Clearing a throttle removes it from the kernel and the definition.
    host.virsh_ok(&format!(
        "blkiotune {name} --device-read-iops-sec {},0 --live",
        disk.path
    ));
    let cleared = throttle(
        &blkio,
        blkio_v2,
        "blkio.throttle.read_iops_device",
        "riops",
        &dev,
    );
    assert!(
        cleared.is_none() || cleared.as_deref() == Some("max"),
        "{cleared:?}"
    );
    assert!(!host
        .virsh_ok(&format!("dumpxml {name}"))
        .contains("<read_iops_sec>"));
    // The weight needs a scheduler with weights (bfq or cfq); without one, libvirt's error.
    let weight_file = [
        "blkio.bfq.weight",
        "blkio.weight",
        "io.bfq.weight",
        "io.weight",
    ]
    .into_iter()
    .map(|f| blkio.join(f))
    .find(|p| p.exists());
    match weight_file {
        Some(path) => {
            host.virsh_ok(&format!("blkiotune {name} --weight 500 --live"));
            assert!(read(&path).contains("500"), "{}", read(&path));
            assert!(host
                .virsh_ok(&format!("blkiotune {name}"))
                .contains("weight         : 500"));
        }
        None => {
            let err = virsh_err(&host, &format!("blkiotune {name} --weight 500 --live"));
            assert!(
                err.contains("blkio device weight is valid only for bfq or cfq scheduler"),
                "{err}"
            );
        }
    }
    let err = virsh_err(
        &host,
        &format!("blkiotune {name} --device-read-iops-sec /dev/null,5 --live"),
    );
    assert!(err.contains("must be a block device"), "{err}");
    let err = virsh_err(
        &host,
        &format!("blkiotune {name} --device-weights {}", disk.path),
    );
    assert!(err.contains("unable to parse blkio device"), "{err}");
    // --config: kept in the definition only.
    host.virsh_ok(&format!(
        "blkiotune {name} --weight 300 --device-read-bytes-sec {},2048 --config",
        disk.path
    ));
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        inactive.contains("<weight>300</weight>")
            && inactive.contains(&format!("<path>{}</path>", disk.path))
            && inactive.contains("<read_bytes_sec>2048</read_bytes_sec>"),
        "{inactive}"
    );
    let config = host.virsh_ok(&format!("blkiotune {name} --config"));
    assert!(
        config.contains("weight         : 300")
            && config.contains(&format!("device_read_bytes_sec: {},2048", disk.path)),
        "{config}"
    );
    assert_eq!(
        throttle(
            &blkio,
            blkio_v2,
            "blkio.throttle.read_bps_device",
            "rbps",
            &dev
        ),
        None
    );

    // memtune: python set the hard and swap limits above; virsh changes them again.
    let (hard_file, swap_file) = if mem_v2 {
        ("memory.max", "memory.swap.max")
    } else {
        ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
    };
    assert_eq!(read(&mem.join(hard_file)), (409_600u64 << 10).to_string());
    assert_eq!(read(&mem.join(swap_file)), (512_000u64 << 10).to_string());
    host.virsh_ok(&format!(
        "memtune {name} --hard-limit 307200 --soft-limit 204800 --live"
    ));
    assert_eq!(read(&mem.join(hard_file)), (307_200u64 << 10).to_string());
    assert_eq!(read(&mem.join(soft_file)), (204_800u64 << 10).to_string());
    let shown = host.virsh_ok(&format!("memtune {name}"));
    assert!(
        shown.contains("hard_limit     : 307200")
            && shown.contains("soft_limit     : 204800")
            && shown.contains("swap_hard_limit: 512000"),
        "{shown}"
    );
    let err = virsh_err(&host, &format!("memtune {name} --hard-limit 600000 --live"));
    assert!(
        err.contains(
            "memory hard_limit tunable value must be lower than or equal to swap_hard_limit"
        ),
        "{err}"
    );
    assert_eq!(read(&mem.join(hard_file)), (307_200u64 << 10).to_string());
    host.virsh_ok(&format!("memtune {name} --soft-limit -1 --live"));
    let unlimited = read(&mem.join(soft_file));
    assert!(
        unlimited == "max" || unlimited.parse::<u64>().expect("bytes") > 1 << 60,
        "{unlimited}"
    );
    assert!(host
        .virsh_ok(&format!("memtune {name}"))
        .contains("soft_limit     : unlimited"));
    assert!(host
        .virsh_ok(&format!("dumpxml {name}"))
        .contains("<hard_limit unit='KiB'>307200</hard_limit>"));

    // numatune: the restrictive nodeset is in cpuset.mems of the group and its
    // sub-groups; live the nodeset may change, the mode may not.
    let (cpuset, _) = guest_group(pid, "cpuset", "cpuset");
    assert_eq!(read(&cpuset.join("cpuset.mems")), "0");
    host.virsh_ok(&format!("numatune {name} --nodeset 0 --live"));
    assert_eq!(read(&cpuset.join("cpuset.mems")), "0");
    let err = virsh_err(&host, &format!("numatune {name} --mode strict --live"));
    assert!(
        err.contains("can't change numatune mode for running domain"),
        "{err}"
    );
    let missing = (1..64)
        .find(|n| !Path::new(&format!("/sys/devices/system/node/node{n}")).exists())
        .expect("an absent NUMA node");
    let err = virsh_err(
        &host,
        &format!("numatune {name} --nodeset {missing} --live"),
    );
    assert!(
        err.contains(&format!("NUMA node {missing} is unavailable")),
        "{err}"
    );
    assert_eq!(read(&cpuset.join("cpuset.mems")), "0");
    host.virsh_ok(&format!("destroy {name}"));
}

/// Socket ids of the vCPUs QEMU has plugged.
fn plugged_vcpus(host: &QemuHost, name: &str) -> Vec<u64> {
    let out = host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"query-hotpluggable-cpus\"}}'"
    ));
    let reply: serde_json::Value = serde_json::from_str(&out).expect("QMP reply");
    let mut ids: Vec<u64> = reply["return"]
        .as_array()
        .expect("slots")
        .iter()
        .filter(|s| s.get("qom-path").is_some())
        .filter_map(|s| s["props"]["socket-id"].as_u64())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn setvcpu_config_marks_individual_vcpus_and_start_plugs_them() {
    let host = QemuHost::start();
    let name = "cg2";
    let xml = host
        .guest_xml(name)
        .replace("<vcpu>1</vcpu>", "<vcpu current='1'>3</vcpu>");
    let file = host.root().join("cg2.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));

    host.virsh_ok(&format!("setvcpu {name} 2 --enable --config"));
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        inactive.contains("<vcpu placement='static' current='2'>3</vcpu>")
            && inactive.contains("<vcpu id='0' enabled='yes' hotpluggable='no'/>")
            && inactive.contains("<vcpu id='1' enabled='no' hotpluggable='yes'/>")
            && inactive.contains("<vcpu id='2' enabled='yes' hotpluggable='yes'/>"),
        "{inactive}"
    );
    let err = virsh_err(&host, &format!("setvcpu {name} 0 --disable --config"));
    assert!(err.contains("vCPU '0' can't be modified"), "{err}");
    let err = virsh_err(&host, &format!("setvcpu {name} 3 --enable --config"));
    assert!(
        err.contains("vcpu 3 is not present in persistent config"),
        "{err}"
    );

    // Started, QEMU has exactly the enabled vCPUs: 0 and 2, not 1.
    host.virsh_ok(&format!("start {name}"));
    assert_eq!(plugged_vcpus(&host, name), vec![0, 2]);
    host.virsh_ok(&format!("setvcpu {name} 1 --enable --live"));
    assert_eq!(plugged_vcpus(&host, name), vec![0, 1, 2]);
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live.contains("<vcpu id='1' enabled='yes' hotpluggable='yes'/>"),
        "{live}"
    );
    assert_eq!(
        host.virsh_ok(&format!("vcpucount {name} --live --active")),
        "3"
    );
    host.virsh_ok(&format!("destroy {name}"));
}

#[test]
fn spice_graphics_with_autoport_password_and_qxl_video() {
    let host = QemuHost::start();
    let name = "sp1";
    let xml = host.guest_xml(name).replace(
        "</devices>",
        "<graphics type='spice' autoport='yes' passwd='sp1ce'><listen type='address' \
         address='127.0.0.1'/></graphics>\n<video><model type='qxl'/></video>\n</devices>",
    );
    let file = host.root().join("sp1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));

    let live = host.virsh_ok(&format!("dumpxml {name}"));
    let port: u16 = live
        .split("<graphics type='spice' port='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no SPICE port in the live XML:\n{live}"));
    assert!(port >= 5900, "{port}");
    assert!(
        !live.contains("sp1ce"),
        "password shown without --security-info:\n{live}"
    );
    // QEMU's SPICE server listens there and asks for the password.
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the SPICE port");
    let spice = host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"query-spice\"}}'"
    ));
    let reply: serde_json::Value = serde_json::from_str(&spice).expect("QMP reply");
    assert_eq!(
        reply["return"]["port"].as_u64(),
        Some(u64::from(port)),
        "{spice}"
    );
    assert_eq!(reply["return"]["auth"].as_str(), Some("spice"), "{spice}");
    let display = host.virsh_ok(&format!("domdisplay {name}"));
    assert_eq!(display, format!("spice://127.0.0.1:{port}"));
    let with_password = host.virsh_ok(&format!("domdisplay --include-password {name}"));
    assert!(with_password.contains("sp1ce"), "{with_password}");
    let video = host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"qom-get\",\"arguments\":\
         {{\"path\":\"/machine/peripheral/video0\",\"property\":\"type\"}}}}'"
    ));
    assert!(video.contains("qxl-vga"), "{video}");
    host.virsh_ok(&format!("destroy {name}"));
}
