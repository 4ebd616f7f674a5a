//! Hot plug of the device kinds besides virtio disks and NICs on a booted tiny guest:
//! a SCSI disk (its virtio-scsi controller plugged with it), input devices, an RNG,
//! a watchdog and a PCI serial port appear in QEMU (`qom-list` of its peripherals)
//! and go again, with `device-removed` events; the kinds libvirt 9.0 refuses, with
//! its errors; `--config` changes with addresses and user aliases; bad input leaving
//! both definitions as they were; a VNC password changed live, checked with a VNC
//! client handshake.

mod qemu_support;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration_tests::tools::require_python_libvirt;
use integration_tests::wait_until;
use qemu_support::{expect_event, listen_events, QemuHost};

/// One guest at a time: two TCG guests booting together on a loaded host can
/// miss the boot deadline.
static ONE_GUEST: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_guest() -> std::sync::MutexGuard<'static, ()> {
    ONE_GUEST.lock().unwrap_or_else(|e| e.into_inner())
}

/// The ids of the devices QEMU holds (`/machine/peripheral`), one per line.
fn peripherals(host: &QemuHost, name: &str) -> String {
    host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"qom-list\",\"arguments\":{{\"path\":\"/machine/peripheral\"}}}}'"
    ))
}

fn qemu_has(host: &QemuHost, name: &str, id: &str) -> bool {
    peripherals(host, name).contains(&format!("\"name\":\"{id}\""))
}

fn wait_qemu(host: &QemuHost, name: &str, id: &str, present: bool) {
    let ok = wait_until(Duration::from_secs(30), || {
        qemu_has(host, name, id) == present
    });
    assert!(
        ok,
        "QEMU {} device '{id}': {}",
        if present { "lacks" } else { "still has" },
        peripherals(host, name)
    );
}

fn write(host: &QemuHost, file: &str, xml: &str) -> String {
    let path = host.root().join(file);
    fs::write(&path, xml).expect("write device xml");
    path.display().to_string()
}

fn virsh_err(host: &QemuHost, commands: &str) -> String {
    let out = host.virsh(commands);
    assert!(!out.success(), "virsh {commands} succeeded: {out}");
    out.stderr
}

