//! virt-install and virt-xml (Debian `virtinst`) against the qemu driver: a guest
//! installed with `--import` is defined and running with virt-install's default
//! devices, virt-xml edits its definition, and the tiny guest boots with the devices
//! virt-install puts into a new guest's XML.

mod qemu_support;

use std::fs;
use std::process::Command;
use std::time::Duration;

use integration_tests::tools::{require_tool, run_with_deadline, CmdOutput};
use qemu_support::QemuHost;

const TOOL_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs a virtinst tool with a clean environment and a private HOME (it keeps logs
/// under ~/.cache).
fn virtinst(host: &QemuHost, tool: &str, args: &[&str]) -> CmdOutput {
    let program = require_tool(tool, "virtinst");
    let mut command = Command::new(program);
    command
        .env("LC_ALL", "C")
        .env("HOME", host.root())
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env_remove("VIRSH_DEFAULT_CONNECT_URI")
        .arg("--connect")
        .arg(host.uri())
        .args(args);
    run_with_deadline(&mut command, TOOL_TIMEOUT)
}

#[test]
fn virt_install_import_runs_a_guest_and_virt_xml_edits_it() {
    let host = QemuHost::start();
    let qemu_img = require_tool("qemu-img", "qemu-utils");
    let disk = host.root().join("t1.qcow2");
    let made = run_with_deadline(
        Command::new(qemu_img)
            .args(["create", "-f", "qcow2"])
            .arg(&disk)
            .arg("64M"),
        TOOL_TIMEOUT,
    );
    assert!(made.success(), "qemu-img: {made}");
    // A bare path, as a user types it: virt-install resolves it through the
    // storage API (a pool for its directory, the volume in it).
    let disk_arg = disk.display().to_string();
    let out = virtinst(
        &host,
        "virt-install",
        &[
            "--import",
            "--name",
            "t1",
            "--memory",
            "256",
            "--vcpus",
            "1",
            "--disk",
            &disk_arg,
            "--osinfo",
            "detect=on,require=off",
            "--graphics",
            "vnc",
            "--noautoconsole",
            "--virt-type",
            "qemu",
            "--network",
            "none",
        ],
    );
    assert!(
        out.success() && !out.stderr.contains("ERROR"),
        "virt-install: {out}\n{}",
        host.diagnostics()
    );
    assert_eq!(host.virsh_ok("domstate t1"), "running");
    let xml = host.virsh_ok("dumpxml t1");
    for expected in [
        "<controller type='usb' index='0' model='ich9-ehci1'>",
        "<controller type='usb' index='0' model='ich9-uhci3'>",
        "<input type='tablet' bus='usb'>",
        "<graphics type='vnc'",
        "<model type='vga' vram='16384' heads='1' primary='yes'/>",
    ] {
        assert!(xml.contains(expected), "missing {expected}:\n{xml}");
    }
    // The guest really has the USB2 set and the tablet.
    let tree = host.virsh_ok("qemu-monitor-command t1 --hmp 'info usb'");
    assert!(tree.contains("Tablet"), "{tree}");
    assert!(host.virsh_ok("vncdisplay t1").starts_with("127.0.0.1:"));

    let out = virtinst(
        &host,
        "virt-xml",
        &["t1", "--edit", "--memory", "300", "--define"],
    );
    assert!(out.success(), "virt-xml: {out}");
    let inactive = host.virsh_ok("dumpxml --inactive t1");
    assert!(
        inactive.contains("<memory unit='KiB'>307200</memory>"),
        "{inactive}"
    );
}

#[test]
fn tiny_guest_boots_with_virt_install_default_devices() {
    let host = QemuHost::start();
    let (kernel, initrd) = qemu_support::tiny_guest();
    let xml = format!(
        r#"<domain type="qemu">
  <name>vi</name>
  <memory>131072</memory>
  <vcpu current="1">2</vcpu>
  <os>
    <type arch="x86_64" machine="pc">hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet no_timer_check</cmdline>
  </os>
  <features><acpi/><apic/><vmport state="off"/></features>
  <clock offset="utc">
    <timer name="rtc" tickpolicy="catchup"/>
    <timer name="pit" tickpolicy="delay"/>
    <timer name="hpet" present="no"/>
  </clock>
  <pm><suspend-to-mem enabled="no"/><suspend-to-disk enabled="no"/></pm>
  <devices>
    <controller type="usb" model="ich9-ehci1"/>
    <controller type="usb" model="ich9-uhci1"><master startport="0"/></controller>
    <controller type="usb" model="ich9-uhci2"><master startport="2"/></controller>
    <controller type="usb" model="ich9-uhci3"><master startport="4"/></controller>
    <serial type="file"><source path="{serial}"/></serial>
    <channel type="unix"><target type="virtio" name="org.qemu.guest_agent.0"/></channel>
    <input type="tablet" bus="usb"/>
    <graphics type="vnc" port="-1"/>
    <sound model="ich9"/>
    <video><model type="vga"/></video>
    <memballoon model="virtio"/>
    <rng model="virtio"><backend model="random">/dev/urandom</backend></rng>
  </devices>
</domain>"#,
        kernel = kernel.display(),
        initrd = initrd.display(),
        serial = host.serial_log("vi").display()
    );
    let file = host.root().join("vi.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start vi");
    host.wait_booted("vi", 1);
    assert_eq!(host.virsh_ok("domstate vi"), "running");
    // One vCPU online, a second one hot-pluggable.
    let cpus = host.virsh_ok("qemu-monitor-command vi '{\"execute\":\"query-hotpluggable-cpus\"}'");
    assert_eq!(cpus.matches("\"type\"").count(), 2, "{cpus}");
    assert_eq!(cpus.matches("qom-path").count(), 1, "{cpus}");
    let tree = host.virsh_ok("qemu-monitor-command vi --hmp 'info pci'");
    for device in ["USB controller", "Audio controller", "VGA controller"] {
        assert!(tree.contains(device), "no {device}:\n{tree}");
    }
    // The guest agent channel's socket is where libvirt puts it.
    let socket = host
        .root()
        .join("var/lib/libvirt/qemu/channel/target/domain-vi/org.qemu.guest_agent.0");
    assert!(socket.exists(), "no channel socket {}", socket.display());
    let live = host.virsh_ok("dumpxml vi");
    assert!(
        live.contains(&format!(
            "<source mode='bind' path='{}'/>",
            socket.display()
        )),
        "{live}"
    );
    assert!(!host
        .virsh_ok("dumpxml --inactive vi")
        .contains("<source mode='bind'"));
}

/// For a modern OS virt-install picks q35 and PCI Express root ports; the guest runs
/// with its devices behind them, as libvirt places them.
#[test]
fn virt_install_q35_guest_for_a_modern_os() {
    let host = QemuHost::start();
    let qemu_img = require_tool("qemu-img", "qemu-utils");
    let disk = host.root().join("q1.qcow2");
    let made = run_with_deadline(
        Command::new(qemu_img)
            .args(["create", "-f", "qcow2"])
            .arg(&disk)
            .arg("64M"),
        TOOL_TIMEOUT,
    );
    assert!(made.success(), "qemu-img: {made}");
    let disk_arg = format!(
        "type=file,source.file={},device=disk,driver.type=qcow2",
        disk.display()
    );
    let out = virtinst(
        &host,
        "virt-install",
        &[
            "--import",
            "--name",
            "q1",
            "--memory",
            "256",
            "--disk",
            &disk_arg,
            "--osinfo",
            "linux2022",
            "--graphics",
            "vnc",
            "--noautoconsole",
            "--virt-type",
            "qemu",
            "--network",
            "none",
        ],
    );
    assert!(out.success(), "virt-install: {out}\n{}", host.diagnostics());
    assert_eq!(host.virsh_ok("domstate q1"), "running");
    let xml = host.virsh_ok("dumpxml q1");
    assert!(xml.contains("machine='pc-q35-7.2'"), "{xml}");
    assert!(
        xml.contains("<target chassis='1' port='0x10'/>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/>"),
        "{xml}"
    );
    // The virtio disk sits behind a root port (bus 1 or above), as `info pci` shows.
    let pci = host.virsh_ok("qemu-monitor-command q1 --hmp 'info pci'");
    assert!(pci.contains("PCI bridge"), "{pci}");
    let disk_bus = pci
        .split("Bus ")
        .find(|block| block.contains("SCSI controller"))
        .and_then(|block| block.split(',').next())
        .and_then(|n| n.trim().parse::<u32>().ok());
    assert!(disk_bus.is_some_and(|b| b > 0), "{pci}");
}
