//! The driver on a made-up sysfs tree: a VLAN (its tag and parent from the
//! /proc/net/vlan file) and a bond with a slave, which a test namespace can
//! only have when the kernel builds them in.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::Interfaces;
use crate::api::InterfaceConnection;
use crate::nodedev::HostPaths;

fn device(sys: &Path, name: &str, devtype: Option<&str>, files: &[(&str, &str)]) {
    let dir = sys.join("devices/virtual/net").join(name);
    fs::create_dir_all(&dir).unwrap();
    let mut uevent = format!("INTERFACE={name}\nIFINDEX=9\n");
    if let Some(t) = devtype {
        uevent.push_str(&format!("DEVTYPE={t}\n"));
    }
    fs::write(dir.join("uevent"), uevent).unwrap();
    symlink("../../../../class/net", dir.join("subsystem")).unwrap();
    for (file, text) in files {
        let path = dir.join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, format!("{text}\n")).unwrap();
    }
    symlink(
        format!("../../devices/virtual/net/{name}"),
        sys.join("class/net").join(name),
    )
    .unwrap();
}

fn host() -> (tempfile::TempDir, Interfaces) {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    fs::create_dir_all(sys.join("class/net")).unwrap();
    let link = [("mtu", "1500"), ("operstate", "down")];
    let eth = |name: &str, mac: &str| {
        let mut files = link.to_vec();
        files.push(("address", mac));
        device(&sys, name, None, &files);
    };
    eth("eth0", "52:54:00:00:00:01");
    eth("eth1", "52:54:00:00:00:02");
    device(
        &sys,
        "eth0.10",
        Some("vlan"),
        &[
            ("mtu", "1500"),
            ("operstate", "lowerlayerdown"),
            ("address", "52:54:00:00:00:01"),
        ],
    );
    device(
        &sys,
        "bond0",
        Some("bond"),
        &[
            ("mtu", "1500"),
            ("operstate", "down"),
            ("address", "52:54:00:00:00:02"),
            ("bonding/downdelay", "0"),
            ("bonding/updelay", "200"),
            ("bonding/miimon", "100"),
            ("bonding/arp_interval", "0"),
            ("bonding/mode", "active-backup 1"),
            ("bonding/arp_validate", "none 0"),
            ("bonding/use_carrier", "1"),
            ("bonding/arp_ip_target", ""),
        ],
    );
    symlink("../eth1", sys.join("devices/virtual/net/bond0/slave_eth1")).unwrap();
    let vlan = dir.path().join("vlan");
    fs::create_dir_all(&vlan).unwrap();
    fs::write(
        vlan.join("eth0.10"),
        "eth0.10  VID: 10\t REORDER_HDR: 1  dev->priv_flags: 1021\n\
         \x20        total frames received            0\n\nDevice: eth0\n\
         INGRESS priority mappings: 0:0  1:0\n",
    )
    .unwrap();
    let paths = HostPaths {
        sys,
        ..HostPaths::default()
    };
    (dir, Interfaces::with_paths(paths, vlan))
}

#[test]
fn vlan_tag_and_parent_from_proc() {
    let (_dir, driver) = host();
    assert_eq!(
        driver.xml_desc("eth0.10", 0).unwrap(),
        "<interface type='vlan' name='eth0.10'>\n  <mtu size='1500'/>\n  \
         <link state='lowerlayerdown'/>\n  <vlan tag='10'>\n    <interface name='eth0'/>\n  \
         </vlan>\n</interface>\n"
    );
}

#[test]
fn bond_with_its_slave() {
    let (_dir, driver) = host();
    assert_eq!(
        driver.xml_desc("bond0", 0).unwrap(),
        "<interface type='bond' name='bond0'>\n  <mtu size='1500'/>\n  <link state='down'/>\n  \
         <bond mode='active-backup'>\n    <miimon freq='100' updelay='200' carrier='netif'/>\n    \
         <interface type='ethernet' name='eth1'>\n      <link state='down'/>\n      \
         <mac address='52:54:00:00:00:02'/>\n    </interface>\n  </bond>\n</interface>\n"
    );
    let err = driver.lookup_by_mac("52:54:00:00:00:02").unwrap_err();
    assert_eq!(
        err.message,
        "multiple matching interfaces found: the MAC address '52:54:00:00:00:02' matches \
         multiple interfaces"
    );
    assert_eq!(driver.num_of_inactive().unwrap(), 3);
    assert_eq!(driver.list_all(0).unwrap().len(), 4);
}
