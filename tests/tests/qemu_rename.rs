//! `virsh domrename` of an inactive qemu domain: the definition file and the
//! autostart link move, clients see "Undefined Renamed" and "Defined Renamed",
//! and libvirt's refusals for running domains, clashing names and the same name.

mod qemu_support;

use std::fs;

use qemu_support::{expect_event, listen_events, QemuHost};

#[test]
fn an_inactive_domain_is_renamed_with_its_files() {
    let host = QemuHost::start();
    let dir = host.root().join("etc/libvirt/qemu");
    host.define_guest("rn1");
    host.virsh_ok("autostart rn1");
    let mut events = listen_events(&host);

    host.virsh_ok("domrename rn1 rn2");
    expect_event(&mut events, "rn1", "Undefined Renamed");
    expect_event(&mut events, "rn2", "Defined Renamed");
    assert!(!dir.join("rn1.xml").exists());
    let saved = fs::read_to_string(dir.join("rn2.xml")).expect("new definition file");
    assert!(saved.contains("<name>rn2</name>"), "{saved}");
    assert!(fs::symlink_metadata(dir.join("autostart/rn1.xml")).is_err());
    assert!(fs::metadata(dir.join("autostart/rn2.xml")).is_ok());
    let names = host.virsh_ok("list --all --name");
    assert!(names.contains("rn2") && !names.contains("rn1"), "{names}");
    let info = host.virsh_ok("dominfo rn2");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Autostart:") && l.ends_with("enable")),
        "{info}"
    );

    let out = host.virsh("domrename rn2 rn2");
    assert!(
        out.stderr.contains("Can't rename domain to itself"),
        "{out}"
    );
    host.define_guest("rn3");
    let out = host.virsh("domrename rn2 rn3");
    assert!(
        out.stderr.contains("domain with name 'rn3' already exists"),
        "{out}"
    );
    let out = host.virsh("domrename rn2 a/b");
    assert!(out.stderr.contains("cannot contain '/'"), "{out}");
    host.virsh_ok("start rn2");
    let out = host.virsh("domrename rn2 rn4");
    assert!(out.stderr.contains("cannot rename active domain"), "{out}");
    host.virsh_ok("destroy rn2");
    assert!(host.virsh_ok("dumpxml rn2").contains("<name>rn2</name>"));
}
