//! Reading one device the way libudev presents it to libvirt: its canonical
//! sysfs path, subsystem, sysname, driver, and properties from its `uevent`
//! file plus the udev database (`/run/udev/data`) when udevd keeps one.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the host's device information lives (fixed paths; a test may point
/// them elsewhere).
#[derive(Clone, Debug)]
pub struct HostPaths {
    pub sys: PathBuf,
    pub udev_data: PathBuf,
    pub pci_ids: Vec<PathBuf>,
    pub usb_ids: Vec<PathBuf>,
}

impl Default for HostPaths {
    fn default() -> Self {
        HostPaths {
            sys: PathBuf::from("/sys"),
            udev_data: PathBuf::from("/run/udev/data"),
            pci_ids: vec![
                PathBuf::from("/usr/share/misc/pci.ids"),
                PathBuf::from("/usr/share/hwdata/pci.ids"),
            ],
            usb_ids: vec![
                PathBuf::from("/usr/share/misc/usb.ids"),
                PathBuf::from("/usr/share/hwdata/usb.ids"),
            ],
        }
    }
}

/// Longest sysfs attribute read (attributes are short; `config` is read elsewhere).
const MAX_ATTR: u64 = 64 * 1024;

/// One device as libudev would show it.
#[derive(Clone, Debug, Default)]
pub struct RawDevice {
    pub syspath: PathBuf,
    pub subsystem: String,
    pub sysname: String,
    pub driver: Option<String>,
    pub props: BTreeMap<String, String>,
    /// Symlinks udev made for the device (`/dev/disk/by-id/...`).
    pub links: Vec<String>,
}

impl RawDevice {
    /// Reads the device at `path` (any path resolving into /sys/devices).
    pub fn read(paths: &HostPaths, path: &Path) -> Option<RawDevice> {
        let syspath = fs::canonicalize(path).ok()?;
        let uevent = read_attr_at(&syspath.join("uevent"))?;
        let subsystem = link_name(&syspath.join("subsystem"))?;
        let sysname = syspath.file_name()?.to_string_lossy().into_owned();
        let driver = link_name(&syspath.join("driver"));
        let mut props = BTreeMap::new();
        for line in uevent.lines() {
            if let Some((k, v)) = line.split_once('=') {
                props.insert(k.to_string(), v.to_string());
            }
        }
        props.insert("SUBSYSTEM".to_string(), subsystem.clone());
        let mut device = RawDevice {
            syspath,
            subsystem,
            sysname,
            driver,
            props,
            links: Vec::new(),
        };
        device.merge_udev_db(paths);
        Some(device)
    }

    /// The udev database entry's name for this device.
    fn db_id(&self) -> String {
        if let (Some(major), Some(minor)) = (self.props.get("MAJOR"), self.props.get("MINOR")) {
            let kind = if self.subsystem == "block" { 'b' } else { 'c' };
            return format!("{kind}{major}:{minor}");
        }
        if let Some(index) = self.props.get("IFINDEX") {
            return format!("n{index}");
        }
        format!("+{}:{}", self.subsystem, self.sysname)
    }

    fn merge_udev_db(&mut self, paths: &HostPaths) {
        let Some(text) = read_attr_at(&paths.udev_data.join(self.db_id())) else {
            return;
        };
        for line in text.lines() {
            if let Some(prop) = line.strip_prefix("E:") {
                if let Some((k, v)) = prop.split_once('=') {
                    self.props
                        .entry(k.to_string())
                        .or_insert_with(|| v.to_string());
                }
            } else if let Some(link) = line.strip_prefix("S:") {
                self.links.push(format!("/dev/{link}"));
            }
        }
    }

    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn devtype(&self) -> Option<&str> {
        self.prop("DEVTYPE")
    }

    /// A sysfs attribute of the device without its trailing newline, as
    /// libudev returns it; `None` when absent or empty.
    pub fn attr(&self, name: &str) -> Option<String> {
        read_attr_at(&self.syspath.join(name))
            .map(|v| v.trim_end_matches(['\n', '\r']).to_string())
            .filter(|v| !v.is_empty())
    }

    pub fn attr_u64(&self, name: &str, radix: u32) -> Option<u64> {
        let text = self.attr(name)?;
        let text = text.trim();
        let digits = if radix == 16 {
            text.trim_start_matches("0x")
        } else {
            text
        };
        u64::from_str_radix(digits, radix).ok()
    }

    /// `/dev/<DEVNAME>`.
    pub fn devnode(&self) -> Option<String> {
        self.prop("DEVNAME").map(|n| {
            if n.starts_with('/') {
                n.to_string()
            } else {
                format!("/dev/{n}")
            }
        })
    }
}

fn read_attr_at(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = fs::File::open(path).ok()?;
    let mut out = Vec::new();
    file.take(MAX_ATTR).read_to_end(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The last component of a symlink's target (`subsystem` -> `pci`).
fn link_name(path: &Path) -> Option<String> {
    let target = fs::read_link(path).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// libvirt's device name: `<subsystem>_<sysname>[_<extra>]` with every
/// character that is not an ASCII letter or digit turned into `_`.
pub fn device_name(subsystem: &str, sysname: &str, extra: Option<&str>) -> String {
    let mut name = format!("{subsystem}_{sysname}");
    if let Some(extra) = extra {
        name.push('_');
        name.push_str(extra);
    }
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Entries of a directory as paths (empty when it does not exist).
pub fn list_dir(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_libvirt() {
        assert_eq!(device_name("pci", "0000:00:03.0", None), "pci_0000_00_03_0");
        assert_eq!(
            device_name("net", "eth0", Some("02:fc:00:00:00:01")),
            "net_eth0_02_fc_00_00_00_01"
        );
        assert_eq!(device_name("usb", "1-1:1.0", None), "usb_1_1_1_0");
    }
}
