//! Command lines for the devices virt-install and virt-manager put into a new guest,
//! checked against what libvirt 9.0 generates for the same definition.

use super::tests::{ctx, def, refused};
use super::*;

/// virt-install 4.1's XML for `--import --osinfo generic --graphics vnc`, plus the
/// guest agent channel, sound, RNG and a hot-pluggable second vCPU.
const VIRT_INSTALL_XML: &str = r#"<domain type="qemu">
  <name>t1</name>
  <uuid>2ffed796-1059-4d4a-b120-fdf9f70fa340</uuid>
  <memory>262144</memory>
  <vcpu current="1">2</vcpu>
  <os><type arch="x86_64" machine="pc-i440fx-7.2">hvm</type><boot dev="hd"/></os>
  <features><acpi/><apic/><vmport state="off"/></features>
  <clock offset="utc">
    <timer name="rtc" tickpolicy="catchup"/>
    <timer name="pit" tickpolicy="delay"/>
    <timer name="hpet" present="no"/>
  </clock>
  <pm><suspend-to-mem enabled="no"/><suspend-to-disk enabled="no"/></pm>
  <devices>
    <disk type="file" device="disk"><driver name="qemu" type="qcow2"/>
      <source file="/var/lib/libvirt/images/t1.qcow2"/><target dev="hda" bus="ide"/></disk>
    <controller type="usb" model="ich9-ehci1"/>
    <controller type="usb" model="ich9-uhci1"><master startport="0"/></controller>
    <controller type="usb" model="ich9-uhci2"><master startport="2"/></controller>
    <controller type="usb" model="ich9-uhci3"><master startport="4"/></controller>
    <console type="pty"/>
    <channel type="unix"><target type="virtio" name="org.qemu.guest_agent.0"/></channel>
    <input type="tablet" bus="usb"/>
    <graphics type="vnc" port="-1"/>
    <sound model="ich9"/>
    <video><model type="vga"/></video>
    <memballoon model="virtio"/>
    <rng model="virtio"><backend model="random">/dev/urandom</backend></rng>
  </devices>
</domain>"#;

fn command_line(xml: &str) -> String {
    build_command_line(&def(xml), &ctx())
        .expect("builds")
        .join(" ")
}

#[test]
fn virt_install_defaults_become_libvirts_devices_and_slots() {
    let line = command_line(VIRT_INSTALL_XML);
    for expected in [
        "-machine pc-i440fx-7.2,usb=off,vmport=off,dump-guest-core=off",
        "-smp 1,maxcpus=2,sockets=2,cores=1,threads=1",
        "-rtc base=utc,driftfix=slew -global kvm-pit.lost_tick_policy=delay -no-hpet",
        "-global PIIX4_PM.disable_s3=1 -global PIIX4_PM.disable_s4=1",
        "-device ich9-usb-ehci1,id=usb,bus=pci.0,addr=0x4.0x7",
        "-device ich9-usb-uhci1,masterbus=usb.0,firstport=0,bus=pci.0,multifunction=on,addr=0x4",
        "-device ich9-usb-uhci2,masterbus=usb.0,firstport=2,bus=pci.0,addr=0x4.0x1",
        "-device ich9-usb-uhci3,masterbus=usb.0,firstport=4,bus=pci.0,addr=0x4.0x2",
        "-device virtio-serial-pci,id=virtio-serial0,bus=pci.0,addr=0x5",
        "-chardev socket,id=charchannel0,path=/var/lib/libvirt/qemu/channel/target/domain-g/org.qemu.guest_agent.0,server=on,wait=off",
        "-device virtserialport,bus=virtio-serial0.0,nr=1,chardev=charchannel0,id=channel0,name=org.qemu.guest_agent.0",
        "-device usb-tablet,id=input0,bus=usb.0,port=1",
        "-device ich9-intel-hda,id=sound0,bus=pci.0,addr=0x3",
        "-device hda-duplex,id=sound0-codec0,bus=sound0.0,cad=0,audiodev=audio1",
        "-audiodev id=audio1,driver=none",
        "-device VGA,id=video0,bus=pci.0,addr=0x2",
        "-device virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x6",
        "-object rng-random,id=objrng0,filename=/dev/urandom",
        "-device virtio-rng-pci,rng=objrng0,id=rng0,bus=pci.0,addr=0x7",
        "-chardev pty,id=charserial0 -device isa-serial,chardev=charserial0,id=serial0,index=0",
    ] {
        assert!(line.contains(expected), "missing {expected}\nin {line}");
    }
}

