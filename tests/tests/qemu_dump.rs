//! Memory-only core dumps of a booted tiny guest (`virsh dump --memory-only`):
//! ELF and kdump files the daemon creates 0600, the guest running on, or
//! stopped as crashed with `--crash`; full dumps refused; peeks at a disk and at
//! guest memory, and save/restore through `virDomainSaveParams`/
//! `virDomainRestoreParams` (python3-libvirt).

mod qemu_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use integration_tests::tools::require_tool;
use qemu_support::QemuHost;

fn define(host: &QemuHost, name: &str) {
    let disk = host.root().join("peek.raw");
    let mut content = vec![0u8; 1 << 20];
    content[4096..4104].copy_from_slice(b"PEEKDATA");
    fs::write(&disk, content).expect("disk image");
    let xml = host
        .guest_xml(name)
        // A slow TCG boot must not fail the kernel's timer check.
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check")
        .replace(
            "<devices>",
            &format!(
                "<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>\
                 <source file='{}'/><target dev='vda' bus='virtio'/></disk>",
                disk.display()
            ),
        );
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
}

fn head(path: &std::path::Path, n: usize) -> Vec<u8> {
    let bytes = fs::read(path).expect("dump file");
    bytes[..n.min(bytes.len())].to_vec()
}

#[test]
fn memory_only_dumps_and_save_params() {
    let host = QemuHost::start();
    let name = "dm1";
    define(&host, name);
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);

    let elf = host.root().join("dm1.elf");
    host.virsh_ok(&format!("dump {name} {} --memory-only", elf.display()));
    assert_eq!(head(&elf, 4), b"\x7fELF");
    let mode = fs::metadata(&elf).expect("dump").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(fs::metadata(&elf).expect("dump").len() > 64 << 20);
    assert_eq!(host.domstate(name), "running (unpaused)");

    let kdump = host.root().join("dm1.kdump");
    host.virsh_ok(&format!(
        "dump {name} {} --memory-only --format kdump-zlib --live",
        kdump.display()
    ));
    // QEMU writes kdump files to a descriptor in makedumpfile's flattened format.
    assert_eq!(head(&kdump, 12), b"makedumpfile");

    let out = host.virsh(&format!("dump {name} {}", host.root().join("y").display()));
    assert!(out.stderr.contains("not supported"), "{out}");

    // Save and restore through the typed-parameter calls.
    let image = host.root().join("dm1.save");
    let python = require_tool("/usr/bin/python3", "python3-libvirt");
    let script = format!(
        "import libvirt\n\
         c = libvirt.open('{uri}')\n\
         d = c.lookupByName('{name}')\n\
         print(d.blockPeek('vda', 4096, 8, 0).decode())\n\
         print(d.memoryPeek(0xFFFF0, 16, libvirt.VIR_MEMORY_PHYSICAL)[0])\n\
         try:\n    d.blockPeek('vda', (1 << 20) - 4, 8, 0)\nexcept libvirt.libvirtError as e:\n    print(e)\n\
         try:\n    d.coreDumpWithFormat('{image}.x', 1, 0)\nexcept libvirt.libvirtError as e:\n    print(e)\n\
         d.saveParams({{libvirt.VIR_DOMAIN_SAVE_PARAM_FILE: '{image}'}})\n\
         print(d.state()[0])\n\
         c.restoreParams({{libvirt.VIR_DOMAIN_SAVE_PARAM_FILE: '{image}'}})\n\
         print(c.lookupByName('{name}').state()[0])\n",
        uri = host.uri(),
        image = image.display()
    );
    let out = Command::new(python)
        .args(["-c", &script])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3-libvirt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The disk's bytes; SeaBIOS's far jump at the reset vector; libvirt's
    // refusals past the end and of kdump without --memory-only; shut off (5) after the save, running (1) after the
    // restore.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "PEEKDATA\n234\ninvalid argument: 'vda' starting from 1048572 has only 4 bytes available\n\
         Operation not supported: kdump-compressed format is only supported with memory-only dump\n\
         5\n1\n"
    );

    // --crash: the guest stops as crashed once its memory is on disk.
    let crash = host.root().join("dm1.crash");
    host.virsh_ok(&format!(
        "dump {name} {} --memory-only --crash",
        crash.display()
    ));
    assert_eq!(head(&crash, 4), b"\x7fELF");
    assert_eq!(host.domstate(name), "shut off (crashed)");
}
