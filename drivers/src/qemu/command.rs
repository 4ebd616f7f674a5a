//! The QEMU command line for a definition, in the shape libvirt 9.0 builds it for the
//! devices this driver supports. Anything else is refused with a configuration error
//! rather than silently dropped.

use super::error::QemuError;
use crate::api::format_uuid;
use crate::domain_xml::{DomainDef, Element};

/// Per-start inputs that are not part of the definition.
pub struct LaunchContext<'a> {
    pub monitor_socket: &'a str,
    /// Migration source to restore from (`-incoming`), for saved guests.
    pub incoming: Option<&'a str>,
    /// `vnc_listen` of qemu.conf, for graphics that name no address.
    pub vnc_listen: &'a str,
}

/// Builds argv (emulator first).
pub fn build_command_line(def: &DomainDef, ctx: &LaunchContext) -> Result<Vec<String>, QemuError> {
    let mut argv: Vec<String> = Vec::new();
    let mut push = |args: &[&str]| argv.extend(args.iter().map(|s| s.to_string()));
    let emulator = def
        .devices
        .iter()
        .find(|d| d.name == "emulator")
        .and_then(|e| e.text.clone())
        .unwrap_or_else(|| "/usr/bin/qemu-system-x86_64".to_string());
    push(&[&emulator]);
    push(&["-name", &format!("guest={},debug-threads=on", def.name)]);
    push(&["-S"]);
    let machine = def.os.machine.clone().unwrap_or_else(|| "pc".to_string());
    push(&[
        "-machine",
        &format!("{machine},usb=off,dump-guest-core=off"),
    ]);
    let accel = match def.virt_type.as_str() {
        "kvm" => "kvm",
        _ => "tcg",
    };
    push(&["-accel", accel]);
    if let Some(cpu) = def.extra.iter().find(|e| e.name == "cpu") {
        match cpu.attr("mode") {
            Some("host-passthrough") | Some("host-model") => push(&["-cpu", "host"]),
            _ => {
                if let Some(model) = cpu.child("model").and_then(|m| m.text.clone()) {
                    push(&["-cpu", &model]);
                }
            }
        }
    }
    push(&["-m", &format!("size={}k", def.max_memory_kib)]);
    push(&["-overcommit", "mem-lock=off"]);
    let vcpus = def.vcpu.max;
    push(&[
        "-smp",
        &format!("{},sockets={},cores=1,threads=1", def.vcpu.current, vcpus),
    ]);
    push(&["-uuid", &format_uuid(&def.uuid)]);
    push(&["-no-user-config", "-nodefaults"]);
    push(&[
        "-chardev",
        &format!(
            "socket,id=charmonitor,path={},server=on,wait=off",
            ctx.monitor_socket
        ),
    ]);
    push(&["-mon", "chardev=charmonitor,id=monitor,mode=control"]);
    let clock_offset = def.clock.attr("offset").unwrap_or("utc");
    push(&[
        "-rtc",
        if clock_offset == "localtime" {
            "base=localtime"
        } else {
            "base=utc"
        },
    ]);
    push(&["-no-shutdown"]);
    // on_reboot destroy: QEMU turns every reset into a SHUTDOWN event (reason
    // guest-reset or host-qmp-system-reset) that stops the guest.
    if def.on_reboot == "destroy" {
        push(&["-no-reboot"]);
    }
    // As libvirt: ACPI only when the definition enables it in <features>.
    let acpi = def
        .extra
        .iter()
        .find(|e| e.name == "features")
        .is_some_and(|f| f.child("acpi").is_some());
    if !acpi {
        push(&["-no-acpi"]);
    }
    if let Some(kernel) = &def.os.kernel {
        push(&["-kernel", kernel]);
    }
    if let Some(initrd) = &def.os.initrd {
        push(&["-initrd", initrd]);
    }
    if let Some(cmdline) = &def.os.cmdline {
        push(&["-append", cmdline]);
    }
    if def.os.kernel.is_none() {
        let order: String = def
            .os
            .boot_devs
            .iter()
            .map(|d| match d.as_str() {
                "fd" => 'a',
                "cdrom" => 'd',
                "network" => 'n',
                _ => 'c',
            })
            .collect();
        if !order.is_empty() {
            push(&["-boot", &format!("order={order},strict=on")]);
        }
    }
    let mut has_graphics = false;
    let mut disk_index = 0usize;
    let mut net_index = 0usize;
    let mut serial_index = 0usize;
    for device in &def.devices {
        match device.name.as_str() {
            "emulator" | "input" | "audio" | "console" => {}
            "controller" => controller_args(device, &mut argv)?,
            "disk" => {
                disk_args(device, disk_index, &mut argv)?;
                disk_index += 1;
            }
            "interface" => {
                interface_args(device, net_index, &mut argv)?;
                net_index += 1;
            }
            "serial" => {
                chardev_args(device, serial_index, &mut argv)?;
                serial_index += 1;
            }
            "graphics" => {
                has_graphics = true;
                graphics_args(device, ctx.vnc_listen, &mut argv)?;
            }
            "video" => video_args(device, &mut argv),
            "memballoon" => {
                if device.attr("model") == Some("virtio") {
                    argv.push("-device".into());
                    argv.push(format!(
                        "virtio-balloon-pci,id=balloon0{}",
                        pci_addr(device)
                    ));
                }
            }
            "rng" => {
                argv.push("-object".into());
                argv.push("rng-random,id=objrng0,filename=/dev/urandom".into());
                argv.push("-device".into());
                argv.push(format!(
                    "virtio-rng-pci,rng=objrng0,id=rng0{}",
                    pci_addr(device)
                ));
            }
            "watchdog" => {
                let model = device.attr("model").unwrap_or("i6300esb");
                argv.push("-device".into());
                argv.push(format!("{model},id=watchdog0{}", pci_addr(device)));
                let action = device.attr("action").unwrap_or("reset");
                argv.push("-action".into());
                argv.push(format!("watchdog={}", action.replace("dump", "pause")));
            }
            "channel" => {}
            "panic" => panic_args(device, &mut argv)?,
            other => {
                return Err(QemuError::Unsupported(format!(
                    "device '{other}' is not supported by this qemu driver"
                )))
            }
        }
    }
    if !has_graphics {
        argv.push("-display".into());
        argv.push("none".into());
    }
    if let Some(incoming) = ctx.incoming {
        argv.push("-incoming".into());
        argv.push(incoming.to_string());
    }
    argv.push("-msg".into());
    argv.push("timestamp=on".into());
    Ok(argv)
}