#[test]
fn defined_xml_keeps_the_addresses_libvirt_assigns() {
    let xml = def(VIRT_INSTALL_XML).to_xml(crate::domain_xml::FormatOptions::default());
    for expected in [
        "<controller type='usb' index='0' model='ich9-uhci1'>\n      <master startport='0'/>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0' multifunction='on'/>",
        "<controller type='usb' index='0' model='ich9-uhci3'>",
        "<target type='isa-serial' port='0'>\n        <model name='isa-serial'/>\n      </target>",
        "<address type='virtio-serial' controller='0' bus='0' port='1'/>",
        "<input type='tablet' bus='usb'>\n      <address type='usb' bus='0' port='1'/>",
        "<vcpu placement='static' current='1'>2</vcpu>",
    ] {
        assert!(xml.contains(expected), "missing {expected}\nin {xml}");
    }
}

#[test]
fn other_video_sound_and_input_models() {
    let line = command_line(
        "<domain type='qemu'><name>m</name><memory>65536</memory><os><type>hvm</type></os><devices>\
         <controller type='usb' model='qemu-xhci'/><input type='keyboard' bus='usb'/>\
         <input type='mouse' bus='virtio'/><sound model='ac97'/><sound model='ich6'/>\
         <video><model type='virtio'/></video></devices></domain>",
    );
    for expected in [
        "-device qemu-xhci,id=usb,bus=pci.0,addr=0x",
        "-device usb-kbd,id=input0,bus=usb.0,port=1",
        "-device virtio-mouse-pci,id=input1,bus=pci.0,addr=0x",
        "-device AC97,id=sound0,audiodev=audio1,bus=pci.0,addr=0x3",
        "-device intel-hda,id=sound1,bus=pci.0,addr=0x4",
        "-device virtio-vga,id=video0,bus=pci.0,addr=0x2",
    ] {
        assert!(line.contains(expected), "missing {expected}\nin {line}");
    }
    for model in ["bochs", "none", "cirrus"] {
        let line = command_line(&format!(
            "<domain type='qemu'><name>v</name><memory>65536</memory><os><type>hvm</type></os>\
             <devices><video><model type='{model}'/></video></devices></domain>"
        ));
        match model {
            "none" => assert!(!line.contains("id=video0"), "{line}"),
            "bochs" => assert!(line.contains("-device bochs-display,id=video0"), "{line}"),
            _ => assert!(line.contains("-device cirrus-vga,id=video0"), "{line}"),
        }
    }
}

#[test]
fn host_cpu_modes_under_tcg_and_kvm() {
    let cpu = |virt: &str, mode: &str| {
        def(&format!(
            "<domain type='{virt}'><name>c</name><memory>65536</memory><os><type>hvm</type></os>\
             <cpu mode='{mode}'/></domain>"
        ))
    };
    assert_eq!(
        refused(&cpu("qemu", "host-passthrough")),
        "unsupported configuration: CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported by hypervisor"
    );
    let argv = build_command_line(&cpu("qemu", "host-model"), &ctx()).expect("builds");
    assert!(argv.join(" ").contains("-cpu max"));
    let argv = build_command_line(&cpu("kvm", "host-passthrough"), &ctx()).expect("builds");
    assert!(argv.join(" ").contains("-cpu host"));
    let xml = cpu("qemu", "host-passthrough").to_xml(crate::domain_xml::FormatOptions::default());
    assert!(
        xml.contains("<cpu mode='host-passthrough' check='none' migratable='on'/>"),
        "{xml}"
    );
}

