//! NIC bandwidth of a running guest (`virsh domiftune`): inbound shaping set live
//! on the tap (checked with `tc` in the daemon's network namespace), cleared
//! again, inbound and outbound kept in the definition with `--config` (inbound
//! applied at the next start), and libvirt's refusals. (Outbound policing needs the
//! kernel's act_police module, which test hosts may lack, so it is checked in the
//! definitions only.)

mod qemu_support;

use std::fs;
use std::process::Command;

use integration_tests::tools::require_tool;
use qemu_support::QemuHost;

const MAC: &str = "52:54:00:aa:cc:05";

/// `tc <args>` run in the daemon's network namespace.
fn tc(host: &QemuHost, args: &str) -> String {
    let nsenter = require_tool("nsenter", "util-linux");
    require_tool("tc", "iproute2");
    let pid = host.daemon_pid().expect("daemon running").to_string();
    let out = Command::new(nsenter)
        .args(["-t", &pid, "-n", "tc"])
        .args(args.split_whitespace())
        .output()
        .expect("run tc");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn value(host: &QemuHost, args: &str, key: &str) -> String {
    host.virsh_ok(&format!("domiftune {args}"))
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {key} for domiftune {args}"))
}

#[test]
fn nic_bandwidth_changes_on_the_tap_and_in_the_definition() {
    let host = QemuHost::start_in_netns("lvifbr0");
    let name = "if1";
    let xml = host.guest_xml(name).replace(
        "<devices>",
        &format!(
            "<devices><interface type='bridge'><mac address='{MAC}'/>\
             <source bridge='lvifbr0'/><model type='virtio'/></interface>"
        ),
    );
    let file = host.root().join("if1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    let tap = live
        .split("<target dev='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("tap name in the live XML")
        .to_string();

    // Inbound becomes an htb class (kilobytes/s: 1000 KB/s is 8 Mbit/s).
    host.virsh_ok(&format!(
        "domiftune {name} {tap} --live --inbound 1000,2000,512"
    ));
    let classes = tc(&host, &format!("class show dev {tap}"));
    assert!(
        classes.contains("htb")
            && classes.contains("rate 8Mbit")
            && classes.contains("ceil 16Mbit"),
        "{classes}"
    );
    assert_eq!(
        value(&host, &format!("{name} {MAC}"), "inbound.average"),
        "1000"
    );
    assert_eq!(
        value(&host, &format!("{name} {tap}"), "inbound.peak"),
        "2000"
    );
    assert_eq!(
        value(&host, &format!("{name} {tap}"), "outbound.average"),
        "0"
    );
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live.contains("<inbound average='1000' peak='2000' burst='512'/>"),
        "{live}"
    );
    // The definition is untouched by live changes.
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(!inactive.contains("<bandwidth>"), "{inactive}");

    // A new average keeps the other numbers; an average of 0 removes the direction.
    host.virsh_ok(&format!("domiftune {name} {tap} --live --inbound 500"));
    let classes = tc(&host, &format!("class show dev {tap}"));
    assert!(
        classes.contains("rate 4Mbit") && classes.contains("ceil 16Mbit"),
        "{classes}"
    );
    host.virsh_ok(&format!("domiftune {name} {tap} --live --inbound 0"));
    let qdiscs = tc(&host, &format!("qdisc show dev {tap}"));
    assert!(!qdiscs.contains("htb"), "{qdiscs}");
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(!live.contains("<bandwidth>"), "{live}");

    // --config changes only the definition.
    host.virsh_ok(&format!("domiftune {name} {MAC} --config --outbound 64,96"));
    host.virsh_ok(&format!("domiftune {name} {MAC} --config --inbound 250"));
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        inactive.contains("<inbound average='250'/>")
            && inactive.contains("<outbound average='64' peak='96'/>"),
        "{inactive}"
    );
    host.virsh_ok(&format!("domiftune {name} {MAC} --config --outbound 0"));
    assert_eq!(
        value(&host, &format!("{name} {MAC} --config"), "outbound.average"),
        "0"
    );
    assert_eq!(
        value(&host, &format!("{name} {MAC} --config"), "inbound.average"),
        "250"
    );

    // libvirt's refusals.
    let out = host.virsh(&format!("domiftune {name} nosuch0 --live --inbound 10"));
    assert!(
        out.stderr.contains("'nosuch0' is not a known interface"),
        "{out}"
    );
    let out = host.virsh(&format!(
        "domiftune {name} {tap} --live --inbound 10,20,30,5"
    ));
    assert!(out.stderr.contains("Invalid use of 'floor'"), "{out}");

    // The definition's bandwidth is applied at the next start.
    host.virsh_ok(&format!("destroy {name}"));
    host.virsh_ok(&format!("start {name}"));
    let classes = tc(&host, &format!("class show dev {tap}"));
    assert!(classes.contains("rate 2Mbit"), "{classes}");
    host.virsh_ok(&format!("destroy {name}"));
}
