//! Guest agent replies turned into libvirt's values: filesystems with the domain
//! disks they live on, network interfaces, and `virDomainGetGuestInfo`'s typed
//! parameters.

use serde_json::Value;

use super::malformed;
use crate::api::{
    guest_info_types as types, DomainRef, DriverError, DriverResult, InterfaceAddresses,
    NamedParam, ParamValue,
};
use crate::domain_xml::Element;
use crate::qemu::Inner;

/// `VIR_IP_ADDR_TYPE_*`.
const ADDR_IPV4: i32 = 0;
const ADDR_IPV6: i32 = 1;

/// A disk under a guest filesystem.
pub(super) struct FsDisk {
    /// The domain disk's target (`vda`), when it is found.
    pub alias: Option<String>,
    pub serial: Option<String>,
    pub device: Option<String>,
}

pub(super) struct Filesystem {
    pub mountpoint: String,
    pub name: String,
    pub fstype: String,
    pub total_bytes: Option<u64>,
    pub used_bytes: Option<u64>,
    pub disks: Vec<FsDisk>,
}

impl Inner {
    /// The devices of the live definition.
    pub(super) fn live_devices(&self, dom: &DomainRef) -> DriverResult<Vec<Element>> {
        let st = self.lock();
        Ok(st.get(dom)?.def.devices.clone())
    }
}

