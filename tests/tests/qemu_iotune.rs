//! Per-disk I/O throttling of a booted tiny guest (`virsh blkdeviotune`): `<iotune>`
//! of the definition applied at start, live changes that QEMU's `query-block`
//! shows, `--config` changes kept in the definition, libvirt's refusals; and an
//! NMI injected with `inject-nmi` that the guest kernel reports.

mod qemu_support;

use std::fs;
use std::time::Duration;

use integration_tests::wait_until;
use qemu_support::QemuHost;
use serde_json::Value;

/// The `inserted` entry `query-block` gives for the drive backed by `path`.
fn throttle_of(host: &QemuHost, name: &str, path: &str) -> Value {
    let out = host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"query-block\"}}'"
    ));
    let reply: Value = serde_json::from_str(&out).expect("QMP reply");
    reply["return"]
        .as_array()
        .expect("block list")
        .iter()
        .find(|b| b["inserted"]["file"].as_str() == Some(path))
        .map(|b| b["inserted"].clone())
        .unwrap_or_else(|| panic!("no drive for {path} in {out}"))
}

/// `name: value` lines of `virsh blkdeviotune` as pairs.
fn iotune(host: &QemuHost, args: &str) -> Vec<(String, String)> {
    host.virsh_ok(&format!("blkdeviotune {args}"))
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {pairs:?}"))
}

#[test]
fn disk_throttling_applies_at_start_live_and_in_the_definition() {
    let host = QemuHost::start();
    let name = "io1";
    let disk = host.root().join("io1-disk.raw");
    fs::File::create(&disk)
        .and_then(|f| f.set_len(8 << 20))
        .expect("disk image");
    let disk_path = disk.display().to_string();
    let xml = host
        .guest_xml(name)
        // A slow TCG boot must not fail the kernel's timer check.
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check")
        .replace(
            "<devices>",
            &format!(
                "<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='{disk_path}'/><target dev='vda' bus='virtio'/>\
             <iotune><total_bytes_sec>1048576</total_bytes_sec>\
             <read_iops_sec>400</read_iops_sec></iotune></disk>"
            ),
        );
    let file = host.root().join("io1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));

    // Inactive: the definition's values, and no NMI for a guest that is off.
    let config = iotune(&host, &format!("{name} vda"));
    assert_eq!(value(&config, "total_bytes_sec"), "1048576");
    assert_eq!(value(&config, "read_iops_sec"), "400");
    assert_eq!(config.len(), 20, "{config:?}");
    let out = host.virsh(&format!("inject-nmi {name}"));
    assert!(out.stderr.contains("domain is not running"), "{out}");

    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);

    // Applied at start.
    let live = throttle_of(&host, name, &disk_path);
    assert_eq!(live["bps"], 1048576, "{live}");
    assert_eq!(live["iops_rd"], 400, "{live}");
    let shown = iotune(&host, &format!("{name} vda --live"));
    assert_eq!(value(&shown, "total_bytes_sec"), "1048576");

    // Live change: giving read/write of a set resets its total; other sets stay.
    host.virsh_ok(&format!(
        "blkdeviotune {name} vda --live --read-bytes-sec 1000000 --write-bytes-sec 2000000 \
         --write-bytes-sec-max 3000000 --group-name grp1"
    ));
    let live = throttle_of(&host, name, &disk_path);
    assert_eq!(live["bps"], 0, "{live}");
    assert_eq!(live["bps_rd"], 1000000, "{live}");
    assert_eq!(live["bps_wr"], 2000000, "{live}");
    assert_eq!(live["bps_wr_max"], 3000000, "{live}");
    assert_eq!(live["iops_rd"], 400, "{live}");
    assert_eq!(live["group"], "grp1", "{live}");
    let shown = iotune(&host, &format!("{name} vda"));
    assert_eq!(value(&shown, "write_bytes_sec_max"), "3000000");
    assert_eq!(value(&shown, "group_name"), "grp1");
    let live_xml = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live_xml.contains("<read_bytes_sec>1000000</read_bytes_sec>"),
        "{live_xml}"
    );
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        inactive.contains("<total_bytes_sec>1048576</total_bytes_sec>")
            && !inactive.contains("read_bytes_sec"),
        "{inactive}"
    );

    // libvirt's refusals.
    let out = host.virsh(&format!(
        "blkdeviotune {name} vda --total-iops-sec 5 --read-iops-sec 5"
    ));
    assert!(
        out.stderr
            .contains("total and read/write of iops_sec cannot be set at the same time"),
        "{out}"
    );
    let out = host.virsh(&format!("blkdeviotune {name} vda --total-iops-sec-max 50"));
    assert!(
        out.stderr
            .contains("value 'total_iops_sec_max' cannot be set if 'total_iops_sec' is not set"),
        "{out}"
    );
    let out = host.virsh(&format!("blkdeviotune {name} vdz --total-iops-sec 5"));
    assert!(
        out.stderr.contains("disk 'vdz' not found in domain"),
        "{out}"
    );

    // --config changes only the definition.
    host.virsh_ok(&format!(
        "blkdeviotune {name} vda --config --total-iops-sec 300"
    ));
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        inactive.contains("<total_iops_sec>300</total_iops_sec>")
            && !inactive.contains("read_iops_sec")
            && inactive.contains("<total_bytes_sec>1048576</total_bytes_sec>"),
        "{inactive}"
    );
    assert_eq!(throttle_of(&host, name, &disk_path)["iops"], 0);

    // The guest kernel reports the NMI on its console.
    host.virsh_ok(&format!("inject-nmi {name}"));
    let serial = host.serial_log(name);
    let reported = wait_until(Duration::from_secs(60), || {
        fs::read_to_string(&serial).is_ok_and(|t| t.contains("NMI received"))
    });
    assert!(
        reported,
        "no NMI on the guest console:\n{}",
        fs::read_to_string(&serial).unwrap_or_default()
    );

    host.virsh_ok(&format!("destroy {name}"));
    host.virsh_ok(&format!("start {name}"));
    let live = throttle_of(&host, name, &disk_path);
    assert_eq!(live["iops"], 300, "{live}");
    assert_eq!(live["bps"], 1048576, "{live}");
    host.virsh_ok(&format!("destroy {name}"));
}
