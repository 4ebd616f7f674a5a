//! `logical` pools: an LVM volume group through the Debian `lvm2` tools; each
//! logical volume is a volume. Needs device-mapper in the kernel.

use std::path::PathBuf;

use super::backend::BUILD_OVERWRITE;
use super::errors;
use super::pool::{Pool, Volume};
use super::tools;
use crate::api::DriverResult;

fn vg(pool: &Pool) -> String {
    pool.def
        .source_name
        .clone()
        .unwrap_or_else(|| pool.def.name.clone())
}

pub fn build(pool: &Pool, flags: u32) -> DriverResult<()> {
    tools::require("vgcreate", "lvm2")?;
    if pool.def.source_devices.is_empty() {
        return Err(errors::operation_invalid(
            "no source device for the volume group",
        ));
    }
    for dev in &pool.def.source_devices {
        let mut argv = vec!["pvcreate"];
        if flags & BUILD_OVERWRITE != 0 {
            argv.push("-ff");
            argv.push("-y");
        }
        argv.push(dev);
        tools::run(&argv)?;
    }
    let name = vg(pool);
    let mut argv = vec!["vgcreate", name.as_str()];
    argv.extend(pool.def.source_devices.iter().map(String::as_str));
    tools::run(&argv).map(|_| ())
}

pub fn start(pool: &Pool) -> DriverResult<()> {
    tools::require("vgchange", "lvm2")?;
    tools::run(&["vgchange", "-aay", &vg(pool)]).map(|_| ())
}

pub fn stop(pool: &Pool) -> DriverResult<()> {
    tools::run(&["vgchange", "-aan", &vg(pool)]).map(|_| ())
}

pub fn delete(pool: &Pool) -> DriverResult<()> {
    tools::run(&["vgremove", "-f", &vg(pool)])?;
    for dev in &pool.def.source_devices {
        tools::run(&["pvremove", dev])?;
    }
    Ok(())
}

pub fn refresh(pool: &mut Pool) -> DriverResult<()> {
    let name = vg(pool);
    let out = tools::run(&[
        "lvs",
        "--noheadings",
        "--units",
        "b",
        "--nosuffix",
        "--separator",
        ":",
        "-o",
        "lv_name,lv_size",
        &name,
    ])?;
    let mut volumes = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.trim().split(':').collect();
        if let [lv, size] = f[..] {
            let size: u64 = size.parse().unwrap_or(0);
            volumes.push(Volume {
                name: lv.to_string(),
                path: PathBuf::from(format!("/dev/{name}/{lv}")),
                kind: 1,
                format: "none".to_string(),
                capacity: size,
                allocation: size,
                physical: size,
                backing: None,
                compat: None,
                lazy_refcounts: false,
                perms: None,
            });
        }
    }
    let vgs = tools::run(&[
        "vgs",
        "--noheadings",
        "--units",
        "b",
        "--nosuffix",
        "--separator",
        ":",
        "-o",
        "vg_size,vg_free",
        &name,
    ])?;
    let f: Vec<u64> = vgs
        .trim()
        .split(':')
        .filter_map(|s| s.parse().ok())
        .collect();
    if let [size, free] = f[..] {
        pool.sizes = (size, size - free, free);
    }
    pool.volumes = volumes;
    Ok(())
}

pub fn create_lv(pool: &Pool, name: &str, capacity: u64) -> DriverResult<PathBuf> {
    let vg = vg(pool);
    tools::run(&[
        "lvcreate",
        "-y",
        "-L",
        &format!("{capacity}b"),
        "-n",
        name,
        &vg,
    ])?;
    Ok(PathBuf::from(format!("/dev/{vg}/{name}")))
}

pub fn remove_lv(pool: &Pool, name: &str) -> DriverResult<()> {
    tools::run(&["lvremove", "-f", &format!("{}/{name}", vg(pool))]).map(|_| ())
}

/// `find-storage-pool-sources logical`: the volume groups and their physical
/// volumes, as libvirt lists them.
pub fn find_sources() -> DriverResult<String> {
    tools::require("pvs", "lvm2")?;
    let out = tools::run(&[
        "pvs",
        "--noheadings",
        "--separator",
        ":",
        "-o",
        "pv_name,vg_name",
    ])?;
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for line in out.lines() {
        let mut f = line.trim().splitn(2, ':');
        let (Some(pv), Some(vg)) = (f.next(), f.next()) else {
            continue;
        };
        if vg.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(name, _)| name == vg) {
            Some((_, pvs)) => pvs.push(pv.to_string()),
            None => groups.push((vg.to_string(), vec![pv.to_string()])),
        }
    }
    let esc = super::xml_escape;
    let mut xml = String::from("<sources>\n");
    for (vg, pvs) in groups {
        xml.push_str("  <source>\n");
        for pv in pvs {
            xml.push_str(&format!("    <device path='{}'/>\n", esc(&pv)));
        }
        xml.push_str(&format!("    <name>{}</name>\n", esc(&vg)));
        xml.push_str("    <format type='lvm2'/>\n  </source>\n");
    }
    xml.push_str("</sources>\n");
    Ok(xml)
}