/// Runs a python3-libvirt script with the URI and guest name as arguments.
fn python(host: &QemuHost, name: &str, script: &str) -> String {
    let out = Command::new(require_python_libvirt())
        .args(["-c", script, &host.uri(), name])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A VNC client's password handshake (RFB 3.8, security type 2, DES of the
/// challenge) on the display's socket: "OK" or "FAIL".
const VNC_AUTH: &str = r#"
import socket, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
path, password = sys.argv[1], sys.argv[2].encode()
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(path)
def read(n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise SystemExit("closed")
        data += chunk
    return data
read(12)
s.sendall(b"RFB 003.008\n")
types = read(read(1)[0])
assert 2 in types, types
s.sendall(b"\x02")
challenge = read(16)
key = bytes(int("{:08b}".format(b)[::-1], 2) for b in password[:8].ljust(8, b"\0"))
enc = Cipher(algorithms.TripleDES(key), modes.ECB()).encryptor()
s.sendall(enc.update(challenge) + enc.finalize())
print("OK" if read(4) == b"\0\0\0\0" else "FAIL")
"#;

fn vnc_auth(socket: &Path, password: &str) -> String {
    let out = Command::new(integration_tests::tools::PYTHON)
        .args(["-W", "ignore", "-c", VNC_AUTH])
        .arg(socket)
        .arg(password)
        .output()
        .expect("run python3 (python3-cryptography)");
    assert!(
        out.status.success(),
        "VNC handshake failed to run (it needs the Debian package python3-cryptography): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn boot_guest(host: &QemuHost, name: &str, vnc: &Path) {
    // no_timer_check: a loaded host's TCG guest otherwise fails the kernel's
    // timer check now and then.
    let xml = host
        .guest_xml(name)
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check")
        .replace(
            "<devices>",
            &format!(
                "<devices>\n    <graphics type='vnc' socket='{}' passwd='first-pw'/>",
                vnc.display()
            ),
        );
    let file = write(host, &format!("{name}.xml"), &xml);
    host.virsh_ok(&format!("define {file}"));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
}

#[test]
fn other_device_kinds_come_and_go_on_a_running_guest() {
    let _one = one_guest();
    let host = QemuHost::start();
    let name = "hpd1";
    let vnc = host.root().join("vnc.sock");
    boot_guest(&host, name, &vnc);
    let mut events = listen_events(&host);

    // A SCSI disk: its controller is plugged first, both show in QEMU.
    let image = host.root().join("scsi.img");
    fs::write(&image, vec![0u8; 1 << 20]).expect("write image");
    let scsi_disk = write(
        &host,
        "scsi-disk.xml",
        &format!(
            "<disk type='file' device='disk'><source file='{}'/><target dev='sda' bus='scsi'/></disk>",
            image.display()
        ),
    );
    host.virsh_ok(&format!("attach-device {name} {scsi_disk} --live"));
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live.contains("<controller type='scsi' index='0' model='virtio-scsi'>")
            && live.contains("<alias name='scsi0'/>")
            && live.contains("<alias name='scsi0-0-0-0'/>")
            && live.contains("<address type='drive' controller='0' bus='0' target='0' unit='0'/>"),
        "{live}"
    );
    wait_qemu(&host, name, "scsi0", true);
    wait_qemu(&host, name, "scsi0-0-0-0", true);
    // The controller is busy while the disk is on it.
    let controller = write(
        &host,
        "scsi-controller.xml",
        "<controller type='scsi' index='0' model='virtio-scsi'/>",
    );
    let err = virsh_err(&host, &format!("detach-device {name} {controller} --live"));
    assert!(
        err.contains("device cannot be detached: device is busy"),
        "{err}"
    );

    // Bad input: libvirt's errors, both definitions unchanged.
    let before_live = host.virsh_ok(&format!("dumpxml {name}"));
    let before_config = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    let err = virsh_err(&host, &format!("attach-device {name} {scsi_disk} --live"));
    assert!(
        err.contains("target 'sda' duplicated for disk sources"),
        "{err}"
    );
    let missing_file = write(
        &host,
        "missing-disk.xml",
        "<disk type='file' device='disk'><source file='/nonexistent-hp.img'/><target dev='sdb' bus='scsi'/></disk>",
    );
    let err = virsh_err(
        &host,
        &format!("attach-device {name} {missing_file} --live"),
    );
    assert!(
        err.contains("Cannot access storage file '/nonexistent-hp.img'"),
        "{err}"
    );
    let rng = write(
        &host,
        "rng.xml",
        "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
    );
    let err = virsh_err(&host, &format!("detach-device {name} {rng} --live"));
    assert!(
        err.contains("model 'virtio' RNG device not present in domain configuration"),
        "{err}"
    );
    let sata = write(
        &host,
        "sata.xml",
        &format!(
            "<disk type='file' device='disk'><source file='{}'/><target dev='sdc' bus='sata'/></disk>",
            image.display()
        ),
    );
    let err = virsh_err(&host, &format!("attach-device {name} {sata} --live"));
    assert!(
        err.contains("disk bus 'sata' cannot be hotplugged."),
        "{err}"
    );
    let virtio_serial = write(&host, "vser.xml", "<controller type='virtio-serial'/>");
    let err = virsh_err(
        &host,
        &format!("attach-device {name} {virtio_serial} --live"),
    );
    assert!(
        err.contains("'virtio-serial' controller cannot be hot plugged."),
        "{err}"
    );
    let ps2 = write(&host, "ps2.xml", "<input type='mouse' bus='ps2'/>");
    let err = virsh_err(&host, &format!("attach-device {name} {ps2} --live"));
    assert!(
        err.contains("input device on bus 'ps2' cannot be hot plugged."),
        "{err}"
    );
    let err = virsh_err(&host, &format!("detach-device {name} {ps2} --live"));
    assert!(
        err.contains("input device on bus 'ps2' cannot be detached"),
        "{err}"
    );
    let ib700 = write(&host, "ib700.xml", "<watchdog model='ib700'/>");
    let err = virsh_err(&host, &format!("attach-device {name} {ib700} --live"));
    assert!(
        err.contains("hotplug of watchdog of model ib700 is not supported"),
        "{err}"
    );
    let isa = write(
        &host,
        "isa-serial.xml",
        "<serial type='pty'><target type='isa-serial'/></serial>",
    );
    let err = virsh_err(&host, &format!("attach-device {name} {isa} --live"));
    assert!(
        err.contains("unable to execute QEMU command 'device_add'"),
        "{err}"
    );
    // The ISA serial port the guest booted with: QEMU cannot unplug it.
    assert!(
        before_live.contains("<alias name='serial0'/>"),
        "{before_live}"
    );
    let err = virsh_err(&host, &format!("detach-device-alias {name} serial0 --live"));
    assert!(err.contains("does not support hotplugging"), "{err}");
    assert_eq!(host.virsh_ok(&format!("dumpxml {name}")), before_live);
    assert_eq!(
        host.virsh_ok(&format!("dumpxml --inactive {name}")),
        before_config
    );

    // The disk goes (device-removed), then the controller, by alias.
    host.virsh_ok(&format!("detach-device {name} {scsi_disk} --live"));
    expect_event(&mut events, name, "scsi0-0-0-0");
    wait_qemu(&host, name, "scsi0-0-0-0", false);
    python(
        &host,
        name,
        "import libvirt, sys\nc = libvirt.open(sys.argv[1])\nd = c.lookupByName(sys.argv[2])\n\
         d.detachDeviceAlias('scsi0', libvirt.VIR_DOMAIN_AFFECT_LIVE)\n",
    );
    expect_event(&mut events, name, "scsi0");
    wait_qemu(&host, name, "scsi0", false);

    // Input devices through python3-libvirt: a USB tablet and a virtio keyboard.
    python(
        &host,
        name,
        "import libvirt, sys\nc = libvirt.open(sys.argv[1])\nd = c.lookupByName(sys.argv[2])\n\
         d.attachDeviceFlags(\"<input type='tablet' bus='usb'/>\", libvirt.VIR_DOMAIN_AFFECT_LIVE)\n\
         d.attachDeviceFlags(\"<input type='keyboard' bus='virtio'><alias name='ua-kbd'/></input>\", libvirt.VIR_DOMAIN_AFFECT_LIVE)\n",
    );
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live.contains("<input type='tablet' bus='usb'>") && live.contains("<alias name='ua-kbd'/>"),
        "{live}"
    );
    let tablet_alias = live
        .split("<input type='tablet' bus='usb'>")
        .nth(1)
        .and_then(|rest| rest.split("<alias name='").nth(1))
        .and_then(|rest| rest.split('\'').next())
        .expect("the tablet has an alias")
        .to_string();
    assert!(tablet_alias.starts_with("input"), "{live}");
    wait_qemu(&host, name, &tablet_alias, true);
    wait_qemu(&host, name, "ua-kbd", true);
    // A duplicate user alias is refused, nothing changes.
    let before_live = host.virsh_ok(&format!("dumpxml {name}"));
    let dup = write(
        &host,
        "dup-alias.xml",
        "<input type='mouse' bus='virtio'><alias name='ua-kbd'/></input>",
    );
    let err = virsh_err(&host, &format!("attach-device {name} {dup} --live"));
    assert!(err.contains("non unique alias detected: ua-kbd"), "{err}");
    assert_eq!(host.virsh_ok(&format!("dumpxml {name}")), before_live);
    host.virsh_ok(&format!("detach-device-alias {name} {tablet_alias} --live"));
    expect_event(&mut events, name, &tablet_alias);
    wait_qemu(&host, name, &tablet_alias, false);
    host.virsh_ok(&format!("detach-device-alias {name} ua-kbd"));
    expect_event(&mut events, name, "ua-kbd");
    wait_qemu(&host, name, "ua-kbd", false);

    // A USB disk, on the next free port of the USB bus.
    let usb_disk = write(
        &host,
        "usb-disk.xml",
        &format!(
            "<disk type='file' device='disk'><source file='{}'/><target dev='sdd' bus='usb'/></disk>",
            image.display()
        ),
    );
    host.virsh_ok(&format!("attach-device {name} {usb_disk} --live"));
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live.contains("<alias name='usb-disk3'/>")
            && live.contains("<address type='usb' bus='0' port='1'/>"),
        "{live}"
    );
    wait_qemu(&host, name, "usb-disk3", true);
    host.virsh_ok(&format!("detach-device {name} {usb_disk} --live"));
    expect_event(&mut events, name, "usb-disk3");
    wait_qemu(&host, name, "usb-disk3", false);

    // An RNG with its /dev/urandom backend object; --persistent plugs it and
    // writes it into the definition too.
    host.virsh_ok(&format!("attach-device {name} {rng} --persistent"));
    wait_qemu(&host, name, "rng0", true);
    assert!(host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("<rng model='virtio'>"));
    let objects = host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"qom-list\",\"arguments\":{{\"path\":\"/objects\"}}}}'"
    ));
    assert!(objects.contains("\"name\":\"objrng0\""), "{objects}");
    host.virsh_ok(&format!("detach-device {name} {rng} --persistent"));
    expect_event(&mut events, name, "rng0");
    assert!(!host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("<rng"));
    wait_qemu(&host, name, "rng0", false);
    let gone = wait_until(Duration::from_secs(10), || {
        !host
            .virsh_ok(&format!(
                "qemu-monitor-command {name} '{{\"execute\":\"qom-list\",\"arguments\":{{\"path\":\"/objects\"}}}}'"
            ))
            .contains("objrng0")
    });
    assert!(gone, "the RNG backend stayed");

    // A watchdog; a second one is refused.
    let watchdog = write(
        &host,
        "watchdog.xml",
        "<watchdog model='i6300esb' action='poweroff'/>",
    );
    // --current on a running guest is the live guest only.
    host.virsh_ok(&format!("attach-device {name} {watchdog} --current"));
    wait_qemu(&host, name, "watchdog0", true);
    assert!(!host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("<watchdog"));
    let err = virsh_err(&host, &format!("attach-device {name} {watchdog} --live"));
    assert!(err.contains("domain already has a watchdog"), "{err}");
    host.virsh_ok(&format!("detach-device {name} {watchdog} --live"));
    expect_event(&mut events, name, "watchdog0");
    wait_qemu(&host, name, "watchdog0", false);

    // A PCI serial port on a pty.
    let pci_serial = write(
        &host,
        "pci-serial.xml",
        "<serial type='pty'><target type='pci-serial'/></serial>",
    );
    host.virsh_ok(&format!("attach-device {name} {pci_serial} --live"));
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        live.contains("<source path='/dev/pts/")
            && live.contains("<target type='pci-serial' port='1'>"),
        "{live}"
    );
    wait_qemu(&host, name, "serial1", true);
    host.virsh_ok(&format!("detach-device-alias {name} serial1"));
    expect_event(&mut events, name, "serial1");
    wait_qemu(&host, name, "serial1", false);

    // --config: the persistent definition gets the devices with PCI addresses and
    // the user alias; the running guest is untouched.
    let before_live = host.virsh_ok(&format!("dumpxml {name}"));
    let usb_serial = write(
        &host,
        "cfg-usb-serial.xml",
        "<serial type='null'><target type='usb-serial'/></serial>",
    );
    host.virsh_ok(&format!("attach-device {name} {usb_serial} --config"));
    let config = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        config.contains("<target type='usb-serial' port='1'>")
            && config.contains("<model name='usb-serial'/>"),
        "{config}"
    );
    host.virsh_ok(&format!("detach-device {name} {usb_serial} --config"));
    let tablet = write(
        &host,
        "cfg-tablet.xml",
        "<input type='tablet' bus='virtio'><alias name='ua-tab'/></input>",
    );
    for file in [&rng, &watchdog, &tablet, &scsi_disk] {
        host.virsh_ok(&format!("attach-device {name} {file} --config"));
    }
    let config = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    for wanted in [
        "<rng model='virtio'>",
        "<watchdog model='i6300esb' action='poweroff'>",
        "<input type='tablet' bus='virtio'>",
        "<alias name='ua-tab'/>",
        "<target dev='sda' bus='scsi'/>",
        "<controller type='scsi' index='0'",
    ] {
        assert!(config.contains(wanted), "no {wanted} in {config}");
    }
    for (kind, end) in [
        ("<rng model='virtio'>", "</rng>"),
        ("<watchdog model='i6300esb'", "</watchdog>"),
    ] {
        let section = config.split(kind).nth(1).expect("device present");
        let section = &section[..section.find(end).unwrap_or(section.len())];
        assert!(section.contains("<address type='pci'"), "{kind}: {section}");
    }
    let err = virsh_err(&host, &format!("attach-device {name} {watchdog} --config"));
    assert!(err.contains("domain already has a watchdog"), "{err}");
    assert_eq!(host.virsh_ok(&format!("dumpxml {name}")), before_live);
    assert_eq!(host.virsh_ok(&format!("dumpxml --inactive {name}")), config);
    for file in [&rng, &watchdog, &scsi_disk] {
        host.virsh_ok(&format!("detach-device {name} {file} --config"));
    }
    host.virsh_ok(&format!("detach-device-alias {name} ua-tab --config"));
    let config = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    for gone in ["<rng", "<watchdog", "ua-tab", "dev='sda'"] {
        assert!(!config.contains(gone), "{gone} stayed in {config}");
    }
    let err = virsh_err(&host, &format!("detach-device {name} {rng} --config"));
    assert!(err.contains("no matching RNG device was found"), "{err}");

    // The VNC password, changed live: the new one opens the display, the old not.
    assert_eq!(vnc_auth(&vnc, "first-pw"), "OK");
    let graphics = write(
        &host,
        "graphics.xml",
        &format!(
            "<graphics type='vnc' socket='{}' passwd='second-pw'/>",
            vnc.display()
        ),
    );
    host.virsh_ok(&format!("update-device {name} {graphics} --live"));
    assert_eq!(vnc_auth(&vnc, "second-pw"), "OK");
    assert_eq!(vnc_auth(&vnc, "first-pw"), "FAIL");
    let secure = host.virsh_ok(&format!("dumpxml --security-info {name}"));
    assert!(secure.contains("passwd='second-pw'"), "{secure}");
    let secure = host.virsh_ok(&format!("dumpxml --inactive --security-info {name}"));
    assert!(secure.contains("passwd='first-pw'"), "{secure}");
}

