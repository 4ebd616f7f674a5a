//! A PCI device's capability: ids and names, SR-IOV, IOMMU group, NUMA node,
//! and the PCI Express link read from its configuration space (as root).

use std::fs;
use std::path::Path;

use super::ids;
use super::model::{PciAddr, PciCap, PcieLink};
use super::sysfs::{list_dir, HostPaths, RawDevice};

const PCI_STATUS: usize = 0x06;
const PCI_STATUS_CAP_LIST: u16 = 0x10;
const PCI_CAPABILITY_LIST: usize = 0x34;
const PCI_CAP_ID_EXP: u8 = 0x10;
const PCI_EXP_FLAGS: usize = 2;
const PCI_EXP_LNKCAP: usize = 0x0c;
const PCI_EXP_LNKSTA: usize = 0x12;
/// Root complex integrated endpoint and event collector: no link.
const PCI_EXP_TYPE_ROOT_INT_EP: u16 = 0x9;
const PCI_EXP_TYPE_ROOT_EC: u16 = 0xa;

pub fn read(paths: &HostPaths, dev: &RawDevice) -> Option<PciCap> {
    let class = u32::from_str_radix(dev.prop("PCI_CLASS")?, 16).ok()?;
    let addr = PciAddr::parse(&dev.sysname)?;
    let vendor = dev.attr_u64("vendor", 16)? as u32;
    let product = dev.attr_u64("device", 16)? as u32;
    let (vendor_name, product_name) = ids::lookup(&paths.pci_ids, vendor, product);
    let numa_node = dev
        .attr("numa_node")
        .and_then(|n| n.trim().parse::<i32>().ok())
        .filter(|n| *n >= 0);
    let phys_function = fs::read_link(dev.syspath.join("physfn"))
        .ok()
        .and_then(|t| PciAddr::parse(&t.file_name()?.to_string_lossy()));
    let virt_functions = dev.attr_u64("sriov_totalvfs", 10).map(|total| {
        let mut vfs: Vec<PciAddr> = list_dir(&dev.syspath)
            .iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("virtfn"))
            })
            .filter_map(|p| fs::read_link(p).ok())
            .filter_map(|t| PciAddr::parse(&t.file_name()?.to_string_lossy()))
            .collect();
        vfs.sort();
        (total as u32, vfs)
    });
    let iommu_group = fs::read_link(dev.syspath.join("iommu_group"))
        .ok()
        .and_then(|t| {
            let number = t.file_name()?.to_string_lossy().parse::<u32>().ok()?;
            let mut members: Vec<PciAddr> = list_dir(
                &paths
                    .sys
                    .join(format!("kernel/iommu_groups/{number}/devices")),
            )
            .iter()
            .filter_map(|p| PciAddr::parse(&p.file_name()?.to_string_lossy()))
            .collect();
            members.sort();
            Some((number, members))
        });
    Some(PciCap {
        class,
        addr,
        product,
        product_name,
        vendor,
        vendor_name,
        phys_function,
        virt_functions,
        iommu_group,
        numa_node,
        pcie: pcie_info(&dev.syspath.join("config")),
    })
}

/// Size of the configuration space of a PCI Express device (a conventional
/// PCI device has 256 bytes).
const PCIE_CONFIG_SIZE: usize = 4096;

/// `Some` for a PCI Express device (one with the PCI Express capability, or
/// with the extended configuration space), with its links when it has one.
fn pcie_info(config: &Path) -> Option<Option<(PcieLink, PcieLink)>> {
    // Reading past the first 64 bytes needs root, as for libvirt.
    let cfg = fs::read(config).ok()?;
    match pcie_links(&cfg) {
        Some(found) => Some(found),
        None if cfg.len() >= PCIE_CONFIG_SIZE => Some(None),
        None => None,
    }
}

/// The PCI Express capability's links: `None` without the capability,
/// `Some(None)` for a device without a link.
fn pcie_links(cfg: &[u8]) -> Option<Option<(PcieLink, PcieLink)>> {
    let byte = |at: usize| cfg.get(at).copied();
    let word = |at: usize| Some(u16::from_le_bytes([byte(at)?, byte(at + 1)?]));
    let dword = |at: usize| {
        Some(u32::from_le_bytes([
            byte(at)?,
            byte(at + 1)?,
            byte(at + 2)?,
            byte(at + 3)?,
        ]))
    };
    if word(PCI_STATUS)? & PCI_STATUS_CAP_LIST == 0 {
        return None;
    }
    let mut pos = (byte(PCI_CAPABILITY_LIST)? & 0xfc) as usize;
    let mut hops = 0;
    while pos >= 0x40 && hops < 48 {
        if byte(pos)? == PCI_CAP_ID_EXP {
            let flags = word(pos + PCI_EXP_FLAGS)?;
            let kind = (flags & 0x00f0) >> 4;
            if kind == PCI_EXP_TYPE_ROOT_INT_EP || kind == PCI_EXP_TYPE_ROOT_EC {
                return Some(None);
            }
            let cap = dword(pos + PCI_EXP_LNKCAP)?;
            let sta = word(pos + PCI_EXP_LNKSTA)? as u32;
            return Some(Some((
                PcieLink {
                    port: Some(cap >> 24),
                    speed: cap & 0xf,
                    width: (cap >> 4) & 0x3f,
                },
                PcieLink {
                    port: None,
                    speed: sta & 0xf,
                    width: (sta >> 4) & 0x3f,
                },
            )));
        }
        pos = (byte(pos + 1)? & 0xfc) as usize;
        hops += 1;
    }
    None
}
