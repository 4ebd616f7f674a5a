//! Which network devices the driver shows, found as libvirt's udev backend
//! finds them: every device of the `net` class except bridge ports (they
//! appear inside their bridge) and TUN/TAP devices (guests' NICs).

use std::ffi::CString;
use std::path::Path;

use crate::nodedev::sysfs::{list_dir, HostPaths, RawDevice};

/// Every device of the `net` class, in sysfs path order as libudev lists them.
pub fn net_devices(paths: &HostPaths) -> Vec<RawDevice> {
    let mut devices: Vec<RawDevice> = list_dir(&paths.sys.join("class/net"))
        .iter()
        .filter_map(|entry| RawDevice::read(paths, entry))
        .filter(|dev| dev.subsystem == "net")
        .collect();
    devices.sort_by(|a, b| a.syspath.cmp(&b.syspath));
    devices
}

/// The devices libvirt lists: neither bridge ports nor TUN/TAP devices.
pub fn listed(paths: &HostPaths) -> Vec<RawDevice> {
    net_devices(paths)
        .into_iter()
        .filter(|dev| !has_attr(dev, "brport/state") && !has_attr(dev, "tun_flags"))
        .collect()
}

/// The device of the `net` class called `name`, listed or not.
pub fn by_name(paths: &HostPaths, name: &str) -> Option<RawDevice> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return None;
    }
    RawDevice::read(paths, &paths.sys.join("class/net").join(name))
        .filter(|dev| dev.subsystem == "net")
}

/// Whether the device's link is up (`operstate` reads `up`).
pub fn is_up(dev: &RawDevice) -> bool {
    dev.attr("operstate").as_deref() == Some("up")
}

/// Whether the attribute exists and can be read, as udev's "no match"
/// filter without a value tests it.
fn has_attr(dev: &RawDevice, name: &str) -> bool {
    std::fs::read(dev.syspath.join(name)).is_ok()
}

/// The MAC address libvirt reports for the device (`address`).
pub fn mac(dev: &RawDevice) -> String {
    dev.attr("address").unwrap_or_default()
}

/// Longest pattern matched: far beyond any address a link layer has, short
/// enough that a client's pattern cannot make matching costly.
const MAX_PATTERN: usize = 1024;

/// udev's attribute match: `pattern` is a shell glob (`fnmatch`).
pub fn glob_matches(pattern: &str, value: &str) -> bool {
    if pattern.len() > MAX_PATTERN {
        return false;
    }
    let (Ok(pattern), Ok(value)) = (CString::new(pattern), CString::new(value)) else {
        return false;
    };
    // SAFETY: both are valid NUL-terminated strings that outlive the call.
    unsafe { libc::fnmatch(pattern.as_ptr(), value.as_ptr(), 0) == 0 }
}

/// Entry names of `dir` in byte order (empty when it cannot be read).
pub fn entry_names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn mac_lookup_is_a_glob_match() {
        assert!(glob_matches("52:54:00:aa:00:01", "52:54:00:aa:00:01"));
        assert!(!glob_matches("52:54:00:AA:00:01", "52:54:00:aa:00:01"));
        assert!(glob_matches("*", "52:54:00:aa:00:01"));
        assert!(glob_matches("52:54:00:aa:00:0?", "52:54:00:aa:00:01"));
        assert!(!glob_matches(&"*".repeat(5000), "52:54:00:aa:00:01"));
    }
}
