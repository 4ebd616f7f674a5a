//! Command lines built from definitions, and option injection attempts refused or
//! neutralised.

use std::sync::OnceLock;

use super::*;
use crate::domain_xml::parse_domain_xml;
use crate::qemu::defaults::{apply_qemu_defaults, parse_options};

pub(super) fn host() -> &'static HostFacts {
    static HOST: OnceLock<HostFacts> = OnceLock::new();
    HOST.get_or_init(|| HostFacts {
        emulator: "/usr/bin/qemu-system-x86_64".into(),
        machine_aliases: vec![
            ("pc".into(), "pc-i440fx-7.2".into()),
            ("pc-i440fx-7.2".into(), "pc-i440fx-7.2".into()),
        ],
    })
}

fn default_conf() -> &'static QemuConf {
    static CONF: OnceLock<QemuConf> = OnceLock::new();
    CONF.get_or_init(QemuConf::default)
}

pub(super) fn def(xml: &str) -> DomainDef {
    let mut def = parse_domain_xml(xml, &parse_options()).expect("parses");
    apply_qemu_defaults(&mut def, host()).expect("valid");
    def
}

pub(super) fn ctx() -> LaunchContext<'static> {
    with_conf(default_conf())
}

fn with_conf(conf: &QemuConf) -> LaunchContext<'_> {
    LaunchContext {
        monitor_socket: "/run/libvirt/qemu/g.monitor",
        incoming: None,
        conf,
        host: host(),
        channel_dir: Some("/var/lib/libvirt/qemu/channel/target/domain-g"),
        disk_secrets: None,
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
    let d = def(
        "<domain type='kvm'><name>k</name><memory>65536</memory><os><type>hvm</type></os></domain>",
    );
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
fn network_interface_uses_the_tap_its_port_got() {
    let d = def("<domain type='qemu'><name>n</name><memory>65536</memory><os><type>hvm</type></os>\
        <devices><interface type='network'><source network='default'/></interface></devices></domain>");
    let err = build_command_line(&d, &ctx()).expect_err("no tap plugged yet");
    assert!(err.to_string().contains("without a tap device"), "{err}");
    let d = def(
        "<domain type='qemu'><name>n</name><memory>65536</memory><os><type>hvm</type></os>\
        <devices><interface type='network'><source network='default'/><target dev='vnet3'/>\
        </interface></devices></domain>",
    );
    let argv = build_command_line(&d, &ctx()).expect("builds");
    assert!(
        arg_after(&argv, "-netdev", "tap,").starts_with("tap,ifname=vnet3,"),
        "{argv:?}"
    );
}

const INJECTION: &str = ",romfile=/etc/shadow";

fn guest(devices: &str) -> String {
    format!(
        "<domain type='qemu'><name>g</name><memory>65536</memory><os><type>hvm</type></os>\
         <devices>{devices}</devices></domain>"
    )
}

/// The argument following `flag` that contains `needle`.
fn arg_after<'a>(argv: &'a [String], flag: &str, needle: &str) -> &'a str {
    argv.windows(2)
        .find(|w| w[0] == flag && w[1].contains(needle))
        .map(|w| w[1].as_str())
        .unwrap_or_else(|| panic!("no {flag} with {needle}: {argv:?}"))
}

pub(super) fn refused(def: &DomainDef) -> String {
    build_command_line(def, &ctx())
        .expect_err("refused")
        .to_string()
}

#[test]
fn free_text_has_its_commas_doubled() {
    let xml = format!(
        "<domain type='qemu'><name>n,romfile=x</name><memory>65536</memory>\
         <os><type>hvm</type></os><devices>\
         <disk type='file' device='disk'><source file='/tmp/d{INJECTION}'/>\
         <target dev='vda' bus='virtio'/></disk>\
         <disk type='block' device='disk'><source dev='/dev/b{INJECTION}'/>\
         <target dev='vdb' bus='virtio'/></disk>\
         <serial type='file'><source path='/tmp/s{INJECTION}'/></serial>\
         <interface type='bridge'><source bridge='br0'/><target dev='t{INJECTION}'/></interface>\
         <graphics type='vnc' socket='/tmp/v{INJECTION}'/>\
         </devices></domain>"
    );
    let d = def(&xml);
    let monitor = "/run/libvirt/qemu/n,romfile=x.monitor";
    let argv = build_command_line(
        &d,
        &LaunchContext {
            monitor_socket: monitor,
            ..ctx()
        },
    )
    .expect("builds");
    let doubled = ",,romfile=/etc/shadow";
    assert_eq!(
        arg_after(&argv, "-name", "guest="),
        "guest=n,,romfile=x,debug-threads=on"
    );
    assert!(arg_after(&argv, "-chardev", "charmonitor")
        .contains("path=/run/libvirt/qemu/n,,romfile=x.monitor,server=on"));
    assert!(arg_after(&argv, "-drive", "/tmp/d")
        .starts_with(&format!("file=/tmp/d{doubled},format=raw,")));
    assert!(arg_after(&argv, "-drive", "/dev/b")
        .starts_with(&format!("file=/dev/b{doubled},format=raw,")));
    assert!(arg_after(&argv, "-chardev", "charserial0")
        .contains(&format!("path=/tmp/s{doubled},append=on")));
    assert!(
        arg_after(&argv, "-netdev", "tap").starts_with(&format!("tap,ifname=t{doubled},script=no"))
    );
    assert_eq!(
        arg_after(&argv, "-vnc", "unix:"),
        format!("unix:/tmp/v{doubled}")
    );
    // No argument carries the injected option as an option of its own.
    for arg in &argv {
        let unescaped = arg.replace(",,", "");
        assert!(!unescaped.contains(",romfile="), "{arg}");
    }
}

