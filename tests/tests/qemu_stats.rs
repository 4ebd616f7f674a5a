//! Statistics of a running guest (`domstats`, `domblkstat`, `domblkinfo`,
//! `dommemstat`, `domifstat`, `cpu-stats`, `nodecpustats`, `nodememstats`)
//! compared with libvirtd 9.0 running the same guest, and the same calls through
//! python3-libvirt.

mod qemu_reference;
mod qemu_support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use integration_tests::tools::require_tool;
use integration_tests::{python, virsh, wait_until};
use qemu_reference::{GuestReaper, ReferenceDaemon};
use qemu_support::{tiny_guest, QemuHost, BOOT_TIMEOUT};

/// The tiny guest with a qcow2 virtio disk, a user NIC and a virtio balloon.
fn guest_xml(name: &str, dir: &Path) -> String {
    let (kernel, initrd) = tiny_guest();
    let image = dir.join(format!("{name}.qcow2"));
    let status = Command::new(require_tool("qemu-img", "qemu-utils"))
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&image)
        .arg("64M")
        .status()
        .expect("run qemu-img");
    assert!(status.success(), "qemu-img create failed");
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>{}</kernel>
    <initrd>{}</initrd>
    <cmdline>console=ttyS0 quiet no_timer_check</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><mac address='52:54:00:aa:bb:01'/><model type='virtio'/></interface>
    <serial type='file'><source path='{}'/></serial>
    <memballoon model='virtio'/>
  </devices>
</domain>
",
        kernel.display(),
        initrd.display(),
        image.display(),
        dir.join(format!("{name}.serial")).display()
    )
}

fn wait_booted(serial: &Path) {
    let booted = wait_until(BOOT_TIMEOUT, || {
        fs::read_to_string(serial).is_ok_and(|t| t.contains("TINY-GUEST-BOOTED"))
    });
    assert!(
        booted,
        "guest did not boot: {}",
        fs::read_to_string(serial).unwrap_or_default()
    );
}

/// The parameter names `virsh domstats` prints for one domain.
fn domstats_keys(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|l| l.trim().split_once('='))
        .map(|(key, _)| key.to_string())
        .collect()
}

/// The first word of each line: the field names of `dommemstat` and similar.
fn first_words(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|w| w.trim_end_matches(':').to_string())
        .collect()
}

/// The field names of `domblkstat DOMAIN vda` (second word of each line).
fn second_words(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(str::to_string)
        .collect()
}

