//! Hot plug on a booted tiny guest: a disk attached with `attach-disk --live`
//! appears in the guest (its initramfs prints new block devices on the serial
//! console) and goes again with `detach-disk --live`, with a `device-removed`
//! event; NICs, CD-ROM media, `--config` changes and `detach-device-alias`; bad
//! input answered with libvirt's errors and the definition left unchanged.

mod qemu_support;

use std::fs;
use std::time::Duration;

use integration_tests::wait_until;
use qemu_support::{expect_event, listen_events, QemuHost, BOOT_TIMEOUT};

fn serial_has(host: &QemuHost, name: &str, text: &str) -> bool {
    fs::read_to_string(host.serial_log(name)).is_ok_and(|t| t.contains(text))
}

fn wait_serial(host: &QemuHost, name: &str, text: &str) {
    let seen = wait_until(BOOT_TIMEOUT, || serial_has(host, name, text));
    assert!(
        seen,
        "the guest never printed '{text}'; serial:\n{}",
        fs::read_to_string(host.serial_log(name)).unwrap_or_default()
    );
}

/// Defines and boots the tiny guest with a virtio disk, an IDE CD-ROM and a NIC.
fn boot_guest(host: &QemuHost, name: &str) {
    let root = host.root();
    fs::write(root.join("base.img"), vec![0u8; 4 << 20]).expect("write base image");
    fs::write(root.join("media.iso"), vec![0u8; 1 << 20]).expect("write media");
    let xml = host
        .guest_xml(name)
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check");
    let xml = xml.replace(
        "<devices>",
        &format!(
            "<devices>
    <disk type='file' device='disk'><source file='{}'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><source file='{}'/><target dev='hdc' bus='ide'/></disk>
    <interface type='user'><mac address='52:54:00:aa:bb:02'/><model type='virtio'/></interface>",
            root.join("base.img").display(),
            root.join("media.iso").display()
        ),
    );
    let file = root.join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
}

fn virsh_err(host: &QemuHost, commands: &str) -> String {
    let out = host.virsh(commands);
    assert!(!out.success(), "virsh {commands} succeeded: {out}");
    out.stderr
}

#[test]
fn disks_and_nics_come_and_go_on_a_running_guest() {
    let mut host = QemuHost::start();
    let name = "hp1";
    boot_guest(&host, name);
    let events = listen_events(&host);
    let extra = host.root().join("extra.img");
    fs::write(&extra, vec![0u8; 2 << 20]).expect("write extra image");

    // Live disk: the guest sees it, statistics and the live XML name it.
    host.virsh_ok(&format!(
        "attach-disk {name} {} vdb --live",
        extra.display()
    ));
    wait_serial(&host, name, "TINY-GUEST-DISK-ADDED");
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(live.contains("<alias name='virtio-disk1'/>"), "{live}");
    assert!(host.virsh_ok(&format!("domblklist {name}")).contains("vdb"));
    host.virsh_ok(&format!("domblkstat {name} vdb"));
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(!inactive.contains("dev='vdb'"), "{inactive}");

    // Bad input: libvirt's errors, definitions unchanged.
    let before_live = host.virsh_ok(&format!("dumpxml {name}"));
    let err = virsh_err(
        &host,
        &format!("attach-disk {name} {} vdb --live", extra.display()),
    );
    assert!(
        err.contains("XML error: target 'vdb' duplicated for disk sources"),
        "{err}"
    );
    let err = virsh_err(
        &host,
        &format!("attach-disk {name} /nonexistent.img vdc --live"),
    );
    assert!(
        err.contains("Cannot access storage file '/nonexistent.img': No such file or directory"),
        "{err}"
    );
    let err = virsh_err(
        &host,
        &format!("attach-disk {name} {} vda --config", extra.display()),
    );
    assert!(
        err.contains("Requested operation is not valid: target vda already exists"),
        "{err}"
    );
    let missing = host.root().join("missing.xml");
    fs::write(
        &missing,
        "<disk type='file' device='disk'><source file='/x.img'/><target dev='vdz' bus='virtio'/></disk>",
    )
    .expect("write xml");
    let err = virsh_err(
        &host,
        &format!("detach-device {name} {} --live", missing.display()),
    );
    assert!(
        err.contains("device not found: disk vdz not found"),
        "{err}"
    );
    let err = virsh_err(
        &host,
        &format!("detach-device {name} {} --config", missing.display()),
    );
    assert!(
        err.contains("device not found: no target device vdz"),
        "{err}"
    );
    // QEMU itself refuses an image that is not in the format named.
    let raw = host.root().join("raw.img");
    fs::write(&raw, vec![0u8; 1 << 20]).expect("write raw image");
    let err = virsh_err(
        &host,
        &format!(
            "attach-disk {name} {} vdc --driver qemu --subdriver qcow2 --live",
            raw.display()
        ),
    );
    assert!(
        err.contains("internal error: unable to execute QEMU command")
            && err.contains("Image is not in qcow2 format"),
        "{err}"
    );
    // A PCI slot that is taken is refused before QEMU is asked.
    let taken = host.root().join("taken.xml");
    fs::write(
        &taken,
        format!(
            "<disk type='file' device='disk'><source file='{}'/><target dev='vdc' bus='virtio'/>\
             <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></disk>",
            extra.display()
        ),
    )
    .expect("write xml");
    let err = virsh_err(
        &host,
        &format!("attach-device {name} {} --live", taken.display()),
    );
    assert!(err.contains("PCI"), "{err}");
    let err = virsh_err(&host, &format!("detach-device-alias {name} nope"));
    assert!(
        err.contains("internal error: no device found with alias nope"),
        "{err}"
    );
    assert_eq!(host.virsh_ok(&format!("dumpxml {name}")), before_live);
    assert_eq!(
        host.virsh_ok(&format!("dumpxml --inactive {name}")),
        inactive
    );

    // A restarted daemon knows the plugged disk under its alias.
    drop(events);
    host.kill_daemon();
    host.start_daemon();
    let mut events = listen_events(&host);
    assert!(host.virsh_ok(&format!("domblklist {name}")).contains("vdb"));

    // Live unplug: the guest loses the disk, clients hear device-removed.
    host.virsh_ok(&format!("detach-disk {name} vdb --live"));
    wait_serial(&host, name, "TINY-GUEST-DISK-REMOVED");
    expect_event(&mut events, name, "virtio-disk1");
    assert!(!host.virsh_ok(&format!("domblklist {name}")).contains("vdb"));

    // --config only touches the persistent definition.
    host.virsh_ok(&format!(
        "attach-disk {name} {} vdc --config",
        extra.display()
    ));
    assert!(host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("dev='vdc'"));
    assert!(!host
        .virsh_ok(&format!("dumpxml {name}"))
        .contains("dev='vdc'"));
    host.virsh_ok(&format!("detach-disk {name} vdc --config"));
    assert!(!host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("dev='vdc'"));

    // CD-ROM media: eject and insert through update-device.
    host.virsh_ok(&format!("change-media {name} hdc --eject --live"));
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(!live.contains("media.iso"), "{live}");
    host.virsh_ok(&format!(
        "change-media {name} hdc {} --insert --live",
        host.root().join("media.iso").display()
    ));
    assert!(host
        .virsh_ok(&format!("dumpxml {name}"))
        .contains("media.iso"));

    // A NIC: plugged with the next alias and a free slot, removed by alias.
    let nic = host.root().join("nic.xml");
    fs::write(
        &nic,
        "<interface type='user'><mac address='52:54:00:aa:bb:03'/><model type='virtio'/></interface>",
    )
    .expect("write nic xml");
    host.virsh_ok(&format!("attach-device {name} {} --live", nic.display()));
    let ifaces = host.virsh_ok(&format!("domiflist {name}"));
    assert!(ifaces.contains("52:54:00:aa:bb:03"), "{ifaces}");
    assert!(host
        .virsh_ok(&format!("dumpxml {name}"))
        .contains("<alias name='net1'/>"));
    host.virsh_ok(&format!("detach-device-alias {name} net1"));
    expect_event(&mut events, name, "net1");
    let gone = wait_until(Duration::from_secs(10), || {
        !host
            .virsh_ok(&format!("domiflist {name}"))
            .contains("52:54:00:aa:bb:03")
    });
    assert!(gone, "the NIC stayed");
}