#[test]
fn values_that_bypassed_define_checks_are_refused_at_start() {
    let base = def(&guest(
        "<interface type='user'><model type='e1000'/></interface>\
         <video><model type='vga'/></video><watchdog model='i6300esb' action='reset'/>\
         <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='/tmp/d'/><target dev='vda' bus='virtio'/></disk>",
    ));
    build_command_line(&base, &ctx()).expect("the clean definition builds");
    let edit = |f: &dyn Fn(&mut DomainDef)| {
        let mut d = base.clone();
        f(&mut d);
        refused(&d)
    };
    let device = |d: &mut DomainDef, name: &str| -> usize {
        d.devices
            .iter()
            .position(|x| x.name == name)
            .expect("device")
    };
    let bad = format!("e1000{INJECTION}");
    let err = edit(&|d| {
        let i = device(d, "interface");
        d.devices[i]
            .child_mut("model")
            .expect("model")
            .set_attr("type", &bad);
    });
    assert!(
        err.contains("Model name contains invalid characters"),
        "{err}"
    );
    let err = edit(&|d| {
        let i = device(d, "interface");
        d.devices[i]
            .child_mut("mac")
            .expect("mac")
            .set_attr("address", &format!("52:54:00:00:00:01{INJECTION}"));
    });
    assert!(err.contains("unable to parse mac address"), "{err}");
    let err = edit(&|d| d.os.machine = Some(format!("pc-i440fx-7.2{INJECTION}")));
    assert!(err.contains("does not support machine type"), "{err}");
    let err = edit(&|d| d.os.machine = Some("pc-q35-99.0".into()));
    assert!(
        err.contains("does not support machine type 'pc-q35-99.0'"),
        "{err}"
    );
    let err = edit(&|d| {
        let cpu = d.extra.iter_mut().find(|e| e.name == "cpu").expect("cpu");
        cpu.child_mut("model").expect("model").text = Some(format!("qemu64{INJECTION}"));
    });
    assert!(err.contains("CPU model"), "{err}");
    let err = edit(&|d| {
        let i = device(d, "video");
        d.devices[i]
            .child_mut("model")
            .expect("model")
            .set_attr("type", &bad);
    });
    assert!(err.contains("video type"), "{err}");
    let err = edit(&|d| {
        let i = device(d, "watchdog");
        d.devices[i].set_attr("model", &bad);
    });
    assert!(err.contains("watchdog model"), "{err}");
    let err = edit(&|d| {
        let i = device(d, "watchdog");
        d.devices[i].set_attr("action", &format!("reset{INJECTION}"));
    });
    assert!(err.contains("watchdog action"), "{err}");
    let err = edit(&|d| {
        let i = device(d, "disk");
        d.devices[i]
            .child_mut("driver")
            .expect("driver")
            .set_attr("type", &format!("raw{INJECTION}"));
    });
    assert!(err.contains("unknown driver format value"), "{err}");
}

#[test]
fn serial_files_and_vnc_sockets_need_absolute_paths_and_listen_an_address() {
    let d = def(&guest(
        "<serial type='file'><source path='relative.log'/></serial>",
    ));
    assert!(refused(&d).contains("must be absolute"));
    let d = def(&guest("<graphics type='vnc' socket='vnc.sock'/>"));
    assert!(refused(&d).contains("must be absolute"));
    let d = def(&guest(&format!(
        "<graphics type='vnc' listen='127.0.0.1{INJECTION}'/>"
    )));
    assert!(refused(&d).contains("neither an IP address nor a host name"));
    let conf = QemuConf {
        vnc_listen: format!("0.0.0.0{INJECTION}"),
        ..QemuConf::default()
    };
    let d = def(&guest("<graphics type='vnc'/>"));
    let err = build_command_line(&d, &with_conf(&conf)).expect_err("refused");
    assert!(err.to_string().contains("neither an IP address"), "{err}");
}

