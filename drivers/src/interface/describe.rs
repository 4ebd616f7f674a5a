//! An interface's description as libvirt 9.0's udev backend builds it: MTU,
//! link state and speed, MAC address, and by device type the bridge with its
//! ports, the bond with its slaves, or the VLAN's tag and parent device. IP
//! configuration is not part of it (the backend reads none).

use std::path::Path;

use super::scan;
use crate::api::{codes, domains, DriverError, DriverResult};
use crate::nodedev::net::link_info;
use crate::nodedev::sysfs::{HostPaths, RawDevice};

/// How deep bridges and bonds may nest before the description stops.
const MAX_DEPTH: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    pub name: String,
    pub mac: String,
    pub mtu: u32,
    pub state: Option<String>,
    pub speed: Option<u32>,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Ethernet,
    Bridge {
        stp: i32,
        delay: String,
        ports: Vec<Iface>,
    },
    Bond(Bond),
    Vlan {
        tag: String,
        device: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bond {
    /// libvirt's mode number: the kernel's plus one.
    pub mode: i32,
    pub miimon: i32,
    pub downdelay: i32,
    pub updelay: i32,
    /// libvirt's carrier number: the kernel's `use_carrier` plus one.
    pub carrier: i32,
    pub arp_interval: i32,
    pub arp_target: String,
    pub arp_validate: i32,
    pub slaves: Vec<Iface>,
}

/// Where the kernel describes VLAN devices (`/proc/net/vlan`).
pub struct Sources<'a> {
    pub paths: &'a HostPaths,
    pub proc_vlan: &'a Path,
}

fn internal(message: String) -> DriverError {
    DriverError::new(codes::INTERNAL_ERROR, domains::INTERFACE, message)
}

pub fn not_found(name: &str) -> DriverError {
    DriverError::new(
        codes::NO_INTERFACE,
        domains::INTERFACE,
        format!("couldn't find interface named '{name}'"),
    )
}

/// The description of the interface `name`.
pub fn describe(src: &Sources, name: &str) -> DriverResult<Iface> {
    describe_at(src, name, 0)
}

fn describe_at(src: &Sources, name: &str, depth: usize) -> DriverResult<Iface> {
    let dev = scan::by_name(src.paths, name).ok_or_else(|| not_found(name))?;
    let mtu_text = dev.attr("mtu").unwrap_or_else(|| "<null>".to_string());
    let mtu = mtu_text
        .trim()
        .parse::<u32>()
        .map_err(|_| internal(format!("Could not parse MTU value '{mtu_text}'")))?;
    let (state, speed) = link_info(&dev);
    let kind = match dev.devtype() {
        Some("vlan") => vlan(src, name)?,
        Some("bridge") => bridge(src, &dev, name, depth)?,
        Some("bond") => Kind::Bond(bond(src, &dev, name, depth)?),
        _ if dev.attr("bonding/mode").is_some() => Kind::Bond(bond(src, &dev, name, depth)?),
        _ if name.contains('.') => vlan(src, name)?,
        _ => Kind::Ethernet,
    };
    Ok(Iface {
        name: name.to_string(),
        mac: scan::mac(&dev),
        mtu,
        state,
        speed,
        kind,
    })
}

/// Tag and parent device from `/proc/net/vlan/<name>` (`... VID: 10 ...`
/// then a line `Device: eth0`).
fn vlan(src: &Sources, name: &str) -> DriverResult<Kind> {
    let path = src.proc_vlan.join(name);
    let text = read_small(&path)?;
    let no_vid = || {
        internal(format!(
            "failed to find the VID for the VLAN device '{name}'"
        ))
    };
    let no_dev = || {
        internal(format!(
            "failed to find the real device for the VLAN device '{name}'"
        ))
    };
    let at = text.find("VID: ").ok_or_else(no_vid)? + "VID: ".len();
    let rest = &text[at..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || !rest[digits..].starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(no_vid());
    }
    let tag = rest[..digits].to_string();
    let after = &rest[digits..];
    let at = after.find("\nDevice: ").ok_or_else(no_dev)? + "\nDevice: ".len();
    let device = after[at..].split('\n').next().unwrap_or_default();
    if device.is_empty() {
        return Err(no_dev());
    }
    Ok(Kind::Vlan {
        tag,
        device: device.to_string(),
    })
}

