//! The `<device>` XML of `nodedev-dumpxml`, element for element as libvirt 9.0
//! formats it.

use std::fmt::Write;

use super::model::*;
use crate::domain_xml::escape;

fn opt(out: &mut String, indent: &str, tag: &str, value: &Option<String>) {
    if let Some(v) = value {
        let _ = writeln!(out, "{indent}<{tag}>{}</{tag}>", escape(v));
    }
}

fn addr(a: &PciAddr) -> String {
    format!(
        "<address domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{}'/>",
        a.domain, a.bus, a.slot, a.function
    )
}

fn id_name(out: &mut String, tag: &str, id: u32, name: &Option<String>) {
    match name {
        Some(n) => {
            let _ = writeln!(out, "    <{tag} id='0x{id:04x}'>{}</{tag}>", escape(n));
        }
        None => {
            let _ = writeln!(out, "    <{tag} id='0x{id:04x}'/>");
        }
    }
}

fn link_speed(code: u32) -> Option<&'static str> {
    match code {
        1 => Some("2.5"),
        2 => Some("5"),
        3 => Some("8"),
        4 => Some("16"),
        5 => Some("32"),
        6 => Some("64"),
        _ => None,
    }
}

fn pcie_link(out: &mut String, validity: &str, link: &PcieLink) {
    let _ = write!(out, "      <link validity='{validity}'");
    if let Some(port) = link.port {
        let _ = write!(out, " port='{port}'");
    }
    if let Some(speed) = link_speed(link.speed) {
        let _ = write!(out, " speed='{speed}'");
    }
    let _ = writeln!(out, " width='{}'/>", link.width);
}

fn pci(out: &mut String, p: &PciCap) {
    let _ = writeln!(out, "    <class>0x{:06x}</class>", p.class);
    let _ = writeln!(out, "    <domain>{}</domain>", p.addr.domain);
    let _ = writeln!(out, "    <bus>{}</bus>", p.addr.bus);
    let _ = writeln!(out, "    <slot>{}</slot>", p.addr.slot);
    let _ = writeln!(out, "    <function>{}</function>", p.addr.function);
    id_name(out, "product", p.product, &p.product_name);
    id_name(out, "vendor", p.vendor, &p.vendor_name);
    if let Some(pf) = &p.phys_function {
        let _ = writeln!(out, "    <capability type='phys_function'>");
        let _ = writeln!(out, "      {}", addr(pf));
        let _ = writeln!(out, "    </capability>");
    }
    if let Some((max, vfs)) = &p.virt_functions {
        if vfs.is_empty() {
            let _ = writeln!(
                out,
                "    <capability type='virt_functions' maxCount='{max}'/>"
            );
        } else {
            let _ = writeln!(
                out,
                "    <capability type='virt_functions' maxCount='{max}'>"
            );
            for vf in vfs {
                let _ = writeln!(out, "      {}", addr(vf));
            }
            let _ = writeln!(out, "    </capability>");
        }
    }
    if let Some((number, members)) = &p.iommu_group {
        let _ = writeln!(out, "    <iommuGroup number='{number}'>");
        for m in members {
            let _ = writeln!(out, "      {}", addr(m));
        }
        let _ = writeln!(out, "    </iommuGroup>");
    }
    if let Some(node) = p.numa_node {
        let _ = writeln!(out, "    <numa node='{node}'/>");
    }
    match &p.pcie {
        None => {}
        Some(None) => out.push_str("    <pci-express/>\n"),
        Some(Some((cap, sta))) => {
            out.push_str("    <pci-express>\n");
            pcie_link(out, "cap", cap);
            pcie_link(out, "sta", sta);
            out.push_str("    </pci-express>\n");
        }
    }
}

fn system(out: &mut String, s: &SystemCap) {
    opt(out, "    ", "product", &s.product);
    out.push_str("    <hardware>\n");
    opt(out, "      ", "vendor", &s.hw_vendor);
    opt(out, "      ", "version", &s.hw_version);
    opt(out, "      ", "serial", &s.hw_serial);
    let _ = writeln!(out, "      <uuid>{}</uuid>", s.hw_uuid);
    out.push_str("    </hardware>\n    <firmware>\n");
    opt(out, "      ", "vendor", &s.fw_vendor);
    opt(out, "      ", "version", &s.fw_version);
    opt(out, "      ", "release_date", &s.fw_date);
    out.push_str("    </firmware>\n");
}