#[test]
fn vnc_password_is_requested_on_the_command_line_but_never_written_there() {
    let d = def(&guest("<graphics type='vnc' passwd='s3cret'/>"));
    let argv = build_command_line(&d, &ctx()).expect("builds");
    assert_eq!(
        arg_after(&argv, "-vnc", "127.0.0.1"),
        "127.0.0.1:0,to=100,password=on"
    );
    assert!(!argv.iter().any(|a| a.contains("s3cret")), "{argv:?}");

    let d = def(&guest("<graphics type='vnc' port='5901' autoport='no'/>"));
    let argv = build_command_line(&d, &ctx()).expect("builds");
    assert_eq!(arg_after(&argv, "-vnc", "127.0.0.1"), "127.0.0.1:1");
    let conf = QemuConf {
        vnc_password: Some(crate::qemu::conf::Secret("fromconf".into())),
        vnc_listen: "::1".into(),
        ..QemuConf::default()
    };
    let argv = build_command_line(&d, &with_conf(&conf)).expect("builds");
    assert_eq!(arg_after(&argv, "-vnc", "[::1]"), "[::1]:1,password=on");
}

#[test]
fn vnc_tls_adds_a_credentials_object() {
    let conf = QemuConf {
        vnc_tls: true,
        vnc_tls_x509_cert_dir: "/etc/pki/qemu,x".into(),
        vnc_tls_x509_verify: false,
        ..QemuConf::default()
    };
    let d = def(&guest("<graphics type='vnc'/>"));
    let argv = build_command_line(&d, &with_conf(&conf)).expect("builds");
    assert_eq!(
        arg_after(&argv, "-object", "tls-creds-x509"),
        "tls-creds-x509,id=vnc-tls-creds0,dir=/etc/pki/qemu,,x,endpoint=server,verify-peer=off"
    );
    assert_eq!(
        arg_after(&argv, "-vnc", "127.0.0.1"),
        "127.0.0.1:0,to=100,tls-creds=vnc-tls-creds0"
    );
    let object = argv.iter().position(|a| a == "-object").expect("object");
    let vnc = argv.iter().position(|a| a == "-vnc").expect("vnc");
    assert!(
        object < vnc,
        "the object must exist before the display uses it"
    );
}

#[test]
fn unenforceable_vnc_settings_refuse_the_start() {
    let d = def(&guest("<graphics type='vnc'/>"));
    for conf in [
        QemuConf {
            vnc_sasl: true,
            ..QemuConf::default()
        },
        QemuConf {
            vnc_tls: true,
            vnc_tls_x509_secret_uuid: Some("6b7c1d0e-0000-4000-8000-000000000001".into()),
            ..QemuConf::default()
        },
    ] {
        let err = build_command_line(&d, &with_conf(&conf)).expect_err("refused");
        assert!(
            err.to_string().starts_with("unsupported configuration: "),
            "{err}"
        );
    }
    let two = def(&guest("<graphics type='vnc'/><graphics type='vnc'/>"));
    assert!(refused(&two).contains("only 1 graphics device"));
    let expiring = def(&guest(
        "<graphics type='vnc' passwd='x' passwdValidTo='soon'/>",
    ));
    assert!(refused(&expiring).contains("password validity time"));
    // Without a VNC display, VNC settings are irrelevant.
    let headless = def(&guest(""));
    let conf = QemuConf {
        vnc_sasl: true,
        ..QemuConf::default()
    };
    build_command_line(&headless, &with_conf(&conf)).expect("builds");
}

#[test]
fn disk_discard_policy_reaches_the_drive() {
    let disk = |discard: &str| {
        def(&guest(&format!(
            "<disk type='file' device='disk'><driver name='qemu' type='raw' discard='{discard}'/>\
             <source file='/tmp/d'/><target dev='vda' bus='virtio'/></disk>"
        )))
    };
    let argv = build_command_line(&disk("unmap"), &ctx()).expect("builds");
    assert!(arg_after(&argv, "-drive", "/tmp/d").ends_with(",discard=unmap"));
    let argv = build_command_line(&disk("default"), &ctx()).expect("builds");
    assert!(!arg_after(&argv, "-drive", "/tmp/d").contains("discard"));
    // A value that bypassed the define-time check.
    let mut bad = disk("unmap");
    let i = bad
        .devices
        .iter()
        .position(|d| d.name == "disk")
        .expect("disk");
    bad.devices[i]
        .child_mut("driver")
        .expect("driver")
        .set_attr("discard", &format!("unmap{INJECTION}"));
    let err = refused(&bad);
    assert!(err.contains("unknown disk discard value"), "{err}");
}