#[test]
fn devices_added_to_a_defined_guest_run_when_it_starts() {
    let _one = one_guest();
    let host = QemuHost::start();
    let name = "hpd2";
    let xml = host
        .guest_xml(name)
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check");
    let file = write(&host, &format!("{name}.xml"), &xml);
    host.virsh_ok(&format!("define {file}"));
    let image = host.root().join("disk.img");
    fs::write(&image, vec![0u8; 1 << 20]).expect("write image");
    let usb_image = host.root().join("usb.img");
    fs::write(&usb_image, vec![0u8; 1 << 20]).expect("write image");
    let devices = [
        format!(
            "<disk type='file' device='disk'><source file='{}'/><target dev='sda' bus='scsi'/></disk>",
            image.display()
        ),
        format!(
            "<disk type='file' device='disk'><source file='{}'/><target dev='sdd' bus='usb'/></disk>",
            usb_image.display()
        ),
        "<input type='keyboard' bus='virtio'><alias name='ua-kbd'/></input>".to_string(),
        "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>".to_string(),
        "<watchdog model='i6300esb'/>".to_string(),
        "<serial type='null'><target type='pci-serial'/></serial>".to_string(),
    ];
    // The flag-less call on a defined guest changes its definition (--current).
    for (n, device) in devices.iter().enumerate() {
        let path = write(&host, &format!("dev{n}.xml"), device);
        host.virsh_ok(&format!("attach-device {name} {path} --current"));
    }
    let config = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        config.contains("<controller type='scsi' index='0'")
            && config.contains("<target type='pci-serial' port='1'>"),
        "{config}"
    );
    let serial = config
        .split("<target type='pci-serial'")
        .nth(1)
        .and_then(|rest| rest.split("</serial>").next())
        .expect("the PCI serial port");
    assert!(serial.contains("<address type='pci'"), "{serial}");
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
    for id in [
        "scsi0",
        "scsi0-0-0-0",
        "usb-disk3",
        "ua-kbd",
        "rng0",
        "watchdog0",
        "serial1",
    ] {
        wait_qemu(&host, name, id, true);
    }
    // Devices the guest started with unplug like plugged ones.
    let mut events = listen_events(&host);
    host.virsh_ok(&format!("detach-device-alias {name} ua-kbd --live"));
    expect_event(&mut events, name, "ua-kbd");
    wait_qemu(&host, name, "ua-kbd", false);
    host.virsh_ok(&format!("detach-device-alias {name} rng0 --live"));
    expect_event(&mut events, name, "rng0");
    wait_qemu(&host, name, "rng0", false);
    assert!(host
        .virsh_ok(&format!("dumpxml --inactive {name}"))
        .contains("ua-kbd"));
}
