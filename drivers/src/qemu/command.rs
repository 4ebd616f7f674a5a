//! The QEMU command line for a definition, in the shape libvirt 9.0 builds it for the
//! devices this driver supports. Anything else is refused with a configuration error
//! rather than silently dropped.
//!
//! Strings from the definition never become options of their own: free text (names,
//! paths) has its commas doubled as QEMU's option parser expects ([`opt_value`]), and
//! everything else is an enumerated value, a number, or checked against QEMU's
//! character set before it is written.

mod channels;
mod devices;
mod machine;
mod sound;
mod spice;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_default_devices;
mod usb;
mod vnc;

pub use vnc::expiry_seconds as vnc_expiry_seconds;
pub use vnc::set_vnc_passwords;

use super::conf::QemuConf;
use super::defaults::HostFacts;
use super::error::QemuError;
use crate::api::format_uuid;
use crate::domain_xml::DomainDef;

/// Per-start inputs that are not part of the definition.
pub struct LaunchContext<'a> {
    pub monitor_socket: &'a str,
    /// Migration source to restore from (`-incoming`), for saved guests.
    pub incoming: Option<&'a str>,
    /// qemu.conf: VNC listen address, password and TLS settings.
    pub conf: &'a QemuConf,
    /// The probed emulator: machine types it offers.
    pub host: &'a HostFacts,
    /// Directory for the sockets of UNIX channels that name no path.
    pub channel_dir: Option<&'a str>,
    /// The master key and encrypted passphrases of LUKS disks.
    pub disk_secrets: Option<&'a super::disk_secrets::DiskSecrets>,
}

/// A value inside a QEMU `key=value,...` option: commas doubled so that a value such
/// as `/tmp/a,romfile=/etc/shadow` stays one value.
pub fn opt_value(text: &str) -> String {
    text.replace(',', ",,")
}

/// Whether `text` is a plain QEMU identifier (models, CPU and machine names).
fn is_plain_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Builds argv (emulator first).
pub fn build_command_line(def: &DomainDef, ctx: &LaunchContext) -> Result<Vec<String>, QemuError> {
    let q35 = def
        .os
        .machine
        .as_deref()
        .is_some_and(|m| m.starts_with("pc-q35") || m == "q35");
    devices::with_machine(q35, || build(def, ctx))
}

