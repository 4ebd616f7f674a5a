//! Machine-wide options: `-machine` properties from `<features>`, the CPU model for the
//! `<cpu>` modes, `-smp` with hot-pluggable vCPUs, `<clock>` timers and `<pm>`.

use super::is_plain_name;
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::error::QemuError;

fn top<'a>(def: &'a DomainDef, name: &str) -> Option<&'a Element> {
    def.extra.iter().find(|e| e.name == name)
}

/// `-machine NAME,usb=off[,vmport=on|off],dump-guest-core=off`.
pub(super) fn machine_option(def: &DomainDef, machine: &str) -> Result<String, QemuError> {
    let mut option = format!("{machine},usb=off");
    if let Some(vmport) = top(def, "features").and_then(|f| f.child("vmport")) {
        match vmport.attr("state").unwrap_or("on") {
            state @ ("on" | "off") => option.push_str(&format!(",vmport={state}")),
            other => {
                return Err(QemuError::Unsupported(format!(
                    "invalid value of state attribute '{other}' of vmport feature"
                )))
            }
        }
    }
    option.push_str(",dump-guest-core=off");
    Ok(option)
}

/// The `-cpu` value for `<cpu>`, if any. Under TCG there is no host CPU to pass through
/// (refused with libvirt's words); host-model and maximum take QEMU's `max` model.
pub(super) fn cpu_model(def: &DomainDef, accel: &str) -> Result<Option<String>, QemuError> {
    let Some(cpu) = top(def, "cpu") else {
        return Ok(None);
    };
    let mode = cpu.attr("mode").unwrap_or("custom");
    match (mode, accel) {
        ("host-passthrough", "kvm") | ("host-model", "kvm") => Ok(Some("host".into())),
        ("host-passthrough", _) => Err(QemuError::Unsupported(format!(
            "CPU mode 'host-passthrough' for {} {} domain on x86_64 host is not supported by hypervisor",
            def.os.arch, def.virt_type
        ))),
        ("host-model", _) | ("maximum", _) => Ok(Some("max".into())),
        ("custom", _) => match cpu.child("model").and_then(|m| m.text.clone()) {
            Some(model) if is_plain_name(&model) => Ok(Some(model)),
            Some(model) => Err(QemuError::Unsupported(format!(
                "CPU model '{model}' is not supported by hypervisor"
            ))),
            None => Ok(None),
        },
        (other, _) => Err(QemuError::Unsupported(format!(
            "CPU mode '{other}' is not supported by this qemu driver"
        ))),
    }
}

/// `-smp`: the vCPUs online at boot, and `maxcpus` (one socket each) when some start
/// offline to be hot plugged later.
pub(super) fn smp_option(def: &DomainDef) -> String {
    let (current, max) = (crate::qemu::vcpu_list::boot_count(def), def.vcpu.max);
    if current < max {
        format!("{current},maxcpus={max},sockets={max},cores=1,threads=1")
    } else {
        format!("{max},sockets={max},cores=1,threads=1")
    }
}

/// `-rtc` and the options of the `<clock>` timers QEMU has switches for.
pub(super) fn clock_args(def: &DomainDef, argv: &mut Vec<String>) -> Result<(), QemuError> {
    let mut rtc = match def.clock.attr("offset").unwrap_or("utc") {
        "localtime" => "base=localtime".to_string(),
        _ => "base=utc".to_string(),
    };
    let mut extra: Vec<String> = Vec::new();
    for timer in def.clock.children.iter().filter(|c| c.name == "timer") {
        let name = timer.attr("name").unwrap_or("");
        let present = timer.attr("present") != Some("no");
        let policy = timer.attr("tickpolicy");
        match name {
            "rtc" => match policy {
                None => {}
                Some("catchup") => rtc.push_str(",driftfix=slew"),
                Some("delay") => {}
                Some(other) => {
                    return Err(QemuError::Unsupported(format!(
                        "unsupported rtc timer tickpolicy '{other}'"
                    )))
                }
            },
            "pit" => match policy {
                None => {}
                Some(policy @ ("delay" | "discard")) => {
                    extra.push("-global".into());
                    extra.push(format!("kvm-pit.lost_tick_policy={policy}"));
                }
                Some(other) => {
                    return Err(QemuError::Unsupported(format!(
                        "unsupported pit tickpolicy '{other}'"
                    )))
                }
            },
            "hpet" => {
                if !present {
                    extra.push("-no-hpet".into());
                }
            }
            "kvmclock" | "tsc" | "hypervclock" | "armvtimer" => {}
            other => {
                return Err(QemuError::Unsupported(format!(
                    "unsupported timer type (name) '{other}'"
                )))
            }
        }
    }
    argv.push("-rtc".into());
    argv.push(rtc);
    argv.extend(extra);
    Ok(())
}

/// `<pm>`: S3/S4 availability through the ACPI power management device of the machine.
pub(super) fn pm_args(def: &DomainDef, machine: &str, argv: &mut Vec<String>) {
    let Some(pm) = top(def, "pm") else {
        return;
    };
    let device = if machine.contains("q35") {
        "ICH9-LPC"
    } else {
        "PIIX4_PM"
    };
    for (element, property) in [
        ("suspend-to-mem", "disable_s3"),
        ("suspend-to-disk", "disable_s4"),
    ] {
        let value = match pm.child(element).and_then(|e| e.attr("enabled")) {
            Some("no") => 1,
            Some("yes") => 0,
            _ => continue,
        };
        argv.push("-global".into());
        argv.push(format!("{device}.{property}={value}"));
    }
}