#[test]
fn statistics_have_libvirts_names_and_python_reads_them() {
    let host = QemuHost::start();
    let ours = format!("st{}", std::process::id());
    let theirs = format!("rst{}", std::process::id());
    let xml = host.root().join("ours.xml");
    fs::write(&xml, guest_xml(&ours, host.root())).expect("write xml");
    host.virsh_ok(&format!("define {}", xml.display()));
    host.virsh_ok(&format!("start {ours}"));

    let real = ReferenceDaemon::start("");
    let _reaper = GuestReaper(theirs.clone());
    let their_xml = host.root().join("theirs.xml");
    fs::write(&their_xml, guest_xml(&theirs, host.root())).expect("write xml");
    real.virsh_ok(&format!("define {}", their_xml.display()));
    real.virsh_ok(&format!("start {theirs}"));
    wait_booted(&host.root().join(format!("{ours}.serial")));
    wait_booted(&host.root().join(format!("{theirs}.serial")));

    // domstats: the same groups and parameter names for the same guest.
    let our_keys = domstats_keys(&host.virsh_ok(&format!("domstats {ours}")));
    let their_keys = domstats_keys(&real.virsh_ok(&format!("domstats {theirs}")));
    assert_eq!(
        our_keys,
        their_keys,
        "only ours: {:?}\nonly theirs: {:?}",
        our_keys.difference(&their_keys).collect::<Vec<_>>(),
        their_keys.difference(&our_keys).collect::<Vec<_>>()
    );
    for group in ["--state", "--vcpu", "--block", "--balloon", "--interface"] {
        assert_eq!(
            domstats_keys(&host.virsh_ok(&format!("domstats {group} {ours}"))),
            domstats_keys(&real.virsh_ok(&format!("domstats {group} {theirs}"))),
            "domstats {group}"
        );
    }

    // The per-call statistics print the same fields.
    let same_fields = |command: &str, fields: fn(&str) -> Vec<String>| {
        let mine = host.virsh_ok(&command.replace("DOM", &ours));
        let real_out = real.virsh_ok(&command.replace("DOM", &theirs));
        assert_eq!(
            fields(&mine),
            fields(&real_out),
            "{command}:\n{mine}\n---\n{real_out}"
        );
        mine
    };
    same_fields("domblkstat DOM vda", second_words);
    same_fields("dommemstat DOM", first_words);
    same_fields("cpu-stats DOM --total", first_words);
    same_fields("nodememstats", first_words);
    same_fields("nodecpustats", first_words);
    let info = same_fields("domblkinfo DOM vda", first_words);
    assert!(info.contains("Capacity:       67108864"), "{info}");
    let all = host.virsh_ok(&format!("domblkinfo {ours} --all"));
    assert!(all.contains("vda      67108864"), "{all}");

    // dommemstat --period sets how often the guest's balloon reports.
    host.virsh_ok(&format!("dommemstat {ours} --period 2 --live"));
    let live = host.virsh_ok(&format!("dumpxml {ours}"));
    assert!(live.contains("<stats period='2'/>"), "{live}");
    let period = host.virsh_ok(&format!(
        "qemu-monitor-command {ours} '{{\"execute\":\"qom-get\",\"arguments\":         {{\"path\":\"/machine/peripheral/balloon0\",\"property\":\"guest-stats-polling-interval\"}}}}'"
    ));
    assert!(period.contains("\"return\":2"), "{period}");

    // Errors as libvirt words them.
    for (command, wanted) in [
        ("domblkstat DOM vdz", "invalid argument: invalid path: vdz"),
        (
            "domifstat DOM nosuch",
            "invalid argument: 'nosuch' is not a known interface",
        ),
        (
            "domifstat DOM 52:54:00:aa:bb:01",
            "internal error: Interface name not provided",
        ),
    ] {
        let out = host.virsh(&command.replace("DOM", &ours));
        assert!(
            !out.success() && out.stderr.contains(wanted),
            "{command}: {out}"
        );
        let out = virsh(&real.uri(), &command.replace("DOM", &theirs));
        assert!(out.stderr.contains(wanted), "reference {command}: {out}");
    }

    // python3-libvirt: bulk statistics, per-call statistics, a config attach.
    let extra = host.root().join("extra.img");
    fs::write(&extra, vec![0u8; 1 << 20]).expect("write image");
    let out = python(
        "domain_stats.py",
        &[&host.uri(), &ours, extra.to_str().expect("utf-8 path")],
    );
    assert!(out.success(), "domain_stats.py: {out}");
    let answer: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("json");
    let keys: BTreeSet<String> = answer["all"][&ours]
        .as_array()
        .expect("record of the guest")
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    assert!(keys.is_superset(&their_keys), "{keys:?}");
    assert_eq!(answer["state"], 1);
    assert!(answer["listed"]
        .as_array()
        .is_some_and(|k| k.iter().any(|k| k == "block.0.rd.reqs")));
    assert_eq!(answer["blockStats"].as_array().map(Vec::len), Some(5));
    assert!(answer["blockStatsFlags"]
        .as_array()
        .is_some_and(|k| k.iter().any(|k| k == "rd_operations")));
    assert!(answer["memoryStats"]
        .as_array()
        .is_some_and(|k| k.iter().any(|k| k == "actual") && k.iter().any(|k| k == "rss")));
    assert_eq!(
        answer["interfaceStats"],
        "internal error: Interface name not provided"
    );
    assert_eq!(answer["config_has_vdd"], true);
    assert_eq!(answer["live_has_vdd"], false);
}