/// `,bus=pci.0,addr=0xN` for a device with a PCI address on bus 0.
fn pci_addr(device: &Element) -> String {
    let Some(address) = device.child("address") else {
        return String::new();
    };
    if address.attr("type") != Some("pci") {
        return String::new();
    }
    let slot = address.attr("slot").unwrap_or("0x00");
    let slot = u32::from_str_radix(slot.trim_start_matches("0x"), 16).unwrap_or(0);
    let function = address.attr("function").unwrap_or("0x0");
    let function = u32::from_str_radix(function.trim_start_matches("0x"), 16).unwrap_or(0);
    if function == 0 {
        format!(",bus=pci.0,addr=0x{slot:x}")
    } else {
        format!(",bus=pci.0,addr=0x{slot:x}.0x{function:x}")
    }
}

fn controller_args(device: &Element, argv: &mut Vec<String>) -> Result<(), QemuError> {
    match (device.attr("type"), device.attr("model")) {
        (Some("usb"), Some("piix3-uhci")) => {
            argv.push("-device".into());
            argv.push(format!("piix3-usb-uhci,id=usb{}", pci_addr(device)));
        }
        (Some("usb"), Some("none")) | (Some("pci"), _) | (Some("ide"), _) => {}
        (Some("virtio-serial"), _) => {
            argv.push("-device".into());
            argv.push(format!(
                "virtio-serial-pci,id=virtio-serial0{}",
                pci_addr(device)
            ));
        }
        (Some("sata"), _) => {
            argv.push("-device".into());
            argv.push(format!("ich9-ahci,id=sata0{}", pci_addr(device)));
        }
        (Some("scsi"), _) => {
            argv.push("-device".into());
            argv.push(format!("virtio-scsi-pci,id=scsi0{}", pci_addr(device)));
        }
        (kind, model) => {
            return Err(QemuError::Unsupported(format!(
                "controller type '{}' model '{}' is not supported by this qemu driver",
                kind.unwrap_or(""),
                model.unwrap_or("")
            )))
        }
    }
    Ok(())
}

