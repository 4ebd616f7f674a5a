//! Seed inputs for each target, gathered from the recorded traffic, the
//! test data and the XML and configuration text in the sources. `fuzz
//! import` writes them into the corpus; they are regenerated, not edited.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use protocol::programs::{remote_proc, REMOTE_PROGRAM};

use crate::captures;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Seeds of the named target.
pub fn for_target(name: &str) -> Vec<Vec<u8>> {
    match name {
        "frames" => frames(),
        "dispatch" => dispatch(),
        "domain_xml" => domain_xml().into_iter().map(String::into_bytes).collect(),
        "status_file" => status_files(),
        "virconf" => virconf(),
        "qmp" => qmp(),
        _ => Vec::new(),
    }
}

/// Each recorded message alone, and each client's stream whole.
fn frames() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (_, messages) in captures::load_all() {
        out.extend(
            messages
                .iter()
                .filter(|m| m.wire.len() <= 16 * 1024)
                .map(|m| m.wire.clone()),
        );
    }
    out.extend(dispatch().into_iter().map(|mut s| s.split_off(1)));
    out
}

/// What each recorded client sent on one connection, pointed at the test
/// driver: its URI in CONNECT_OPEN and its domain name `test`.
fn dispatch() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (_, messages) in captures::load_all() {
        let mut streams: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for m in messages.iter().filter(|m| m.from_client) {
            let stream = streams.entry(m.connection.clone()).or_insert_with(|| {
                let socket = match m.connection.split('-').next() {
                    Some("ro") => 1u8,
                    Some("admin") => 2,
                    _ => 0,
                };
                vec![socket]
            });
            stream.extend(retarget(&m.wire));
        }
        out.extend(streams.into_values().filter(|s| s.len() <= 256 * 1024));
    }
    out
}

fn xdr_string(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u32).to_be_bytes().to_vec();
    v.extend(s.as_bytes());
    v.resize(v.len().div_ceil(4) * 4, 0);
    v
}

fn retarget(wire: &[u8]) -> Vec<u8> {
    let prog = u32::from_be_bytes([wire[4], wire[5], wire[6], wire[7]]);
    let proc_ = i32::from_be_bytes([wire[12], wire[13], wire[14], wire[15]]);
    let mut body = wire[28..].to_vec();
    if prog == REMOTE_PROGRAM && proc_ == remote_proc::CONNECT_OPEN {
        // remote_connect_open_args: optional string, flags.
        body = 1u32.to_be_bytes().to_vec();
        body.extend(xdr_string("test:///default"));
        body.extend(0u32.to_be_bytes());
    } else {
        body = replace(&body, &xdr_string("lvp-test"), &xdr_string("test"));
    }
    let mut out = ((28 + body.len()) as u32).to_be_bytes().to_vec();
    out.extend(&wire[4..28]);
    out.extend(body);
    out
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// The test data's definitions and every `<domain ...>...</domain>` text
/// written in the drivers' and integration tests' sources.
fn domain_xml() -> Vec<String> {
    let root = workspace();
    let mut out = Vec::new();
    for name in ["domain.xml", "sentinel.xml"] {
        if let Ok(text) = std::fs::read_to_string(root.join("tests/data").join(name)) {
            out.push(text);
        }
    }
    let mut files = Vec::new();
    for dir in ["drivers/src", "tests/tests", "daemon/src"] {
        collect_rs(&root.join(dir), &mut files);
    }
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let mut rest = text.as_str();
        while let Some(start) = rest.find("<domain ") {
            let Some(len) = rest[start..].find("</domain>") else {
                break;
            };
            let xml = &rest[start..start + len + "</domain>".len()];
            if xml.len() <= 16 * 1024 && !xml.contains("\\n") {
                out.push(xml.to_string());
            }
            rest = &rest[start + len..];
        }
    }
    out.sort();
    out.dedup();
    out
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Status documents as the qemu and lxc drivers write them, around the
/// domain seeds.
fn status_files() -> Vec<Vec<u8>> {
    domain_xml()
        .iter()
        .take(40)
        .enumerate()
        .map(|(i, xml)| {
            let attributes = [
                ("state", "running".to_string()),
                ("reason", "booted".to_string()),
                ("pid", (1000 + i).to_string()),
            ];
            let children = ["<monitor path='/run/libvirt/qemu/x.monitor'/>".to_string()];
            drivers::domain_list::format_status(&attributes, &children, xml).into_bytes()
        })
        .collect()
}

/// The example `libvirtd.conf`, Debian's stock files when
/// `LIBVIRT_STOCK_CONF_DIR` names them, and each value syntax.
fn virconf() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut paths = vec![workspace().join("daemon/libvirtd.conf")];
    if let Some(dir) = std::env::var_os("LIBVIRT_STOCK_CONF_DIR") {
        for name in ["libvirtd.conf", "qemu.conf", "lxc.conf"] {
            paths.push(Path::new(&dir).join(name));
        }
    }
    for path in paths {
        if let Ok(bytes) = std::fs::read(path) {
            out.push(bytes);
        }
    }
    for text in [
        "listen_tls = 0\nlisten_tcp = 1\ntcp_port = \"16509\"\n",
        "log_outputs=\"3:file:/tmp/x.log 1:stderr\"\nmax_clients = 5000 # comment\n",
        "cgroup_controllers = [ \"cpu\", \"devices\",\n  \"memory\" ]\nuser = \"+0\"\n",
        "tls_allowed_dn_list = [\"DN1\", \"DN2\"]\nkeepalive_interval = -1\n",
        "vnc_password = '''x\ny'''\nsecurity_driver = [ ]\nnested = [ [ 1 ], \"a\" ]\n",
    ] {
        out.push(text.as_bytes().to_vec());
    }
    out
}

/// A QEMU 7.2 monitor's greeting, negotiation reply, events and replies.
fn qmp() -> Vec<Vec<u8>> {
    let greeting = r#"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}}"#;
    let caps = r#"{"return": {}, "id": "libvirt-0"}"#;
    let event = r#"{"timestamp": {"seconds": 1700000000, "microseconds": 1}, "event": "STOP"}"#;
    let shutdown = r#"{"timestamp": {"seconds": 1700000001, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}"#;
    let status = r#"{"return": {"status": "running", "singlestep": false, "running": true}, "id": "libvirt-1"}"#;
    let error = r#"{"error": {"class": "CommandNotFound", "desc": "The command x has not been found"}, "id": "libvirt-1"}"#;
    [
        vec![greeting, caps, status],
        vec![greeting, caps, event, status, shutdown],
        vec![greeting, event, caps, error],
        vec![greeting, caps, shutdown],
        vec![
            greeting,
            r#"{"error": {"class": "GenericError", "desc": "no"}, "id": "libvirt-0"}"#,
        ],
    ]
    .into_iter()
    .map(|lines| {
        let mut text = lines.join("\n");
        text.push('\n');
        text.into_bytes()
    })
    .collect()
}
