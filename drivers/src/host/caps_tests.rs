//! Whole-document tests of the capabilities XML: against a fixture host with scripted
//! QEMU binaries (exact output), and against the machine the tests run on (structure).

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use uuid::Uuid;

use super::caps_xml::{capabilities_xml, CapsOptions, CapsSecModel};
use super::fixtures::FakeHost;
use super::machines::{run_probe, ProbeError};
use super::nodeinfo::numa_node_ids;
use super::sysfs::{parse_cpu_list, HostRoots};

/// A shell script that answers QMP like a QEMU binary of target `target`.
fn fake_qemu(host: &FakeHost, rel: &str, target: &str) -> PathBuf {
    let script = format!(
        r#"#!/bin/sh
echo '{{"QMP": {{"version": {{}}, "capabilities": ["oob"]}}}}'
while read -r line; do
  case "$line" in
    *qmp_capabilities*) echo '{{"return": {{}}}}' ;;
    *query-target*) echo '{{"return": {{"arch": "{target}"}}, "id": "target"}}' ;;
    *query-machines*) echo '{{"return": [{{"name": "pc-q35-7.2", "cpu-max": 288, "alias": "q35", "deprecated": false}}, {{"name": "none", "cpu-max": 1}}, {{"name": "pc-i440fx-1.4", "cpu-max": 255, "deprecated": true}}, {{"name": "pc-i440fx-7.2", "cpu-max": 255, "is-default": true, "alias": "pc"}}], "id": "machines"}}' ;;
    *quit*) exit 0 ;;
  esac
done
"#
    );
    write_script(host, rel, &script)
}

fn write_script(host: &FakeHost, rel: &str, script: &str) -> PathBuf {
    host.write(rel, script);
    let path = host.path(rel);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn fixture_options(host: &FakeHost) -> CapsOptions {
    let mut opts =
        CapsOptions::new(Uuid::parse_str("2a5bdcbd-4a96-4445-beda-23c3d8c46233").expect("uuid"));
    opts.roots = host.roots.clone();
    opts.host_arch = "x86_64".into();
    opts.emulator_search_dirs = vec![host.path("bin")];
    opts.native_emulator_fallbacks = Vec::new();
    opts.kvm_device = host.path("no-kvm");
    opts.probe_timeout = Duration::from_secs(20);
    opts
}

const FIXTURE_GUEST_MACHINES: &str = "      <machine maxCpus='255'>pc-i440fx-7.2</machine>
      <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>
      <machine maxCpus='288'>pc-q35-7.2</machine>
      <machine canonical='pc-q35-7.2' maxCpus='288'>q35</machine>
      <machine maxCpus='255' deprecated='yes'>pc-i440fx-1.4</machine>
      <domain type='qemu'/>
";

#[test]
fn fixture_host_document_is_exact() {
    if super::numa::system_page_kib() != 4 {
        // The expected text below spells 4 KiB base pages.
        assert!(super::numa::system_page_kib() > 4);
        return;
    }
    let host = FakeHost::two_node_host();
    fake_qemu(&host, "bin/qemu-system-x86_64", "x86_64");
    fake_qemu(&host, "bin/qemu-system-i386", "i386");
    let mut opts = fixture_options(&host);
    opts.security_models = vec![CapsSecModel::none(), CapsSecModel::dac(64055, 64055)];
    let xml = capabilities_xml(&opts);

    let cpu_line = |id: u32, socket: u32, core: u32, siblings: &str| {
        format!(
            "            <cpu id='{id}' socket_id='{socket}' die_id='0' core_id='{core}' siblings='{siblings}'/>\n"
        )
    };
    let mut expected = String::from(
        "<capabilities>

  <host>
    <uuid>2a5bdcbd-4a96-4445-beda-23c3d8c46233</uuid>
    <cpu>
      <arch>x86_64</arch>
      <vendor>Intel</vendor>
      <microcode version='83899908'/>
      <signature family='6' model='85' stepping='7'/>
      <topology sockets='1' dies='1' cores='2' threads='2'/>
      <maxphysaddr mode='emulate' bits='46'/>
      <pages unit='KiB' size='4'/>
      <pages unit='KiB' size='2048'/>
      <pages unit='KiB' size='1048576'/>
    </cpu>
    <power_management/>
    <iommu support='no'/>
    <migration_features>
      <live/>
      <uri_transports>
        <uri_transport>tcp</uri_transport>
        <uri_transport>rdma</uri_transport>
      </uri_transports>
    </migration_features>
    <topology>
      <cells num='2'>
",
    );
    for (node, base_pages, huge, distances) in [
        (
            0u32,
            524_288u64,
            0u32,
            "0' value='10'/>\n            <sibling id='1' value='21",
        ),
        (
            1,
            516_096,
            16,
            "0' value='21'/>\n            <sibling id='1' value='10",
        ),
    ] {
        expected.push_str(&format!(
            "        <cell id='{node}'>
          <memory unit='KiB'>2097152</memory>
          <pages unit='KiB' size='4'>{base_pages}</pages>
          <pages unit='KiB' size='2048'>{huge}</pages>
          <pages unit='KiB' size='1048576'>0</pages>
          <distances>
            <sibling id='{distances}'/>
          </distances>
          <cpus num='4'>
"
        ));
        for cpu in node * 4..node * 4 + 4 {
            let first = cpu - cpu % 2;
            expected.push_str(&cpu_line(
                cpu,
                node,
                (cpu % 4) / 2,
                &format!("{first}-{}", first + 1),
            ));
        }
        expected.push_str("          </cpus>\n        </cell>\n");
    }
    expected.push_str(
        "      </cells>
    </topology>
    <cache>
      <bank id='0' level='3' type='both' size='16' unit='MiB' cpus='0-3'/>
      <bank id='1' level='3' type='both' size='16' unit='MiB' cpus='4-7'/>
    </cache>
    <secmodel>
      <model>none</model>
      <doi>0</doi>
    </secmodel>
    <secmodel>
      <model>dac</model>
      <doi>0</doi>
      <baselabel type='kvm'>+64055:+64055</baselabel>
      <baselabel type='qemu'>+64055:+64055</baselabel>
    </secmodel>
  </host>

",
    );
    for (arch, wordsize, binary, extra_features) in [
        (
            "i686",
            32,
            "qemu-system-i386",
            "      <pae/>\n      <nonpae/>\n",
        ),
        ("x86_64", 64, "qemu-system-x86_64", ""),
    ] {
        expected.push_str(&format!(
            "  <guest>
    <os_type>hvm</os_type>
    <arch name='{arch}'>
      <wordsize>{wordsize}</wordsize>
      <emulator>{}</emulator>
{FIXTURE_GUEST_MACHINES}    </arch>
    <features>
{extra_features}      <acpi default='on' toggle='yes'/>
      <apic default='on' toggle='no'/>
      <cpuselection/>
      <deviceboot/>
      <disksnapshot default='on' toggle='no'/>
    </features>
  </guest>

",
            host.path(&format!("bin/{binary}")).display()
        ));
    }
    expected.push_str("</capabilities>\n");
    assert_eq!(xml, expected);
    roxmltree::Document::parse(&xml).expect("well-formed capabilities");
}

#[test]
fn placeholder_uuid_and_unprobeable_binaries_are_left_out() {
    let host = FakeHost::two_node_host();
    write_script(&host, "bin/qemu-system-x86_64", "#!/bin/sh\nexit 1\n");
    let mut opts = fixture_options(&host);
    opts.host_uuid = Uuid::nil();
    let xml = capabilities_xml(&opts);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    let root = doc.root_element();
    assert!(root.descendants().all(|n| !n.has_tag_name("uuid")));
    assert_eq!(
        root.children().filter(|n| n.has_tag_name("guest")).count(),
        0
    );
}

#[test]
fn probe_gives_up_at_the_deadline() {
    let host = FakeHost::new();
    let silent = write_script(
        &host,
        "bin/qemu-system-x86_64",
        "#!/bin/sh\nexec sleep 600\n",
    );
    let err = run_probe(&silent, Duration::from_millis(300)).expect_err("no answer");
    assert!(matches!(err, ProbeError::Timeout { .. }), "{err}");
    let quitter = write_script(&host, "bin/qemu-system-i386", "#!/bin/sh\nexit 0\n");
    let err = run_probe(&quitter, Duration::from_secs(20)).expect_err("no answer");
    assert!(matches!(err, ProbeError::NoAnswer { .. }), "{err}");
}

fn online_cpus() -> BTreeSet<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").expect("online map");
    parse_cpu_list(&text).expect("valid online map")
}