/// `ip -o link show DEV` in the daemon's network namespace.
fn link_in_daemon_netns(host: &QemuHost, dev: &str) -> String {
    let nsenter = integration_tests::tools::require_tool("nsenter", "util-linux");
    let pid = host.daemon_pid().expect("daemon running").to_string();
    let out = std::process::Command::new(nsenter)
        .args(["-t", &pid, "-n", "ip", "-o", "link", "show", dev])
        .output()
        .expect("run nsenter");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_bridge_nic_plugged_live_gets_a_tap_with_link_and_statistics() {
    let bridge = "lvhpbr0";
    let host = QemuHost::start_in_netns(bridge);
    let name = "hp2";
    host.define_guest(name);
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
    let nic = host.root().join("bridge-nic.xml");
    fs::write(
        &nic,
        format!(
            "<interface type='bridge'><mac address='52:54:00:aa:bb:04'/>\
             <source bridge='{bridge}'/><model type='virtio'/></interface>"
        ),
    )
    .expect("write nic xml");
    // virsh's attach-interface shortcut.
    host.virsh_ok(&format!(
        "attach-interface {name} bridge {bridge} --model virtio --mac 52:54:00:aa:bb:04 --live"
    ));
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(live.contains("<target dev='vnet0'/>"), "{live}");
    assert!(live.contains("<alias name='net0'/>"), "{live}");
    // The tap is on the bridge, held open by QEMU: it has link.
    let link = link_in_daemon_netns(&host, "vnet0");
    assert!(
        link.contains(&format!("master {bridge}")) && link.contains("LOWER_UP"),
        "{link}"
    );
    let stats = host.virsh_ok(&format!("domifstat {name} vnet0"));
    assert!(stats.contains("vnet0 rx_bytes"), "{stats}");
    let domstats = host.virsh_ok(&format!("domstats --interface {name}"));
    assert!(
        domstats.contains("net.count=1") && domstats.contains("net.0.name=vnet0"),
        "{domstats}"
    );
    // Unplugged: the NIC leaves the guest and its tap goes.
    host.virsh_ok(&format!("attach-device {name} {} --config", nic.display()));
    assert!(host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("52:54:00:aa:bb:04"));
    host.virsh_ok(&format!(
        "detach-interface {name} bridge --mac 52:54:00:aa:bb:04 --live --config"
    ));
    assert!(!host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("52:54:00:aa:bb:04"));
    let gone = wait_until(Duration::from_secs(20), || {
        !host.virsh_ok(&format!("dumpxml {name}")).contains("vnet0")
            && link_in_daemon_netns(&host, "vnet0").is_empty()
    });
    assert!(gone, "the NIC or its tap stayed");
}
