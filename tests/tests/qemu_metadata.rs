//! `virsh desc` and `virsh metadata` on a running qemu guest (live and persistent
//! definitions apart), python3-libvirt's setMetadata/metadata, the metadata-change
//! event, and the same calls on the test driver.

mod qemu_support;

use std::fs;

use integration_tests::tools::python;
use qemu_support::{expect_event, listen_events, QemuHost};

const NS: &str = "http://example.org/app";

#[test]
fn description_and_metadata_live_and_config() {
    let host = QemuHost::start();
    host.define_guest("m1");
    let mut events = listen_events(&host);
    host.virsh_ok("start m1");

    assert_eq!(host.virsh_ok("desc m1"), "No description for domain: m1");
    host.virsh_ok("desc m1 --live --new-desc 'running note'");
    expect_event(&mut events, "m1", "type description");
    host.virsh_ok("desc m1 --config --title --new-desc 'Config title'");
    assert_eq!(host.virsh_ok("desc m1"), "running note");
    assert_eq!(
        host.virsh_ok("desc m1 --config"),
        "No description for domain: m1"
    );
    assert_eq!(host.virsh_ok("desc m1 --config --title"), "Config title");

    host.virsh_ok(&format!(
        "metadata m1 {NS} --key app --set '<owner id=\"7\"><team>infra</team></owner>' --live"
    ));
    expect_event(&mut events, "m1", &format!("type element, uri {NS}"));
    assert_eq!(
        host.virsh_ok(&format!("metadata m1 {NS}")),
        "<owner id=\"7\">\n  <team>infra</team>\n</owner>"
    );
    let live = host.virsh_ok("dumpxml m1");
    assert!(
        live.contains(&format!(
            "<metadata>\n    <app:owner xmlns:app=\"{NS}\" id=\"7\">\n      <app:team>infra</app:team>\n    </app:owner>\n  </metadata>"
        )),
        "{live}"
    );
    let out = host.virsh(&format!("metadata m1 {NS} --config"));
    assert!(
        !out.success()
            && out
                .stderr
                .contains("metadata not found: Requested metadata element is not present"),
        "{out}"
    );
    // The persistent definition on disk got the title only.
    let config = fs::read_to_string(host.root().join("etc/libvirt/qemu/m1.xml")).expect("config");
    assert!(config.contains("<title>Config title</title>"), "{config}");
    assert!(
        !config.contains("running note") && !config.contains(NS),
        "{config}"
    );

    // A daemon restart keeps the live metadata (status file) and the config.
    let mut host = host;
    host.kill_daemon();
    host.start_daemon();
    assert_eq!(host.virsh_ok("desc m1"), "running note");
    host.virsh_ok(&format!("metadata m1 {NS} --remove --live"));
    assert!(!host.virsh_ok("dumpxml m1").contains(NS));

    // Bad input: malformed XML, both flags, and --live on a shut-off guest.
    let out = host.virsh(&format!("metadata m1 {NS} --key app --set '<open'"));
    assert!(
        !out.success() && out.stderr.contains("(metadata_xml)"),
        "{out}"
    );
    host.virsh_ok("destroy m1");
    let out = host.virsh("desc m1 --live --new-desc x");
    assert!(
        !out.success() && out.stderr.contains("domain is not running"),
        "{out}"
    );
    assert_eq!(host.virsh_ok("desc m1 --title"), "Config title");
}

#[test]
fn python_metadata_on_qemu_and_test_drivers() {
    let host = QemuHost::start();
    host.define_guest("m2");
    let test_uri = format!(
        "test+unix:///default?socket={}",
        host.root().join("run/libvirt/libvirt-sock").display()
    );
    for (uri, domain) in [(host.uri(), "m2"), (test_uri, "test")] {
        let out = python("metadata.py", &[&uri, domain]);
        assert!(out.success(), "{uri}: {out}");
        assert_eq!(
            out.stdout.trim(),
            "<k v=\"1\"/>\nhello\nno-metadata 80\nevents [(2, 'urn:x'), (0, None)]",
            "{uri}: {out}"
        );
    }
}
