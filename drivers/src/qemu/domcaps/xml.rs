//! The domain capabilities document, element by element in libvirt 9.0's order.

use std::fmt::Write;

use super::cpu_map::{cpuid_vendor_name, feature_name, vendor_name};
use super::firmware::Loaders;
use super::probe::{CpuModel, EmulatorCaps};
use super::Target;
use crate::domain_xml::escape;

fn enum_values(out: &mut String, indent: &str, name: &str, values: &[&str]) {
    if values.is_empty() {
        let _ = writeln!(out, "{indent}<enum name='{name}'/>");
        return;
    }
    let _ = writeln!(out, "{indent}<enum name='{name}'>");
    for value in values {
        let _ = writeln!(out, "{indent}  <value>{}</value>", escape(value));
    }
    let _ = writeln!(out, "{indent}</enum>");
}

/// Values whose QOM type QEMU has (or that need none: `None`).
fn offered<'a>(caps: &EmulatorCaps, values: &[(&'a str, Option<&str>)]) -> Vec<&'a str> {
    values
        .iter()
        .filter(|(_, qom)| qom.is_none_or(|t| caps.has_type(t)))
        .map(|(value, _)| *value)
        .collect()
}

pub(super) fn document(target: &Target, caps: &EmulatorCaps, loaders: &Loaders) -> String {
    let mut out = String::from("<domainCapabilities>\n");
    let _ = writeln!(out, "  <path>{}</path>", escape(&target.emulator));
    let _ = writeln!(
        out,
        "  <domain>{}</domain>",
        if target.kvm { "kvm" } else { "qemu" }
    );
    let _ = writeln!(out, "  <machine>{}</machine>", escape(&target.machine));
    let _ = writeln!(out, "  <arch>{}</arch>", escape(&target.arch));
    let _ = writeln!(out, "  <vcpu max='{}'/>", target.max_vcpus);
    let _ = writeln!(
        out,
        "  <iothreads supported='{}'/>",
        yes_no(caps.has_type("iothread"))
    );
    os(&mut out, loaders);
    cpu(&mut out, target, caps);
    out.push_str("  <memoryBacking supported='yes'>\n");
    enum_values(
        &mut out,
        "    ",
        "sourceType",
        &offered(
            caps,
            &[
                ("file", Some("memory-backend-file")),
                ("anonymous", None),
                ("memfd", Some("memory-backend-memfd")),
            ],
        ),
    );
    out.push_str("  </memoryBacking>\n");
    devices(&mut out, target, caps);
    features(&mut out, target, caps);
    out.push_str("</domainCapabilities>\n");
    out
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn os(out: &mut String, loaders: &Loaders) {
    out.push_str("  <os supported='yes'>\n");
    let firmware: &[&str] = if loaders.paths.is_empty() {
        &[]
    } else {
        &["efi"]
    };
    enum_values(out, "    ", "firmware", firmware);
    out.push_str("    <loader supported='yes'>\n");
    for path in &loaders.paths {
        let _ = writeln!(out, "      <value>{}</value>", escape(path));
    }
    enum_values(out, "      ", "type", &["rom", "pflash"]);
    enum_values(out, "      ", "readonly", &["yes", "no"]);
    let secure: &[&str] = if loaders.secure {
        &["yes", "no"]
    } else {
        &["no"]
    };
    enum_values(out, "      ", "secure", secure);
    out.push_str("    </loader>\n  </os>\n");
}

/// The named model closest to the host-model CPU: same vendor, fewest features to add
/// or remove.
fn host_model(caps: &EmulatorCaps) -> Option<&CpuModel> {
    caps.models
        .iter()
        .filter(|m| vendor_name(&m.name) == cpuid_vendor_name(&caps.host_vendor))
        .min_by_key(|m| {
            caps.host_features.difference(&m.features).count()
                + m.features.difference(&caps.host_features).count()
        })
}

fn cpu(out: &mut String, target: &Target, caps: &EmulatorCaps) {
    out.push_str("  <cpu>\n");
    if target.kvm {
        out.push_str("    <mode name='host-passthrough' supported='yes'>\n");
        enum_values(out, "      ", "hostPassthroughMigratable", &["on", "off"]);
        out.push_str("    </mode>\n");
    } else {
        out.push_str("    <mode name='host-passthrough' supported='no'/>\n");
    }
    out.push_str("    <mode name='maximum' supported='yes'>\n");
    enum_values(out, "      ", "maximumMigratable", &["on", "off"]);
    out.push_str("    </mode>\n");
    match host_model(caps) {
        Some(model) => {
            out.push_str("    <mode name='host-model' supported='yes'>\n");
            let _ = writeln!(
                out,
                "      <model fallback='forbid'>{}</model>",
                escape(&model.name)
            );
            let _ = writeln!(
                out,
                "      <vendor>{}</vendor>",
                cpuid_vendor_name(&caps.host_vendor)
            );
            for feature in caps.host_features.difference(&model.features) {
                let _ = writeln!(
                    out,
                    "      <feature policy='require' name='{}'/>",
                    escape(&feature_name(feature))
                );
            }
            for feature in model.features.difference(&caps.host_features) {
                let _ = writeln!(
                    out,
                    "      <feature policy='disable' name='{}'/>",
                    escape(&feature_name(feature))
                );
            }
            out.push_str("    </mode>\n");
        }
        None => out.push_str("    <mode name='host-model' supported='no'/>\n"),
    }
    out.push_str("    <mode name='custom' supported='yes'>\n");
    for model in &caps.models {
        let _ = writeln!(
            out,
            "      <model usable='{}' vendor='{}'>{}</model>",
            yes_no(model.usable),
            vendor_name(&model.name),
            escape(&model.name)
        );
    }
    out.push_str("    </mode>\n  </cpu>\n");
}

fn devices(out: &mut String, target: &Target, caps: &EmulatorCaps) {
    let virtio_models = ["virtio", "virtio-transitional", "virtio-non-transitional"];
    out.push_str("  <devices>\n    <disk supported='yes'>\n");
    enum_values(
        out,
        "      ",
        "diskDevice",
        &["disk", "cdrom", "floppy", "lun"],
    );
    let q35 = target.machine.contains("q35");
    let buses: Vec<&str> = [
        ("ide", !q35),
        ("fdc", true),
        ("scsi", true),
        ("virtio", true),
        ("usb", caps.has_type("usb-storage")),
        ("sata", caps.has_type("ich9-ahci")),
    ]
    .iter()
    .filter(|(_, ok)| *ok)
    .map(|(bus, _)| *bus)
    .collect();
    enum_values(out, "      ", "bus", &buses);
    enum_values(out, "      ", "model", &virtio_models);
    out.push_str("    </disk>\n    <graphics supported='yes'>\n");
    enum_values(
        out,
        "      ",
        "type",
        &["sdl", "vnc", "spice", "egl-headless", "dbus"],
    );
    out.push_str("    </graphics>\n    <video supported='yes'>\n");
    let video = offered(
        caps,
        &[
            ("vga", Some("VGA")),
            ("cirrus", Some("cirrus-vga")),
            ("vmvga", Some("vmware-svga")),
            ("qxl", Some("qxl-vga")),
            ("virtio", Some("virtio-vga")),
            ("none", None),
            ("bochs", Some("bochs-display")),
            ("ramfb", Some("ramfb")),
        ],
    );
    enum_values(out, "      ", "modelType", &video);
    out.push_str("    </video>\n    <hostdev supported='yes'>\n");
    enum_values(out, "      ", "mode", &["subsystem"]);
    enum_values(
        out,
        "      ",
        "startupPolicy",
        &["default", "mandatory", "requisite", "optional"],
    );
    enum_values(out, "      ", "subsysType", &["usb", "pci", "scsi"]);
    enum_values(out, "      ", "capsType", &[]);
    enum_values(out, "      ", "pciBackend", &[]);
    out.push_str("    </hostdev>\n    <rng supported='yes'>\n");
    enum_values(out, "      ", "model", &virtio_models);
    let backends = offered(
        caps,
        &[
            ("random", Some("rng-random")),
            ("egd", Some("rng-egd")),
            ("builtin", Some("rng-builtin")),
        ],
    );
    enum_values(out, "      ", "backendModel", &backends);
    out.push_str("    </rng>\n    <filesystem supported='yes'>\n");
    let fs = offered(
        caps,
        &[
            ("path", None),
            ("handle", None),
            ("virtiofs", Some("vhost-user-fs-device")),
        ],
    );
    enum_values(out, "      ", "driverType", &fs);
    out.push_str("    </filesystem>\n    <tpm supported='yes'>\n");
    let tpm = offered(
        caps,
        &[("tpm-tis", Some("tpm-tis")), ("tpm-crb", Some("tpm-crb"))],
    );
    enum_values(out, "      ", "model", &tpm);
    enum_values(
        out,
        "      ",
        "backendModel",
        &["passthrough", "emulator", "external"],
    );
    enum_values(out, "      ", "backendVersion", &["1.2", "2.0"]);
    out.push_str("    </tpm>\n");
    let _ = writeln!(
        out,
        "    <redirdev supported='{}'>",
        yes_no(caps.has_type("usb-redir"))
    );
    enum_values(out, "      ", "bus", &["usb"]);
    out.push_str("    </redirdev>\n    <channel supported='yes'>\n");
    enum_values(out, "      ", "type", &["pty", "unix", "spicevmc"]);
    out.push_str("    </channel>\n  </devices>\n");
}

fn features(out: &mut String, _target: &Target, caps: &EmulatorCaps) {
    out.push_str("  <features>\n    <gic supported='no'/>\n");
    let _ = writeln!(
        out,
        "    <vmcoreinfo supported='{}'/>",
        yes_no(caps.has_type("vmcoreinfo"))
    );
    let _ = writeln!(
        out,
        "    <genid supported='{}'/>",
        yes_no(caps.has_type("vmgenid"))
    );
    out.push_str("    <backingStoreInput supported='yes'/>\n");
    out.push_str("    <backup supported='yes'/>\n");
    out.push_str("    <sev supported='no'/>\n    <sgx supported='no'/>\n");
    out.push_str("    <hyperv supported='yes'>\n");
    enum_values(out, "      ", "features", &["spinlocks", "vendor_id"]);
    out.push_str("    </hyperv>\n  </features>\n");
}
