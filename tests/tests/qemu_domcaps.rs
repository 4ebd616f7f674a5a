//! Domain capabilities, CPU model names, CPU comparison and baselines and the vCPU
//! limit of the qemu driver, compared with the real libvirtd 9.0 on the same host
//! (virt-install and virt-manager decide what to put into a guest from these answers),
//! and the definitions both daemons make of the XML virt-install writes.

mod qemu_reference;
mod qemu_support;

use integration_tests::tools::python;
use qemu_reference::ReferenceDaemon;
use qemu_support::QemuHost;

/// The document without the features of the host-model CPU: libvirt derives them
/// from its own CPU map (see libvirtd(8), DIFFERENCES); everything else must match.
fn without_host_model_features(xml: &str) -> String {
    xml.lines()
        .filter(|l| !l.trim_start().starts_with("<feature policy="))
        .collect::<Vec<_>>()
        .join("\n")
}

fn host_model_name(xml: &str) -> Option<&str> {
    let start = xml.find("<mode name='host-model' supported='yes'>")?;
    let rest = &xml[start..];
    let model = rest.find("<model fallback='forbid'>")? + "<model fallback='forbid'>".len();
    let end = rest[model..].find('<')?;
    Some(&rest[model..model + end])
}

#[test]
fn capabilities_cpu_calls_and_default_device_xml_match_libvirt() {
    let ours = QemuHost::start();
    let real = ReferenceDaemon::start("");
    for args in [
        "--virttype qemu",
        "--virttype qemu --machine q35",
        "--virttype qemu --machine pc-i440fx-2.0",
    ] {
        let command = format!("domcapabilities {args}");
        let expected = real.virsh_ok(&command);
        let got = ours.virsh_ok(&command);
        assert_eq!(
            without_host_model_features(&got),
            without_host_model_features(&expected),
            "{command}"
        );
        assert_eq!(
            host_model_name(&got),
            host_model_name(&expected),
            "{command}"
        );
    }
    // Under KVM (where the host has it) only the host-model CPU may differ.
    let expected = real.virsh_ok("domcapabilities");
    let got = ours.virsh_ok("domcapabilities");
    let strip_host_model = |xml: &str| {
        let mut out = String::new();
        let mut skipping = false;
        for line in xml.lines() {
            if line.contains("<mode name='host-model'") {
                skipping = !line.ends_with("/>");
                continue;
            }
            if skipping {
                skipping = !line.contains("</mode>");
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    };
    assert_eq!(strip_host_model(&got), strip_host_model(&expected));

    for command in [
        "cpu-models x86_64",
        "cpu-models ppc64",
        "cpu-models aarch64",
        "maxvcpus",
        "maxvcpus --type qemu",
    ] {
        assert_eq!(ours.virsh_ok(command), real.virsh_ok(command), "{command}");
    }
    for (command, error) in [
        (
            "domcapabilities --virttype qemu --machine nope",
            "the machine 'nope' is not supported by emulator",
        ),
        (
            "domcapabilities --arch ppc64",
            "unable to find any emulator to serve 'ppc64' architecture",
        ),
        (
            "domcapabilities --virttype xen",
            "does not support virt type 'xen'",
        ),
        (
            "cpu-models mips",
            "'mips' architecture is not supported by CPU driver",
        ),
    ] {
        let out = ours.virsh(command);
        assert!(
            !out.success() && out.stderr.contains(error),
            "{command}: {out}"
        );
        let reference = integration_tests::virsh(&real.uri(), command);
        assert!(
            reference.stderr.contains(error),
            "reference: {command}: {reference}"
        );
    }

    // CPU comparison and baselines, on CPUs whose answers do not depend on how
    // libvirt's CPU map lists features.
    let dir = ours.root().join("cpus");
    std::fs::create_dir_all(&dir).expect("cpu dir");
    let cpus = [
        (
            "qemu64",
            "<cpu><arch>x86_64</arch><model>qemu64</model></cpu>",
        ),
        (
            "penryn",
            "<cpu><arch>x86_64</arch><model>Penryn</model><vendor>Intel</vendor>\
             <feature name='sse4.2'/></cpu>",
        ),
        (
            "haswell",
            "<cpu mode='custom' match='exact'><model fallback='forbid'>Haswell</model>\
             <vendor>Intel</vendor></cpu>",
        ),
    ];
    for (name, xml) in cpus {
        let file = dir.join(format!("{name}.xml"));
        std::fs::write(&file, xml).expect("write cpu");
        let file = file.display();
        for command in [
            format!("cpu-compare {file}"),
            format!("hypervisor-cpu-compare --virttype qemu {file}"),
        ] {
            // cpu-compare exits with 1 for an incompatible CPU, like libvirt's virsh.
            let got = ours.virsh(&command);
            let expected = integration_tests::virsh(&real.uri(), &command);
            assert_eq!(
                (got.stdout.trim(), got.success()),
                (expected.stdout.trim(), expected.success()),
                "{command}: {got}"
            );
        }
        // (libvirt wants an <arch> in baseline input, which the Haswell CPU lacks.)
        if name != "haswell" {
            for command in [
                format!("cpu-baseline {file}"),
                format!("hypervisor-cpu-baseline --virttype qemu {file}"),
            ] {
                assert_eq!(
                    ours.virsh_ok(&command),
                    real.virsh_ok(&command),
                    "{command}"
                );
            }
        }
    }
    let out = ours.virsh(&format!(
        "cpu-compare --error {}",
        dir.join("qemu64.xml").display()
    ));
    assert!(
        !out.success() && out.stderr.contains("the CPU is incompatible with host CPU"),
        "{out}"
    );

    // virt-install's XML for an old or generic OS (i440fx, ICH9 USB2 set) and for a
    // modern one (q35, PCI Express root ports): both daemons store the same definition.
    let ports = "<controller type=\"pci\" model=\"pcie-root-port\"/>".repeat(10);
    let guests = [
        (
            "gen",
            "pc-i440fx-7.2",
            "<disk type=\"file\" device=\"disk\"><driver name=\"qemu\" type=\"qcow2\"/>\
             <source file=\"/var/lib/libvirt/images/gen.qcow2\"/><target dev=\"hda\" bus=\"ide\"/></disk>\
             <controller type=\"usb\" model=\"ich9-ehci1\"/>\
             <controller type=\"usb\" model=\"ich9-uhci1\"><master startport=\"0\"/></controller>\
             <controller type=\"usb\" model=\"ich9-uhci2\"><master startport=\"2\"/></controller>\
             <controller type=\"usb\" model=\"ich9-uhci3\"><master startport=\"4\"/></controller>\
             <console type=\"pty\"/><input type=\"tablet\" bus=\"usb\"/>\
             <graphics type=\"vnc\" port=\"-1\"/><sound model=\"ich9\"/>\
             <video><model type=\"vga\"/></video>"
                .to_string(),
        ),
        (
            "modern",
            "pc-q35-7.2",
            format!(
                "<disk type=\"file\" device=\"disk\"><driver name=\"qemu\" type=\"qcow2\"/>\
                 <source file=\"/var/lib/libvirt/images/modern.qcow2\"/><target dev=\"vda\" bus=\"virtio\"/></disk>\
                 <controller type=\"usb\" model=\"qemu-xhci\" ports=\"15\"/>\
                 <controller type=\"pci\" model=\"pcie-root\"/>{ports}\
                 <console type=\"pty\"/>\
                 <channel type=\"unix\"><source mode=\"bind\"/><target type=\"virtio\" name=\"org.qemu.guest_agent.0\"/></channel>\
                 <input type=\"tablet\" bus=\"usb\"/><graphics type=\"vnc\" port=\"-1\"/>\
                 <video><model type=\"virtio\"/></video>\
                 <rng model=\"virtio\"><backend model=\"random\">/dev/urandom</backend></rng>"
            ),
        ),
    ];
    for (name, machine, devices) in guests {
        let xml = format!(
            "<domain type=\"qemu\"><name>{name}</name>\
             <uuid>2ffed796-1059-4d4a-b120-fdf9f70fa34{}</uuid>\
             <memory>262144</memory><currentMemory>262144</currentMemory><vcpu current=\"1\">2</vcpu>\
             <os><type arch=\"x86_64\" machine=\"{machine}\">hvm</type><boot dev=\"hd\"/></os>\
             <features><acpi/><apic/><vmport state=\"off\"/></features>\
             <clock offset=\"utc\"><timer name=\"rtc\" tickpolicy=\"catchup\"/>\
             <timer name=\"pit\" tickpolicy=\"delay\"/><timer name=\"hpet\" present=\"no\"/></clock>\
             <pm><suspend-to-mem enabled=\"no\"/><suspend-to-disk enabled=\"no\"/></pm>\
             <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}</devices></domain>",
            name.len() % 10
        );
        let file = dir.join(format!("{name}.xml"));
        std::fs::write(&file, xml).expect("write guest xml");
        let define = format!("define {}", file.display());
        ours.virsh_ok(&define);
        real.virsh_ok(&define);
        let dump = format!("dumpxml {name}");
        assert_eq!(ours.virsh_ok(&dump), real.virsh_ok(&dump), "{name}");
    }

    // python3-libvirt, as virt-manager calls it.
    let out = python("domain_capabilities.py", &[&ours.uri()]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout.trim(), "True\n58", "{out}");
}
