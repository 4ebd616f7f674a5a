//! qemu:///system definitions: define, dumpxml with the qemu defaults, list, autostart
//! links, persistence across a daemon restart, undefine, and the refusal of bad XML.

mod qemu_support;

use std::fs;

use qemu_support::QemuHost;

const MINIMAL: &str = "<domain type='qemu'>
  <name>plain</name>
  <uuid>462adde7-cde2-4751-aca8-a3b5b5e19414</uuid>
  <memory unit='KiB'>65536</memory>
  <os><type>hvm</type></os>
</domain>";

fn write(host: &QemuHost, name: &str, text: &str) -> String {
    let path = host.root().join(name);
    fs::write(&path, text).expect("write xml");
    path.display().to_string()
}

/// Domain definition files (the network driver's `networks/` directory lives there too).
fn config_files(host: &QemuHost) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(host.root().join("etc/libvirt/qemu"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name != "networks")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn define_dumpxml_autostart_restart_undefine() {
    let mut host = QemuHost::start();
    let file = write(&host, "plain.xml", MINIMAL);
    host.virsh_ok(&format!("define {file}"));
    let xml = host.virsh_ok("dumpxml plain");
    assert!(xml.starts_with("<domain type='qemu'>\n  <name>plain</name>\n  <uuid>462adde7-cde2-4751-aca8-a3b5b5e19414</uuid>"), "{xml}");
    assert!(
        xml.contains("<type arch='x86_64' machine='pc-i440fx-"),
        "{xml}"
    );
    assert!(
        xml.contains("<emulator>/usr/bin/qemu-system-x86_64</emulator>"),
        "{xml}"
    );
    assert!(
        xml.contains("<model fallback='forbid'>qemu64</model>"),
        "{xml}"
    );
    assert!(xml.contains("<memballoon model='virtio'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>"), "{xml}");
    assert_eq!(config_files(&host), vec!["plain.xml".to_string()]);
    let stored =
        fs::read_to_string(host.root().join("etc/libvirt/qemu/plain.xml")).expect("stored");
    assert_eq!(stored.trim(), xml);

    let list = host.virsh_ok("list --all");
    assert!(
        list.lines()
            .any(|l| l.contains("plain") && l.contains("shut off")),
        "{list}"
    );
    assert_eq!(
        host.virsh_ok("domstate --reason plain"),
        "shut off (unknown)"
    );

    host.virsh_ok("autostart plain");
    let link = host.root().join("etc/libvirt/qemu/autostart/plain.xml");
    assert!(
        fs::symlink_metadata(&link).is_ok(),
        "autostart link missing"
    );
    assert_eq!(host.virsh_ok("list --all --autostart --name"), "plain");

    host.kill_daemon();
    host.start_daemon();
    let info = host.virsh_ok("dominfo plain");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Autostart:") && l.contains("enable")),
        "{info}"
    );
    assert_eq!(host.virsh_ok("dumpxml plain"), xml);

    host.virsh_ok("autostart --disable plain");
    assert!(
        fs::symlink_metadata(&link).is_err(),
        "autostart link left behind"
    );
    host.virsh_ok("undefine plain");
    assert!(config_files(&host).iter().all(|f| f != "plain.xml"));
    let out = host.virsh("dominfo plain");
    assert!(!out.success());
    assert!(
        out.stderr.contains("failed to get domain 'plain'"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_definitions_are_refused_and_leave_no_file() {
    let host = QemuHost::start();
    let cases = [
        (
            "<domain type='qemu'><name>b</name><memory>65536</memory><os><type>hvm</type></os><devices><disk type='file' device='disk'><source file='/x.img'/><target dev='vda' bus='floppyish'/></disk></devices></domain>",
            "unknown disk bus type 'floppyish'",
        ),
        (
            "<domain type='qemu'><memory>65536</memory><os><type>hvm</type></os></domain>",
            "missing name information",
        ),
        (
            "<domain type='qemu'><name>m</name><memory>0</memory><os><type>hvm</type></os></domain>",
            "Memory size must be specified",
        ),
        (
            "<domain type='qemu'><name>x</name><memory>65536</memory><os><type>hvm</type></os>",
            "(domain_definition)",
        ),
    ];
    for (i, (xml, expected)) in cases.iter().enumerate() {
        let file = write(&host, &format!("bad{i}.xml"), xml);
        let out = host.virsh(&format!("define {file}"));
        assert!(!out.success(), "case {i} was accepted");
        assert!(out.stderr.contains(expected), "case {i}: {}", out.stderr);
    }
    assert!(config_files(&host).is_empty(), "{:?}", config_files(&host));

    let file = write(&host, "plain.xml", MINIMAL);
    host.virsh_ok(&format!("define {file}"));
    let same_name = write(
        &host,
        "dup.xml",
        &MINIMAL.replace(
            "462adde7-cde2-4751-aca8-a3b5b5e19414",
            "11111111-2222-3333-4444-555555555555",
        ),
    );
    let out = host.virsh(&format!("define {same_name}"));
    assert!(
        out.stderr.contains(
            "domain 'plain' already exists with uuid 462adde7-cde2-4751-aca8-a3b5b5e19414"
        ),
        "{}",
        out.stderr
    );
    let same_uuid = write(
        &host,
        "clash.xml",
        &MINIMAL.replace("<name>plain</name>", "<name>other</name>"),
    );
    let out = host.virsh(&format!("define {same_uuid}"));
    assert!(
        out.stderr.contains(
            "domain 'plain' is already defined with uuid 462adde7-cde2-4751-aca8-a3b5b5e19414"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(config_files(&host), vec!["plain.xml".to_string()]);
}

#[test]
fn sighup_picks_up_definitions_written_to_disk() {
    let host = QemuHost::start();
    // A first answered call proves the driver finished loading its
    // definitions: the file below must appear only on SIGHUP.
    assert!(!host.virsh_ok("list --all --name").contains("handmade"));
    let dir = host.root().join("etc/libvirt/qemu");
    fs::create_dir_all(&dir).expect("config dir");
    fs::write(
        dir.join("handmade.xml"),
        MINIMAL.replace("<name>plain</name>", "<name>handmade</name>"),
    )
    .expect("write definition");
    assert!(!host.virsh_ok("list --all --name").contains("handmade"));
    host.signal_daemon(libc::SIGHUP);
    let seen = integration_tests::wait_until(std::time::Duration::from_secs(20), || {
        host.virsh("list --all --name").stdout.contains("handmade")
    });
    assert!(
        seen,
        "SIGHUP did not load handmade.xml\n{}",
        host.diagnostics()
    );
    assert_eq!(host.domstate("handmade"), "shut off (unknown)");
}