#[test]
fn spice_channels_and_unknown_models_are_refused() {
    let guest = |devices: &str| {
        def(&format!(
            "<domain type='qemu'><name>r</name><memory>65536</memory><os><type>hvm</type></os>\
             <devices>{devices}</devices></domain>"
        ))
    };
    let spice = refused(&guest(
        "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>",
    ));
    assert!(spice.contains("spicevmc"), "{spice}");
    let usb = refused(&guest("<controller type='usb' model='bogus'/>"));
    assert!(usb.contains("model 'bogus'"), "{usb}");
    let rng = refused(&guest(
        "<rng model='virtio'><backend model='random'>/etc/shadow</backend></rng>",
    ));
    assert!(rng.contains("/etc/shadow"), "{rng}");
    let name = refused(&guest(
        "<channel type='unix'><target type='virtio' name='../x,y'/></channel>",
    ));
    assert!(name.contains("invalid characters"), "{name}");
}

/// virt-install's XML for a modern OS on q35, with libvirt 9.0's placement: the video
/// device at 00:01.0, root ports packed from 00:02.0, each device on its own port.
#[test]
fn q35_devices_go_on_root_ports_as_libvirt_places_them() {
    let ports = "<controller type='pci' model='pcie-root-port'/>".repeat(10);
    let xml = format!(
        "<domain type='qemu'><name>q</name><memory>262144</memory>\
         <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>\
         <disk type='file' device='disk'><source file='/d.qcow2'/><target dev='vda' bus='virtio'/></disk>\
         <controller type='usb' model='qemu-xhci' ports='15'/>\
         <controller type='pci' model='pcie-root'/>{ports}\
         <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\
         <input type='tablet' bus='usb'/><video><model type='virtio'/></video>\
         <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng></devices></domain>"
    );
    let q35 = HostFacts {
        emulator: "/usr/bin/qemu-system-x86_64".into(),
        machine_aliases: vec![("pc-q35-7.2".into(), "pc-q35-7.2".into())],
    };
    let mut d = crate::domain_xml::parse_domain_xml(&xml, &crate::qemu::defaults::parse_options())
        .expect("parses");
    crate::qemu::defaults::apply_qemu_defaults(&mut d, &q35).expect("valid");
    let text = d.to_xml(crate::domain_xml::FormatOptions::default());
    for expected in [
        "<controller type='pci' index='1' model='pcie-root-port'>\n      <model name='pcie-root-port'/>\n      <target chassis='1' port='0x10'/>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/>",
        "<controller type='pci' index='10' model='pcie-root-port'>\n      <model name='pcie-root-port'/>\n      <target chassis='10' port='0x19'/>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x1'/>",
        "<controller type='sata' index='0'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>",
        "<controller type='usb' index='0' model='qemu-xhci' ports='15'>\n      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>",
    ] {
        assert!(text.contains(expected), "missing {expected}\nin {text}");
    }
    let mut context = ctx();
    context.host = Box::leak(Box::new(q35));
    let line = build_command_line(&d, &context).expect("builds").join(" ");
    for expected in [
        "-device pcie-root-port,port=16,chassis=1,id=pci.1,bus=pcie.0,multifunction=on,addr=0x2",
        "-device pcie-root-port,port=25,chassis=10,id=pci.10,bus=pcie.0,addr=0x3.0x1",
        "-device qemu-xhci,p2=15,p3=15,id=usb,bus=pci.1,addr=0x0",
        "-device virtio-serial-pci,id=virtio-serial0,bus=pci.2,addr=0x0",
        "id=virtio-disk0,bus=pci.3,addr=0x0",
        "-device virtio-vga,id=video0,bus=pcie.0,addr=0x1",
        "-device virtio-balloon-pci,id=balloon0,bus=pci.4,addr=0x0",
        "-device virtio-rng-pci,rng=objrng0,id=rng0,bus=pci.5,addr=0x0",
    ] {
        assert!(line.contains(expected), "missing {expected}\nin {line}");
    }
    assert!(
        !line.contains("ich9-ahci"),
        "the built-in AHCI is not added again: {line}"
    );
    let root_ports_first = line.find("pcie-root-port").expect("ports");
    assert!(
        root_ports_first < line.find("qemu-xhci").expect("usb"),
        "{line}"
    );
}