/// Reads a /proc file of at most 8 KiB as libvirt's `virFileReadAll` does,
/// with its error texts.
fn read_small(path: &Path) -> DriverResult<String> {
    const LIMIT: usize = 8192;
    let system = |what: String, e: std::io::Error| {
        let reason = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)).desc();
        DriverError::new(
            codes::SYSTEM_ERROR,
            domains::NONE,
            format!("{what}: {reason}"),
        )
    };
    let bytes = std::fs::read(path)
        .map_err(|e| system(format!("Failed to open file '{}'", path.display()), e))?;
    if bytes.len() > LIMIT {
        return Err(DriverError::new(
            codes::INTERNAL_ERROR,
            domains::NONE,
            format!("File '{}' is too large", path.display()),
        ));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn attr_required(dev: &RawDevice, attr: &str, name: &str) -> DriverResult<String> {
    dev.attr(attr)
        .ok_or_else(|| internal(format!("Could not retrieve '{attr}' for '{name}'")))
}

fn attr_int(dev: &RawDevice, attr: &str, name: &str) -> DriverResult<i32> {
    let text = attr_required(dev, attr, name)?;
    text.trim()
        .parse::<i32>()
        .map_err(|_| internal(format!("Could not parse '{attr}' '{text}' for '{name}'")))
}

fn bridge(src: &Sources, dev: &RawDevice, name: &str, depth: usize) -> DriverResult<Kind> {
    let delay = attr_required(dev, "bridge/forward_delay", name)?;
    let stp = attr_int(dev, "bridge/stp_state", name)?;
    if !(-1..=1).contains(&stp) {
        return Err(internal(format!(
            "Invalid STP state value {stp} received for '{name}'. Must be -1, 0, or 1."
        )));
    }
    let members = scan::entry_names(&dev.syspath.join("brif")).map_err(|e| {
        let reason = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)).desc();
        DriverError::new(
            codes::SYSTEM_ERROR,
            domains::INTERFACE,
            format!("Could not get members of bridge '{name}': {reason}"),
        )
    })?;
    let mut ports = Vec::new();
    for member in members.iter().filter(|m| !is_guest_tap(m)) {
        ports.push(member_of(
            src,
            member,
            member,
            name,
            "a member of bridge",
            depth,
        )?);
    }
    Ok(Kind::Bridge { stp, delay, ports })
}

/// Guests' tap devices (`vnet<N>`) are left out of a bridge's ports.
fn is_guest_tap(name: &str) -> bool {
    name.len() >= 5 && name.starts_with("vnet") && name.as_bytes()[4].is_ascii_digit()
}

fn member_of(
    src: &Sources,
    member: &str,
    shown: &str,
    parent: &str,
    relation: &str,
    depth: usize,
) -> DriverResult<Iface> {
    if depth >= MAX_DEPTH {
        return Err(internal(format!(
            "Could not get interface information for '{shown}', which is {relation} '{parent}'"
        )));
    }
    describe_at(src, member, depth + 1).map_err(|_| {
        internal(format!(
            "Could not get interface information for '{shown}', which is {relation} '{parent}'"
        ))
    })
}

/// The number after the space of a `name N` attribute (`balance-rr 0`).
fn numbered(dev: &RawDevice, attr: &str, name: &str) -> DriverResult<i32> {
    let text = attr_required(dev, attr, name)?;
    let (_, number) = text
        .split_once(' ')
        .ok_or_else(|| internal(format!("Invalid format for '{attr}' for '{name}'")))?;
    if number.is_empty() {
        return Err(internal(format!(
            "Unable to find correct value in '{attr}' for '{name}'"
        )));
    }
    number
        .trim()
        .parse::<i32>()
        .map_err(|_| internal(format!("Could not parse '{attr}' ' {number}' for '{name}'")))
}

fn bond(src: &Sources, dev: &RawDevice, name: &str, depth: usize) -> DriverResult<Bond> {
    let downdelay = attr_int(dev, "bonding/downdelay", name)?;
    let updelay = attr_int(dev, "bonding/updelay", name)?;
    let miimon = attr_int(dev, "bonding/miimon", name)?;
    let arp_interval = attr_int(dev, "bonding/arp_interval", name)?;
    let mode = numbered(dev, "bonding/mode", name)? + 1;
    let arp_validate = numbered(dev, "bonding/arp_validate", name)?;
    let carrier = attr_int(dev, "bonding/use_carrier", name)? + 1;
    let arp_target = std::fs::read_to_string(dev.syspath.join("bonding/arp_ip_target"))
        .map(|t| t.trim_end_matches('\n').to_string())
        .map_err(|_| {
            internal(format!(
                "Could not retrieve 'bonding/arp_ip_target' for '{name}'"
            ))
        })?;
    let entries = scan::entry_names(&dev.syspath).map_err(|e| {
        let reason = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)).desc();
        DriverError::new(
            codes::SYSTEM_ERROR,
            domains::INTERFACE,
            format!("Could not get slaves of bond '{name}': {reason}"),
        )
    })?;
    let mut slaves = Vec::new();
    for entry in entries.iter().filter(|e| e.starts_with("slave_")) {
        let slave = &entry["slave_".len()..];
        if slave.is_empty() {
            return Err(internal(format!(
                "Invalid enslaved interface name '{entry}' seen for bond '{name}'"
            )));
        }
        slaves.push(member_of(
            src,
            slave,
            entry,
            name,
            "a enslaved in bond",
            depth,
        )?);
    }
    Ok(Bond {
        mode,
        miimon,
        downdelay,
        updelay,
        carrier,
        arp_interval,
        arp_target,
        arp_validate,
        slaves,
    })
}