#[test]
fn real_host_document_structure() {
    let xml = capabilities_xml(&CapsOptions::new(Uuid::new_v4()));
    let doc = roxmltree::Document::parse(&xml).expect("well-formed capabilities");
    let root = doc.root_element();
    assert!(root.has_tag_name("capabilities"));
    let host = root
        .children()
        .find(|n| n.has_tag_name("host"))
        .expect("host element");

    let cells = host
        .descendants()
        .find(|n| n.has_tag_name("cells"))
        .expect("cells element");
    let cell_count = cells.children().filter(|n| n.has_tag_name("cell")).count();
    let expected_cells = numa_node_ids(&HostRoots::default()).map_or(1, |ids| ids.len());
    assert_eq!(cell_count, expected_cells);
    assert_eq!(
        cells.attribute("num"),
        Some(expected_cells.to_string().as_str())
    );

    let cpu_ids: BTreeSet<u32> = cells
        .descendants()
        .filter(|n| n.has_tag_name("cpu"))
        .filter_map(|n| n.attribute("id")?.parse().ok())
        .collect();
    assert_eq!(cpu_ids, online_cpus());

    let mut guests = 0;
    for guest in root.children().filter(|n| n.has_tag_name("guest")) {
        guests += 1;
        let emulator = guest
            .descendants()
            .find(|n| n.has_tag_name("emulator"))
            .and_then(|n| n.text())
            .expect("emulator path");
        assert!(Path::new(emulator).exists(), "{emulator} exists");
        assert!(guest.descendants().any(|n| n.has_tag_name("machine")));
    }
    let x86_qemu = Path::new("/usr/bin/qemu-system-x86_64");
    if super::emulators::is_executable(x86_qemu) && super::arch::host_arch_name() == "x86_64" {
        assert!(
            guests > 0,
            "qemu-system-x86_64 is installed, so a guest is listed"
        );
        assert!(
            xml.contains("<machine canonical='"),
            "aliased machines are expanded"
        );
    }
}