fn build(def: &DomainDef, ctx: &LaunchContext) -> Result<Vec<String>, QemuError> {
    let mut argv: Vec<String> = Vec::new();
    let mut push = |args: &[&str]| argv.extend(args.iter().map(|s| s.to_string()));
    let emulator = def
        .devices
        .iter()
        .find(|d| d.name == "emulator")
        .and_then(|e| e.text.clone())
        .unwrap_or_else(|| "/usr/bin/qemu-system-x86_64".to_string());
    push(&[&emulator]);
    push(&[
        "-name",
        &format!("guest={},debug-threads=on", opt_value(&def.name)),
    ]);
    push(&["-S"]);
    if let Some(file) = ctx.disk_secrets.and_then(|s| s.master_key_file.as_deref()) {
        push(&[
            "-object",
            &format!(
                "secret,id={},format=raw,file={}",
                super::disk_secrets::MASTER_KEY_ID,
                opt_value(file)
            ),
        ]);
    }
    let machine = def.os.machine.clone().unwrap_or_else(|| "pc".to_string());
    ctx.host.check_machine(&machine)?;
    push(&["-machine", &machine::machine_option(def, &machine)?]);
    let accel = match def.virt_type.as_str() {
        "kvm" => "kvm",
        _ => "tcg",
    };
    push(&["-accel", accel]);
    if let Some(model) = machine::cpu_model(def, accel)? {
        push(&["-cpu", &model]);
    }
    push(&["-m", &format!("size={}k", def.max_memory_kib)]);
    push(&["-overcommit", "mem-lock=off"]);
    push(&["-smp", &machine::smp_option(def)]);
    // IOThreads of the definition, for `iothreadinfo` and hot plug.
    for id in super::live_tuning::iothread_ids(def) {
        push(&["-object", &format!("iothread,id=iothread{id}")]);
    }
    push(&["-uuid", &format_uuid(&def.uuid)]);
    push(&["-no-user-config", "-nodefaults"]);
    push(&[
        "-chardev",
        &format!(
            "socket,id=charmonitor,path={},server=on,wait=off",
            opt_value(ctx.monitor_socket)
        ),
    ]);
    push(&["-mon", "chardev=charmonitor,id=monitor,mode=control"]);
    machine::clock_args(def, &mut argv)?;
    let mut push = |args: &[&str]| argv.extend(args.iter().map(|s| s.to_string()));
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
    machine::pm_args(def, &machine, &mut argv);
    let mut push = |args: &[&str]| argv.extend(args.iter().map(|s| s.to_string()));
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
    vnc::check_vnc_settings(def, ctx.conf)?;
    spice::check_spice_settings(def, ctx.conf)?;
    let mut has_graphics = false;
    let mut disk_index = 0usize;
    let mut net_index = 0usize;
    let mut serial_index = 0usize;
    let mut input_index = 0usize;
    let mut sound_index = 0usize;
    let mut channel_index = 0usize;
    let mut console_index = 0usize;
    let first_audio = def
        .devices
        .iter()
        .find(|d| d.name == "audio")
        .and_then(|a| a.attr("id"));
    // PCI controllers first, then SCSI ones: the buses they make must exist before
    // devices (disks come first in a definition) name them.
    let bus_maker = |d: &&crate::domain_xml::Element, kind: &str| {
        d.name == "controller" && d.attr("type") == Some(kind)
    };
    for kind in ["pci", "scsi", "usb"] {
        for device in def.devices.iter().filter(|d| bus_maker(d, kind)) {
            if kind == "usb" {
                usb::usb_controller_args(device, &mut argv)?;
            } else {
                devices::controller_args(device, &mut argv)?;
            }
        }
    }
    for device in &def.devices {
        match device.name.as_str() {
            "emulator" => {}
            "controller" if matches!(device.attr("type"), Some("pci" | "scsi" | "usb")) => {}
            "input" => {
                usb::input_args(device, input_index, &mut argv)?;
                input_index += 1;
            }
            "audio" => sound::audio_args(device, &mut argv)?,
            "sound" => {
                sound::sound_args(device, sound_index, first_audio, &mut argv)?;
                sound_index += 1;
            }
            "console" => {
                channels::console_args(device, console_index, &mut argv)?;
                console_index += 1;
            }
            "channel" => {
                channels::channel_args(device, channel_index, ctx.channel_dir, &mut argv)?;
                channel_index += 1;
            }
            "controller" => devices::controller_args(device, &mut argv)?,
            "disk" => {
                let dev = device
                    .child("target")
                    .and_then(|t| t.attr("dev"))
                    .unwrap_or("");
                let secret = ctx.disk_secrets.and_then(|s| s.for_disk(dev));
                devices::disk_args(device, disk_index, secret, &mut argv)?;
                disk_index += 1;
            }
            "interface" => {
                devices::interface_args(device, net_index, &mut argv)?;
                net_index += 1;
            }
            "serial" => {
                devices::chardev_args(device, serial_index, &mut argv)?;
                serial_index += 1;
            }
            "graphics" => {
                has_graphics = true;
                vnc::graphics_args(device, ctx.conf, &mut argv)?;
            }
            "video" => devices::video_args(device, &mut argv)?,
            "memballoon" => {
                if device.attr("model") == Some("virtio") {
                    argv.push("-device".into());
                    argv.push(format!(
                        "virtio-balloon-pci,id=balloon0{}",
                        devices::pci_addr(device)
                    ));
                }
            }
            "rng" => devices::rng_args(device, &mut argv)?,
            "watchdog" => devices::watchdog_args(device, &mut argv)?,
            "panic" => devices::panic_args(device, &mut argv)?,
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