fn disk_args(device: &Element, index: usize, argv: &mut Vec<String>) -> Result<(), QemuError> {
    let kind = device.attr("type").unwrap_or("file");
    let source = device.child("source");
    let path = match kind {
        "file" => source.and_then(|s| s.attr("file")),
        "block" => source.and_then(|s| s.attr("dev")),
        other => {
            return Err(QemuError::Unsupported(format!(
                "disk type '{other}' is not supported by this qemu driver"
            )))
        }
    };
    let target = device.child("target");
    let bus = target.and_then(|t| t.attr("bus")).unwrap_or("ide");
    let dev = target.and_then(|t| t.attr("dev")).unwrap_or("hda");
    let cdrom = device.attr("device") == Some("cdrom");
    let format = device
        .child("driver")
        .and_then(|d| d.attr("type"))
        .unwrap_or("raw");
    let drive_id = format!("drive-{bus}-disk{index}");
    let mut drive = String::new();
    if let Some(path) = path {
        drive.push_str(&format!(
            "file={},format={format},",
            path.replace(',', ",,")
        ));
    }
    drive.push_str(&format!("if=none,id={drive_id}"));
    if cdrom || device.child("readonly").is_some() {
        drive.push_str(",readonly=on");
    }
    argv.push("-drive".into());
    argv.push(drive);
    let frontend = match (bus, cdrom) {
        ("virtio", _) => format!(
            "virtio-blk-pci,drive={drive_id},id={bus}-disk{index}{}",
            pci_addr(device)
        ),
        ("ide", true) | ("sata", true) => {
            let unit = drive_unit(device);
            let bus_name = if bus == "sata" {
                format!("sata0.{unit}")
            } else {
                format!("ide.{}", unit / 2)
            };
            format!("ide-cd,bus={bus_name},drive={drive_id},id={bus}-disk{index}")
        }
        ("ide", false) | ("sata", false) => {
            let unit = drive_unit(device);
            let bus_name = if bus == "sata" {
                format!("sata0.{unit}")
            } else {
                format!("ide.{}", unit / 2)
            };
            format!("ide-hd,bus={bus_name},drive={drive_id},id={bus}-disk{index}")
        }
        ("scsi", _) => format!(
            "scsi-{},bus=scsi0.0,drive={drive_id},id={bus}-disk{index}",
            if cdrom { "cd" } else { "hd" }
        ),
        (other, _) => {
            return Err(QemuError::Unsupported(format!(
                "disk bus '{other}' of disk '{dev}' is not supported by this qemu driver"
            )))
        }
    };
    argv.push("-device".into());
    argv.push(frontend);
    Ok(())
}

