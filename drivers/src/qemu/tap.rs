//! Tap devices for `<interface type='bridge'>`: created persistent, added to the
//! existing bridge and brought up before QEMU starts (QEMU opens the tap by name),
//! removed after the guest stops. Names follow libvirt's `vnetN`, shown as
//! `<target dev='vnetN'/>` in the live XML.

use std::ffi::CString;
use std::io;
use std::path::Path;

use super::error::QemuError;
use crate::domain_xml::{DomainDef, Element};

/// `SIOCBRADDIF` (linux/sockios.h).
const SIOCBRADDIF: libc::c_ulong = 0x89a2;
const TAP_PREFIX: &str = "vnet";

/// Creates the taps of every bridge interface of `def` and records their names in it.
/// On failure the taps made so far are removed again.
pub fn create_bridge_taps(def: &mut DomainDef) -> Result<(), QemuError> {
    let mut made: Vec<String> = Vec::new();
    for interface in def
        .devices
        .iter_mut()
        .filter(|d| d.name == "interface" && matches!(d.attr("type"), Some("bridge" | "network")))
    {
        let bridge = interface
            .child("source")
            .and_then(|s| s.attr("bridge"))
            .unwrap_or("")
            .to_string();
        let result = check_bridge(&bridge)
            .and_then(|_| super::bandwidth::check(interface))
            .and_then(|_| free_tap_name(&made))
            .and_then(|name| add_tap(&name, &bridge).map(|_| name))
            .and_then(|name| match super::bandwidth::apply(&name, interface) {
                Ok(()) => Ok(name),
                Err(e) => {
                    let _ = remove_tap(&name);
                    Err(e)
                }
            });
        match result {
            Ok(name) => {
                set_target(interface, &name);
                made.push(name);
            }
            Err(e) => {
                for name in &made {
                    let _ = remove_tap(name);
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Removes the taps recorded in a live definition (best effort: a tap already gone
/// is not an error).
pub fn remove_bridge_taps(def: &DomainDef) {
    for name in tap_names(def) {
        let _ = remove_tap(&name);
    }
}

/// Names of the taps a live definition holds.
pub fn tap_names(def: &DomainDef) -> Vec<String> {
    def.devices
        .iter()
        .filter(|d| d.name == "interface" && matches!(d.attr("type"), Some("bridge" | "network")))
        .filter_map(|d| d.child("target").and_then(|t| t.attr("dev")))
        .filter(|name| name.starts_with(TAP_PREFIX))
        .map(str::to_string)
        .collect()
}

fn set_target(interface: &mut Element, name: &str) {
    interface.children.retain(|c| c.name != "target");
    let at = interface
        .children
        .iter()
        .position(|c| !matches!(c.name.as_str(), "mac" | "source"))
        .unwrap_or(interface.children.len());
    interface
        .children
        .insert(at, Element::new("target").with_attr("dev", name));
}

fn check_bridge(bridge: &str) -> Result<(), QemuError> {
    if bridge.is_empty() {
        return Err(QemuError::Unsupported(
            "interface type 'bridge' needs <source bridge='...'/>".into(),
        ));
    }
    if !Path::new("/sys/class/net")
        .join(bridge)
        .join("bridge")
        .is_dir()
    {
        return Err(QemuError::Failed(format!(
            "bridge '{bridge}' does not exist on this host"
        )));
    }
    Ok(())
}

/// The first `vnetN` that neither exists nor was just taken.
fn free_tap_name(taken: &[String]) -> Result<String, QemuError> {
    (0..65_536)
        .map(|n| format!("{TAP_PREFIX}{n}"))
        .find(|name| !taken.contains(name) && !Path::new("/sys/class/net").join(name).exists())
        .ok_or_else(|| QemuError::Failed("no free tap device name".into()))
}

fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    // SAFETY: an all-zero ifreq is valid (empty name, zero union).
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= req.ifr_name.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad interface name",
        ));
    }
    for (slot, &b) in req.ifr_name.iter_mut().zip(bytes) {
        *slot = b as libc::c_char;
    }
    Ok(req)
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Makes the tap device persistent (or not) through /dev/net/tun.
fn set_persistent(name: &str, persistent: bool) -> io::Result<()> {
    let path = CString::new("/dev/net/tun").map_err(io::Error::other)?;
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: plain system calls on a descriptor we own and a valid ifreq.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        check(fd)?;
        let result = check(libc::ioctl(fd, libc::TUNSETIFF, &mut req)).and_then(|_| {
            check(libc::ioctl(
                fd,
                libc::TUNSETPERSIST,
                libc::c_ulong::from(persistent),
            ))
        });
        libc::close(fd);
        result
    }
}

fn add_tap(name: &str, bridge: &str) -> Result<(), QemuError> {
    let fail = |what: &str, e: io::Error| {
        QemuError::Failed(format!("cannot {what} tap device '{name}': {e}"))
    };
    set_persistent(name, true).map_err(|e| fail("create", e))?;
    let attached = attach_and_up(name, bridge);
    if let Err(e) = attached {
        let _ = set_persistent(name, false);
        return Err(fail(&format!("add to bridge '{bridge}' the"), e));
    }
    Ok(())
}

fn attach_and_up(name: &str, bridge: &str) -> io::Result<()> {
    let index = nix::net::if_::if_nametoindex(name)?;
    // SAFETY: plain system calls on a socket we own and valid ifreq values.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        check(sock)?;
        let mut add = ifreq(bridge)?;
        add.ifr_ifru.ifru_ifindex = index as libc::c_int;
        let mut flags = ifreq(name)?;
        let result = check(libc::ioctl(sock, SIOCBRADDIF as _, &mut add))
            .and_then(|_| check(libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut flags)))
            .and_then(|_| {
                flags.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
                check(libc::ioctl(sock, libc::SIOCSIFFLAGS, &mut flags))
            });
        libc::close(sock);
        result
    }
}

fn remove_tap(name: &str) -> io::Result<()> {
    set_persistent(name, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::parse_domain_xml;

    fn def(devices: &str) -> DomainDef {
        parse_domain_xml(
            &format!(
                "<domain type='qemu'><name>t</name><memory>65536</memory>\
                 <os><type>hvm</type></os><devices>{devices}</devices></domain>"
            ),
            &crate::qemu::defaults::parse_options(),
        )
        .expect("parses")
    }

    #[test]
    fn missing_bridge_is_refused_before_any_tap_exists() {
        let mut d = def("<interface type='bridge'><source bridge='no-such-br0'/></interface>");
        let err = create_bridge_taps(&mut d).expect_err("no bridge");
        assert!(
            err.to_string()
                .contains("bridge 'no-such-br0' does not exist"),
            "{err}"
        );
        assert!(tap_names(&d).is_empty());
    }

    #[test]
    fn target_goes_after_mac_and_source() {
        let mut d = def(
            "<interface type='bridge'><mac address='52:54:00:00:00:01'/>\
                         <source bridge='br0'/><model type='virtio'/></interface>",
        );
        let nic = d
            .devices
            .iter_mut()
            .find(|x| x.name == "interface")
            .expect("nic");
        set_target(nic, "vnet3");
        let names: Vec<&str> = nic.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["mac", "source", "target", "model"]);
        assert_eq!(tap_names(&d), ["vnet3"]);
    }

    #[test]
    fn interface_names_are_checked() {
        assert!(ifreq("").is_err());
        assert!(ifreq("a-name-far-too-long").is_err());
        assert!(ifreq("vnet0").is_ok());
    }
}
