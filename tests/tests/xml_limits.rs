//! Hostile domain XML against the real daemon: a document nested 200,000 levels deep
//! is refused with libvirt's XML error (it used to overflow a worker's stack and kill
//! the daemon), through virsh and through python3-libvirt, and the daemon keeps
//! answering on the same and on new connections.

mod qemu_support;

use std::fs;

use integration_tests::python;
use qemu_support::QemuHost;

const LEVELS: usize = 200_000;

/// A well-formed domain whose `<metadata>` nests `LEVELS` elements.
fn deep_domain() -> String {
    format!(
        "<domain type='qemu'><name>deep</name><memory unit='KiB'>65536</memory>\
         <os><type>hvm</type></os><metadata>{}{}</metadata></domain>",
        "<x:a xmlns:x='http://example.org/'>".to_string() + &"<x:a>".repeat(LEVELS - 1),
        "</x:a>".repeat(LEVELS)
    )
}

fn write(host: &QemuHost, name: &str, text: &str) -> String {
    let path = host.root().join(name);
    fs::write(&path, text).expect("write xml");
    path.display().to_string()
}

#[test]
fn deep_xml_is_refused_and_the_daemon_stays_up() {
    let host = QemuHost::start();
    let deep = write(&host, "deep.xml", &deep_domain());
    let plain = write(
        &host,
        "plain.xml",
        "<domain type='qemu'><name>plain</name><memory unit='KiB'>65536</memory>\
         <os><type>hvm</type></os></domain>",
    );

    let out = host.virsh(&format!("define {deep}"));
    assert!(!out.success(), "deep XML was accepted: {out}");
    assert!(
        out.stderr
            .contains("(domain_definition):1: Excessive depth in document: 256"),
        "{out}\n{}",
        host.diagnostics()
    );
    assert!(out.stderr.len() < 1000, "error text not bounded: {out}");

    // The daemon still serves new connections; python below checks the same one.
    host.virsh_ok(&format!("define {plain}"));
    assert_eq!(host.virsh_ok("list --all --name"), "plain");

    let out = python("define_refused.py", &[&host.uri(), &deep]);
    assert!(out.success(), "python3-libvirt: {out}");
    let report: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("json");
    let error = &report["error"];
    assert_eq!(error["code"], 35, "VIR_ERR_XML_DETAIL expected: {report}");
    assert_eq!(error["domain"], 20, "VIR_FROM_DOMAIN expected: {report}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("Excessive depth in document")),
        "{report}"
    );
    assert_eq!(report["domains"], serde_json::json!(["plain"]), "{report}");
    assert_eq!(host.virsh_ok("list --all --name"), "plain");
}