/// Position on the IDE/SATA controller: bus * 2 + unit for IDE, unit for SATA.
fn drive_unit(device: &Element) -> u32 {
    let address = device.child("address");
    let num = |name: &str| {
        address
            .and_then(|a| a.attr(name))
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    num("bus") * 2 + num("unit")
}

/// `<panic model='isa'/>`: the pvpanic device through which a crashed guest reports
/// GUEST_PANICKED; QEMU only pauses it, `on_crash` decides the rest.
fn panic_args(device: &Element, argv: &mut Vec<String>) -> Result<(), QemuError> {
    match device.attr("model").unwrap_or("isa") {
        "isa" => {
            argv.extend(["-device".into(), "pvpanic,ioport=1285".into()]);
            argv.extend(["-action".into(), "panic=pause".into()]);
            Ok(())
        }
        other => Err(QemuError::Unsupported(format!(
            "panic model '{other}' is not supported by this qemu driver"
        ))),
    }
}

/// Refuses a definition with `<interface type='network'>` before anything is set up
/// for it on the host (tap devices): there is no network driver to ask.
pub fn check_no_network_interfaces(def: &DomainDef) -> Result<(), QemuError> {
    match def
        .devices
        .iter()
        .find(|d| d.name == "interface" && d.attr("type") == Some("network"))
    {
        Some(device) => Err(network_refusal(device)),
        None => Ok(()),
    }
}

fn network_refusal(device: &Element) -> QemuError {
    let network = device
        .child("source")
        .and_then(|s| s.attr("network"))
        .unwrap_or("");
    QemuError::Unsupported(format!(
        "interface type 'network' (network '{network}') needs a virtual network driver, \
         which this daemon does not have; use interface type 'bridge' or 'user'"
    ))
}

fn interface_args(device: &Element, index: usize, argv: &mut Vec<String>) -> Result<(), QemuError> {
    let netdev = match device.attr("type") {
        Some("user") => format!("user,id=hostnet{index}"),
        Some("bridge") => {
            // The tap was made and added to the bridge before QEMU starts.
            let Some(tap) = device.child("target").and_then(|t| t.attr("dev")) else {
                return Err(QemuError::Failed(
                    "bridge interface without a tap device".into(),
                ));
            };
            format!("tap,ifname={tap},script=no,downscript=no,id=hostnet{index}")
        }
        Some("network") => return Err(network_refusal(device)),
        Some(other) => {
            return Err(QemuError::Unsupported(format!(
                "interface type '{other}' is not supported by this qemu driver"
            )))
        }
        None => return Err(QemuError::Unsupported("interface without a type".into())),
    };
    let model = device
        .child("model")
        .and_then(|m| m.attr("type"))
        .unwrap_or("rtl8139");
    let model = match model {
        "virtio" => "virtio-net-pci",
        other => other,
    };
    let mac = device
        .child("mac")
        .and_then(|m| m.attr("address"))
        .unwrap_or("52:54:00:00:00:01");
    argv.push("-netdev".into());
    argv.push(netdev);
    argv.push("-device".into());
    argv.push(format!(
        "{model},netdev=hostnet{index},id=net{index},mac={mac}{}",
        pci_addr(device)
    ));
    Ok(())
}

fn chardev_args(device: &Element, index: usize, argv: &mut Vec<String>) -> Result<(), QemuError> {
    let backend = match device.attr("type") {
        Some("pty") => format!("pty,id=charserial{index}"),
        Some("file") => {
            let path = device
                .child("source")
                .and_then(|s| s.attr("path"))
                .ok_or_else(|| {
                    QemuError::Unsupported("file serial without a source path".into())
                })?;
            format!(
                "file,id=charserial{index},path={},append=on",
                path.replace(',', ",,")
            )
        }
        Some("null") => format!("null,id=charserial{index}"),
        other => {
            return Err(QemuError::Unsupported(format!(
                "serial type '{}' is not supported by this qemu driver",
                other.unwrap_or("")
            )))
        }
    };
    argv.push("-chardev".into());
    argv.push(backend);
    argv.push("-device".into());
    argv.push(format!(
        "isa-serial,chardev=charserial{index},id=serial{index},index={index}"
    ));
    Ok(())
}

fn graphics_args(
    device: &Element,
    default_listen: &str,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    match device.attr("type") {
        Some("vnc") => {
            if let Some(socket) = device.attr("socket") {
                argv.extend(["-vnc".into(), format!("unix:{socket}")]);
                return Ok(());
            }
            let listen = device.attr("listen").unwrap_or(default_listen);
            let port: i64 = device
                .attr("port")
                .and_then(|p| p.parse().ok())
                .unwrap_or(-1);
            let display = if port >= 5900 { port - 5900 } else { 0 };
            argv.push("-vnc".into());
            if port < 0 {
                argv.push(format!("{listen}:0,to=100"));
            } else {
                argv.push(format!("{listen}:{display}"));
            }
            Ok(())
        }
        Some(other) => Err(QemuError::Unsupported(format!(
            "graphics type '{other}' is not supported by this qemu driver"
        ))),
        None => Err(QemuError::Unsupported("graphics without a type".into())),
    }
}

fn video_args(device: &Element, argv: &mut Vec<String>) {
    let model = device
        .child("model")
        .and_then(|m| m.attr("type"))
        .unwrap_or("cirrus");
    let qemu_device = match model {
        "none" => return,
        "vga" => "VGA",
        "cirrus" => "cirrus-vga",
        "virtio" => "virtio-vga",
        "qxl" => "qxl-vga",
        "bochs" => "bochs-display",
        other => other,
    };
    argv.push("-device".into());
    argv.push(format!("{qemu_device},id=video0{}", pci_addr(device)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::parse_domain_xml;
    use crate::qemu::defaults::{apply_qemu_defaults, parse_options, HostFacts};

    fn def(xml: &str) -> DomainDef {
        let mut def = parse_domain_xml(xml, &parse_options()).expect("parses");
        let host = HostFacts {
            emulator: "/usr/bin/qemu-system-x86_64".into(),
            machine_aliases: vec![("pc".into(), "pc-i440fx-7.2".into())],
        };
        apply_qemu_defaults(&mut def, &host).expect("valid");
        def
    }

    fn ctx() -> LaunchContext<'static> {
        LaunchContext {
            monitor_socket: "/run/libvirt/qemu/g.monitor",
            incoming: None,
            vnc_listen: "127.0.0.1",
        }
    }

    #[test]
    fn tiny_guest_command_line() {
        let d = def("<domain type='qemu'><name>g</name><uuid>462adde7-cde2-4751-aca8-a3b5b5e19414</uuid>\
            <memory unit='MiB'>128</memory><os><type>hvm</type><kernel>/k</kernel><initrd>/i</initrd>\
            <cmdline>console=ttyS0</cmdline></os><devices>\
            <serial type='file'><source path='/tmp/s.log'/><target port='0'/></serial></devices></domain>");
        let argv = build_command_line(&d, &ctx()).expect("builds");
        let line = argv.join(" ");
        assert!(line.starts_with("/usr/bin/qemu-system-x86_64 -name guest=g,debug-threads=on -S -machine pc-i440fx-7.2,usb=off,dump-guest-core=off -accel tcg -cpu qemu64 -m size=131072k"), "{line}");
        assert!(line.contains("-uuid 462adde7-cde2-4751-aca8-a3b5b5e19414"));
        assert!(line.contains(
            "-chardev socket,id=charmonitor,path=/run/libvirt/qemu/g.monitor,server=on,wait=off"
        ));
        assert!(line.contains("-kernel /k -initrd /i -append console=ttyS0"));
        assert!(line.contains("-chardev file,id=charserial0,path=/tmp/s.log,append=on -device isa-serial,chardev=charserial0,id=serial0,index=0"));
        assert!(line.contains("-device virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x2"));
        assert!(line.contains("-no-shutdown"));
        assert!(line.contains("-display none"));
    }

    #[test]
    fn kvm_guest_uses_kvm_accelerator() {
        let d = def("<domain type='kvm'><name>k</name><memory>65536</memory><os><type>hvm</type></os></domain>");
        let argv = build_command_line(&d, &ctx()).expect("builds");
        let pos = argv.iter().position(|a| a == "-accel").expect("-accel");
        assert_eq!(argv[pos + 1], "kvm");
    }

    #[test]
    fn on_reboot_destroy_and_panic_device() {
        let d = def(
            "<domain type='qemu'><name>p</name><memory>65536</memory><os><type>hvm</type></os>\
            <on_reboot>destroy</on_reboot><devices><panic model='isa'/></devices></domain>",
        );
        let line = build_command_line(&d, &ctx()).expect("builds").join(" ");
        assert!(line.contains("-no-reboot"), "{line}");
        assert!(
            line.contains("-device pvpanic,ioport=1285 -action panic=pause"),
            "{line}"
        );
        let d = def("<domain type='qemu'><name>p</name><memory>65536</memory><os><type>hvm</type></os></domain>");
        let line = build_command_line(&d, &ctx()).expect("builds").join(" ");
        assert!(
            !line.contains("-no-reboot") && !line.contains("pvpanic"),
            "{line}"
        );
    }

    #[test]
    fn network_interface_is_refused_clearly() {
        let d = def("<domain type='qemu'><name>n</name><memory>65536</memory><os><type>hvm</type></os>\
            <devices><interface type='network'><source network='default'/></interface></devices></domain>");
        let err = build_command_line(&d, &ctx()).expect_err("unsupported");
        assert!(
            err.to_string().contains("interface type 'network'"),
            "{err}"
        );
    }
}