fn net(out: &mut String, n: &NetCap) {
    let _ = writeln!(out, "    <interface>{}</interface>", escape(&n.ifname));
    opt(out, "    ", "address", &n.address);
    if n.speed.is_some() || n.state.is_some() {
        out.push_str("    <link");
        if let Some(speed) = n.speed {
            let _ = write!(out, " speed='{speed}'");
        }
        if let Some(state) = &n.state {
            let _ = write!(out, " state='{}'", escape(state));
        }
        out.push_str("/>\n");
    }
    for f in &n.features {
        let _ = writeln!(out, "    <feature name='{f}'/>");
    }
    let _ = writeln!(out, "    <capability type='{}'/>", n.subtype);
}

fn storage(out: &mut String, s: &StorageCap) {
    let _ = writeln!(out, "    <block>{}</block>", escape(&s.block));
    opt(out, "    ", "bus", &s.bus);
    let _ = writeln!(
        out,
        "    <drive_type>{}</drive_type>",
        escape(&s.drive_type)
    );
    opt(out, "    ", "model", &s.model);
    opt(out, "    ", "vendor", &s.vendor);
    opt(out, "    ", "serial", &s.serial);
    let _ = writeln!(out, "    <size>{}</size>", s.size);
    let _ = writeln!(
        out,
        "    <logical_block_size>{}</logical_block_size>",
        s.logical_block_size
    );
    let _ = writeln!(out, "    <num_blocks>{}</num_blocks>", s.num_blocks);
}

pub fn device_xml(d: &Device) -> String {
    let mut out = String::from("<device>\n");
    let _ = writeln!(out, "  <name>{}</name>", escape(&d.name));
    opt(&mut out, "  ", "path", &d.path);
    if let Some(node) = &d.devnode {
        let _ = writeln!(out, "  <devnode type='dev'>{}</devnode>", escape(node));
    }
    for link in &d.links {
        let _ = writeln!(out, "  <devnode type='link'>{}</devnode>", escape(link));
    }
    opt(&mut out, "  ", "parent", &d.parent);
    if let Some(driver) = &d.driver {
        let _ = writeln!(
            out,
            "  <driver>\n    <name>{}</name>\n  </driver>",
            escape(driver)
        );
    }
    let _ = writeln!(out, "  <capability type='{}'>", d.cap.name());
    match &d.cap {
        Cap::System(s) => system(&mut out, s),
        Cap::Pci(p) => pci(&mut out, p),
        Cap::UsbDev(u) => {
            let _ = writeln!(
                out,
                "    <bus>{}</bus>\n    <device>{}</device>",
                u.bus, u.device
            );
            id_name(&mut out, "product", u.product, &u.product_name);
            id_name(&mut out, "vendor", u.vendor, &u.vendor_name);
        }
        Cap::UsbInterface(u) => {
            let _ = writeln!(
                out,
                "    <number>{}</number>\n    <class>{}</class>\n    <subclass>{}</subclass>\n    <protocol>{}</protocol>",
                u.number, u.class, u.subclass, u.protocol
            );
            opt(&mut out, "    ", "description", &u.description);
        }
        Cap::Net(n) => net(&mut out, n),
        Cap::ScsiHost(h) => {
            let _ = writeln!(out, "    <host>{}</host>", h.host);
            if let Some(id) = h.unique_id {
                let _ = writeln!(out, "    <unique_id>{id}</unique_id>");
            }
        }
        Cap::ScsiTarget(t) => {
            let _ = writeln!(out, "    <target>{}</target>", escape(t));
        }
        Cap::Scsi(s) => {
            let _ = writeln!(
                out,
                "    <host>{}</host>\n    <bus>{}</bus>\n    <target>{}</target>\n    <lun>{}</lun>",
                s.host, s.bus, s.target, s.lun
            );
            opt(&mut out, "    ", "type", &s.kind);
        }
        Cap::Storage(s) => storage(&mut out, s),
    }
    out.push_str("  </capability>\n</device>\n");
    out
}
