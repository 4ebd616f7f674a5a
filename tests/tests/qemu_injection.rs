//! No option injection into QEMU: values of a definition that would add options to
//! QEMU's command line are refused (NIC models, machine types), and free text with
//! commas (domain names, disk and serial paths) reaches the real QEMU escaped, so the
//! guest runs with exactly the files it names.

mod qemu_support;

use std::fs;

use qemu_support::QemuHost;

fn write(host: &QemuHost, name: &str, text: &str) -> String {
    let path = host.root().join(name);
    fs::write(&path, text).expect("write xml");
    path.display().to_string()
}

#[test]
fn option_text_in_models_and_machine_types_is_refused() {
    let host = QemuHost::start();
    let nic = write(
        &host,
        "nic.xml",
        "<domain type='qemu'><name>nic</name><memory unit='KiB'>65536</memory>\
         <os><type>hvm</type></os><devices><interface type='user'>\
         <model type='e1000,romfile=/etc/shadow'/></interface></devices></domain>",
    );
    let out = host.virsh(&format!("define {nic}"));
    assert!(!out.success(), "NIC model injection accepted: {out}");
    assert!(
        out.stderr
            .contains("invalid argument: Model name contains invalid characters"),
        "{out}"
    );

    let machine = write(
        &host,
        "machine.xml",
        "<domain type='qemu'><name>machine</name><memory unit='KiB'>65536</memory>\
         <os><type machine='pc,memory-backend=x'>hvm</type></os></domain>",
    );
    let out = host.virsh(&format!("define {machine}"));
    assert!(!out.success(), "machine type injection accepted: {out}");
    assert!(
        out.stderr
            .contains("does not support machine type 'pc,memory-backend=x'"),
        "{out}"
    );
    let watchdog = write(
        &host,
        "watchdog.xml",
        "<domain type='qemu'><name>wd</name><memory unit='KiB'>65536</memory>\
         <os><type>hvm</type></os><devices>\
         <watchdog model='i6300esb,romfile=/etc/shadow'/></devices></domain>",
    );
    let out = host.virsh(&format!("define {watchdog}"));
    assert!(!out.success(), "watchdog model injection accepted: {out}");
    assert_eq!(host.virsh_ok("list --all --name"), "");
}

#[test]
fn commas_in_names_and_paths_reach_qemu_escaped() {
    let host = QemuHost::start();
    let name = "comma,romfile=x";
    let disk = host.root().join("disk,romfile=shadow.img");
    fs::write(&disk, vec![0u8; 1024 * 1024]).expect("write disk image");
    let xml = host.guest_xml(name).replace(
        "</devices>",
        &format!(
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk></devices>",
            disk.display()
        ),
    );
    let file = write(&host, "comma.xml", &xml);
    host.virsh_ok(&format!("define {file}"));
    host.virsh_ok(&format!("start '{name}'"));
    // The serial log path has the comma too: the boot marker proves QEMU opened it.
    host.wait_booted(name, 1);

    let pids = host.guest_pids();
    assert_eq!(pids.len(), 1, "one qemu expected: {pids:?}");
    let raw = fs::read(format!("/proc/{}/cmdline", pids[0])).expect("qemu cmdline");
    let argv: Vec<String> = raw
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let arg_after = |flag: &str, needle: &str| -> String {
        argv.windows(2)
            .find(|w| w[0] == flag && w[1].contains(needle))
            .map(|w| w[1].clone())
            .unwrap_or_else(|| panic!("no {flag} with {needle} in {argv:?}"))
    };
    assert_eq!(
        arg_after("-name", "guest="),
        "guest=comma,,romfile=x,debug-threads=on"
    );
    assert!(
        arg_after("-drive", "disk,").starts_with(&format!(
            "file={}/disk,,romfile=shadow.img,format=raw,",
            host.root().display()
        )),
        "{argv:?}"
    );
    assert!(
        arg_after("-chardev", "charmonitor").contains("comma,,romfile=x.monitor,server=on"),
        "{argv:?}"
    );
    assert!(
        arg_after("-chardev", "charserial0").contains("comma,,romfile=x.serial,append=on"),
        "{argv:?}"
    );
    host.virsh_ok(&format!("destroy '{name}'"));
}
