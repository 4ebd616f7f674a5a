//! The fixed world of `test:///default`: its one predefined domain, the fake host it runs
//! on, and the texts libvirt 9.0's test driver reports for them.

use crate::api::{NodeInfo, SecurityModel};

/// The domain every `test:///default` connection starts with (running, id 1).
pub const DEFAULT_DOMAIN_XML: &str = "<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory>8388608</memory>
  <currentMemory>2097152</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default' bridge='virbr0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x2' function='0x0'/>
    </memballoon>
  </devices>
</domain>";

/// `virConnectGetType`.
pub const HV_TYPE: &str = "TEST";
/// `virConnectGetVersion`: the test hypervisor calls itself version 0.0.2.
pub const HV_VERSION: u64 = 2;
/// `virConnectGetMaxVcpus`, whatever the type asked about.
pub const MAX_VCPUS: i32 = 32;
/// `virDomainGetOSType` answers this for every domain.
pub const DOMAIN_OS_TYPE: &str = "linux";
/// Label of running domains in `virDomainGetSecurityLabel`.
pub const SECURITY_LABEL: &str = "libvirt-test";
/// Canonical URI of the shared default connection.
pub const DEFAULT_URI: &str = "test:///default";

/// NUMA cells of the fake host: (memory KiB, free memory KiB), 8 CPUs each.
pub const CELLS: [(u64, u64); 2] = [
    (2048 * 1024, 1024 * 1024),
    (2 * 2048 * 1024, 2 * 1024 * 1024),
];
const CPUS_PER_CELL: usize = 8;

pub fn node_info() -> NodeInfo {
    NodeInfo {
        model: "i686".to_string(),
        memory_kib: 3 * 1024 * 1024,
        cpus: 16,
        mhz: 1400,
        nodes: 2,
        sockets: 2,
        cores: 2,
        threads: 2,
    }
}

pub fn security_model() -> SecurityModel {
    SecurityModel {
        model: "testSecurity".to_string(),
        doi: String::new(),
    }
}

/// `virConnectGetSysinfo`.
pub const SYSINFO_XML: &str = "<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>LENOVO</entry>
    <entry name='version'>G4ETA1WW (2.61 )</entry>
    <entry name='date'>05/07/2014</entry>
    <entry name='release'>2.61</entry>
  </bios>
</sysinfo>
";

/// `virConnectGetCapabilities`: an i686 host with two NUMA cells and hvm/xen guests.
pub fn capabilities_xml() -> String {
    let mut out = String::from(
        "<capabilities>\n\n  <host>\n    <cpu>\n      <arch>i686</arch>\n      <features>\n        <pae/>\n        <nonpae/>\n      </features>\n",
    );
    for size in [4, 8, 2048, 1048576] {
        out.push_str(&format!("      <pages unit='KiB' size='{size}'/>\n"));
    }
    out.push_str(
        "    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n    <topology>\n",
    );
    out.push_str(&format!("      <cells num='{}'>\n", CELLS.len()));
    for (cell, (memory, _)) in CELLS.iter().enumerate() {
        // The first cell counts 4 KiB pages, the second 8 KiB pages.
        let small_page = if cell == 1 { 8 } else { 4 };
        out.push_str(&format!("        <cell id='{cell}'>\n"));
        out.push_str(&format!("          <memory unit='KiB'>{memory}</memory>\n"));
        out.push_str(&format!(
            "          <pages unit='KiB' size='{small_page}'>{}</pages>\n",
            memory / small_page
        ));
        out.push_str("          <pages unit='KiB' size='2048'>0</pages>\n");
        out.push_str("          <pages unit='KiB' size='1048576'>0</pages>\n");
        out.push_str(&format!("          <cpus num='{CPUS_PER_CELL}'>\n"));
        for core in 0..CPUS_PER_CELL {
            let id = cell * CPUS_PER_CELL + core;
            out.push_str(&format!(
                "            <cpu id='{id}' socket_id='{cell}' die_id='0' core_id='{core}' siblings='{id}'/>\n"
            ));
        }
        out.push_str("          </cpus>\n        </cell>\n");
    }
    out.push_str("      </cells>\n    </topology>\n    <secmodel>\n      <model>testSecurity</model>\n      <doi></doi>\n    </secmodel>\n  </host>\n\n");
    for os_type in ["hvm", "xen"] {
        out.push_str(&format!(
            "  <guest>\n    <os_type>{os_type}</os_type>\n    <arch name='i686'>\n      <wordsize>32</wordsize>\n      <emulator>/usr/bin/test-hv</emulator>\n      <domain type='test'/>\n    </arch>\n    <features>\n      <pae/>\n      <nonpae/>\n    </features>\n  </guest>\n\n"
        ));
    }
    out.push_str("</capabilities>\n");
    out
}