fn number(text: Option<&str>) -> Option<u64> {
    let text = text?;
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The domain disk an agent disk address names: by PCI address when the definition
/// has one, by serial, else by the guest's virtio device name (`/dev/vdb` is `vdb`).
fn domain_disk(devices: &[Element], address: &Value) -> Option<String> {
    let disks = || devices.iter().filter(|d| d.name == "disk");
    let target = |d: &Element| d.child("target")?.attr("dev").map(str::to_string);
    if let Some(pci) = address.get("pci-controller") {
        let wanted =
            ["domain", "bus", "slot", "function"].map(|k| pci.get(k).and_then(Value::as_u64));
        let found = disks().find(|d| {
            d.child("address")
                .filter(|a| a.attr("type") == Some("pci"))
                .is_some_and(|a| {
                    ["domain", "bus", "slot", "function"]
                        .map(|k| Some(number(a.attr(k)).unwrap_or(0)))
                        == wanted
                })
        });
        if let Some(disk) = found {
            return target(disk);
        }
    }
    if let Some(serial) = address.get("serial").and_then(Value::as_str) {
        if let Some(disk) = disks().find(|d| {
            d.child("serial")
                .is_some_and(|s| s.text.as_deref() == Some(serial))
        }) {
            return target(disk);
        }
    }
    let dev = address
        .get("dev")
        .and_then(Value::as_str)?
        .strip_prefix("/dev/")?;
    disks()
        .find(|d| {
            d.child("target")
                .is_some_and(|t| t.attr("dev") == Some(dev) && t.attr("bus") == Some("virtio"))
        })
        .and_then(target)
}

/// `guest-get-fsinfo`'s reply.
pub(super) fn filesystems(reply: &Value, devices: &[Element]) -> DriverResult<Vec<Filesystem>> {
    let list = reply.as_array().ok_or_else(malformed)?;
    list.iter()
        .map(|fs| {
            let text = |k: &str| fs.get(k).and_then(Value::as_str).map(str::to_string);
            let disks = fs
                .get("disk")
                .and_then(Value::as_array)
                .map(|disks| {
                    disks
                        .iter()
                        .map(|d| FsDisk {
                            alias: domain_disk(devices, d),
                            serial: d.get("serial").and_then(Value::as_str).map(str::to_string),
                            device: d.get("dev").and_then(Value::as_str).map(str::to_string),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(Filesystem {
                mountpoint: text("mountpoint")?,
                name: text("name")?,
                fstype: text("type")?,
                total_bytes: fs.get("total-bytes").and_then(Value::as_u64),
                used_bytes: fs.get("used-bytes").and_then(Value::as_u64),
                disks,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(malformed)
}

/// `guest-network-get-interfaces`'s reply.
pub(super) fn interfaces(reply: &Value) -> DriverResult<Vec<InterfaceAddresses>> {
    let list = reply.as_array().ok_or_else(malformed)?;
    list.iter()
        .map(|iface| {
            let addrs = iface
                .get("ip-addresses")
                .and_then(Value::as_array)
                .map(|addrs| {
                    addrs
                        .iter()
                        .filter_map(|a| {
                            let kind = match a.get("ip-address-type")?.as_str()? {
                                "ipv4" => ADDR_IPV4,
                                "ipv6" => ADDR_IPV6,
                                _ => return None,
                            };
                            Some((
                                kind,
                                a.get("ip-address")?.as_str()?.to_string(),
                                u32::try_from(a.get("prefix")?.as_u64()?).ok()?,
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(InterfaceAddresses {
                name: iface.get("name")?.as_str()?.to_string(),
                hwaddr: iface
                    .get("hardware-address")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                addrs,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(malformed)
}

struct Params(Vec<NamedParam>);

impl Params {
    fn string(&mut self, field: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.0.push(NamedParam::new(
                field,
                ParamValue::String(value.to_string()),
            ));
        }
    }
    fn uint(&mut self, field: &str, value: usize) {
        self.0.push(NamedParam::new(
            field,
            ParamValue::UInt(u32::try_from(value).unwrap_or(u32::MAX)),
        ));
    }
    fn ullong(&mut self, field: &str, value: Option<u64>) {
        if let Some(value) = value {
            self.0
                .push(NamedParam::new(field, ParamValue::ULLong(value)));
        }
    }
}

fn users(params: &mut Params, reply: &Value) -> DriverResult<()> {
    let list = reply.as_array().ok_or_else(malformed)?;
    params.uint("user.count", list.len());
    for (i, user) in list.iter().enumerate() {
        params.string(
            &format!("user.{i}.name"),
            user.get("user").and_then(Value::as_str),
        );
        params.string(
            &format!("user.{i}.domain"),
            user.get("domain").and_then(Value::as_str),
        );
        let login = user.get("login-time").and_then(Value::as_f64);
        params.ullong(
            &format!("user.{i}.login-time"),
            login.map(|s| (s * 1000.0) as u64),
        );
    }
    Ok(())
}

fn os(params: &mut Params, reply: &Value) {
    for key in [
        "id",
        "name",
        "pretty-name",
        "version",
        "version-id",
        "kernel-release",
        "kernel-version",
        "machine",
        "variant",
        "variant-id",
    ] {
        params.string(&format!("os.{key}"), reply.get(key).and_then(Value::as_str));
    }
}

fn timezone(params: &mut Params, reply: &Value) -> DriverResult<()> {
    params.string("timezone.name", reply.get("zone").and_then(Value::as_str));
    let offset = reply
        .get("offset")
        .and_then(Value::as_i64)
        .and_then(|o| i32::try_from(o).ok())
        .ok_or_else(malformed)?;
    params
        .0
        .push(NamedParam::new("timezone.offset", ParamValue::Int(offset)));
    Ok(())
}

fn filesystem_params(params: &mut Params, list: &[Filesystem]) {
    params.uint("fs.count", list.len());
    for (i, fs) in list.iter().enumerate() {
        params.string(&format!("fs.{i}.name"), Some(&fs.name));
        params.string(&format!("fs.{i}.mountpoint"), Some(&fs.mountpoint));
        params.string(&format!("fs.{i}.fstype"), Some(&fs.fstype));
        params.ullong(&format!("fs.{i}.total-bytes"), fs.total_bytes);
        params.ullong(&format!("fs.{i}.used-bytes"), fs.used_bytes);
        params.uint(&format!("fs.{i}.disk.count"), fs.disks.len());
        for (j, disk) in fs.disks.iter().enumerate() {
            params.string(&format!("fs.{i}.disk.{j}.alias"), disk.alias.as_deref());
            params.string(&format!("fs.{i}.disk.{j}.serial"), disk.serial.as_deref());
            params.string(&format!("fs.{i}.disk.{j}.device"), disk.device.as_deref());
        }
    }
}

fn disks(params: &mut Params, reply: &Value, devices: &[Element]) -> DriverResult<()> {
    let list = reply.as_array().ok_or_else(malformed)?;
    params.uint("disk.count", list.len());
    for (i, disk) in list.iter().enumerate() {
        params.string(
            &format!("disk.{i}.name"),
            disk.get("name").and_then(Value::as_str),
        );
        let partition = disk
            .get("partition")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        params.0.push(NamedParam::new(
            &format!("disk.{i}.partition"),
            ParamValue::Boolean(partition),
        ));
        let deps = disk
            .get("dependencies")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !deps.is_empty() {
            params.uint(&format!("disk.{i}.dependency.count"), deps.len());
            for (j, dep) in deps.iter().enumerate() {
                params.string(&format!("disk.{i}.dependency.{j}.name"), dep.as_str());
            }
        }
        if let Some(address) = disk.get("address") {
            params.string(
                &format!("disk.{i}.serial"),
                address.get("serial").and_then(Value::as_str),
            );
            params.string(
                &format!("disk.{i}.alias"),
                domain_disk(devices, address).as_deref(),
            );
        }
        params.string(
            &format!("disk.{i}.guest_alias"),
            disk.get("alias").and_then(Value::as_str),
        );
    }
    Ok(())
}

fn interface_params(params: &mut Params, list: &[InterfaceAddresses]) {
    params.uint("if.count", list.len());
    for (i, iface) in list.iter().enumerate() {
        params.string(&format!("if.{i}.name"), Some(&iface.name));
        params.string(&format!("if.{i}.hwaddr"), iface.hwaddr.as_deref());
        params.uint(&format!("if.{i}.addr.count"), iface.addrs.len());
        for (j, (kind, addr, prefix)) in iface.addrs.iter().enumerate() {
            let kind = if *kind == ADDR_IPV6 { "ipv6" } else { "ipv4" };
            params.string(&format!("if.{i}.addr.{j}.type"), Some(kind));
            params.string(&format!("if.{i}.addr.{j}.addr"), Some(addr));
            params.uint(&format!("if.{i}.addr.{j}.prefix"), *prefix as usize);
        }
    }
}

/// Whether an error only says this agent lacks the command (skipped when no type
/// was asked for explicitly, as libvirt does).
fn unsupported_command(e: &DriverError) -> bool {
    e.message.contains("has not been found") || e.message.contains("has been disabled")
}

/// `virDomainGetGuestInfo`: `wanted` types (0: every type the agent answers).
pub(super) fn collect(
    inner: &Inner,
    dom: &DomainRef,
    wanted: u32,
) -> DriverResult<Vec<NamedParam>> {
    if wanted & !types::ALL != 0 {
        return Err(DriverError::new(
            crate::api::codes::INVALID_ARG,
            crate::api::domains::QEMU,
            format!(
                "unsupported guest information types '0x{:x}'",
                wanted & !types::ALL
            ),
        ));
    }
    let all = wanted == 0;
    let wants = |t: u32| all || wanted & t != 0;
    let agent = inner.agent(dom)?;
    let devices = inner.live_devices(dom)?;
    let mut params = Params(Vec::new());
    let ask = |command: &str| -> DriverResult<Option<Value>> {
        match agent.call(command, None) {
            Ok(v) => Ok(Some(v)),
            Err(e) if all && unsupported_command(&e) => Ok(None),
            Err(e) => Err(e),
        }
    };
    if wants(types::USERS) {
        if let Some(reply) = ask("guest-get-users")? {
            users(&mut params, &reply)?;
        }
    }
    if wants(types::OS) {
        if let Some(reply) = ask("guest-get-osinfo")? {
            os(&mut params, &reply);
        }
    }
    if wants(types::TIMEZONE) {
        if let Some(reply) = ask("guest-get-timezone")? {
            timezone(&mut params, &reply)?;
        }
    }
    if wants(types::HOSTNAME) {
        if let Some(reply) = ask("guest-get-host-name")? {
            params.string(
                "hostname",
                Some(
                    reply
                        .get("host-name")
                        .and_then(Value::as_str)
                        .ok_or_else(malformed)?,
                ),
            );
        }
    }
    if wants(types::FILESYSTEM) {
        if let Some(reply) = ask("guest-get-fsinfo")? {
            filesystem_params(&mut params, &filesystems(&reply, &devices)?);
        }
    }
    if wants(types::DISKS) {
        if let Some(reply) = ask("guest-get-disks")? {
            disks(&mut params, &reply, &devices)?;
        }
    }
    if wants(types::INTERFACES) {
        if let Some(reply) = ask("guest-network-get-interfaces")? {
            interface_params(&mut params, &interfaces(&reply)?);
        }
    }
    Ok(params.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn disk(dev: &str, address: Option<Element>) -> Element {
        let mut disk = Element::new("disk").with_child(
            Element::new("target")
                .with_attr("dev", dev)
                .with_attr("bus", "virtio"),
        );
        if let Some(address) = address {
            disk.children.push(address);
        }
        disk
    }

    #[test]
    fn filesystems_name_the_domain_disks_they_live_on() {
        let devices = vec![
            disk("vda", None),
            disk(
                "vdb",
                Some(
                    Element::new("address")
                        .with_attr("type", "pci")
                        .with_attr("domain", "0x0000")
                        .with_attr("bus", "0x00")
                        .with_attr("slot", "0x07")
                        .with_attr("function", "0x0"),
                ),
            ),
        ];
        let reply = json!([
            {"name": "vdc", "mountpoint": "/data", "type": "ext4", "total-bytes": 100,
             "disk": [{"dev": "/dev/vdc",
                       "pci-controller": {"domain": 0, "bus": 0, "slot": 7, "function": 0}}]},
            {"name": "vda", "mountpoint": "/mnt/vda", "type": "ext4",
             "disk": [{"dev": "/dev/vda",
                       "pci-controller": {"domain": 0, "bus": 0, "slot": 4, "function": 0}}]}
        ]);
        let list = filesystems(&reply, &devices).expect("parsed");
        assert_eq!(
            list[0].disks[0].alias.as_deref(),
            Some("vdb"),
            "by PCI address"
        );
        assert_eq!(list[0].total_bytes, Some(100));
        assert_eq!(
            list[1].disks[0].alias.as_deref(),
            Some("vda"),
            "by device name"
        );
        assert!(filesystems(&json!({"x": 1}), &devices).is_err());
    }

    #[test]
    fn interfaces_keep_their_addresses() {
        let reply = json!([{"name": "lo", "hardware-address": "00:00:00:00:00:00",
            "ip-addresses": [
                {"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8},
                {"ip-address-type": "ipv6", "ip-address": "::1", "prefix": 128}]}]);
        let list = interfaces(&reply).expect("parsed");
        assert_eq!(list[0].name, "lo");
        assert_eq!(
            list[0].addrs,
            vec![
                (ADDR_IPV4, "127.0.0.1".to_string(), 8),
                (ADDR_IPV6, "::1".to_string(), 128)
            ]
        );
    }
}
