//! Plugging a disk or NIC into a running guest (`drive_add`/`netdev_add`, then
//! `device_add`, undone if QEMU refuses) and into the persistent definition.

use serde_json::json;

use super::alias::{alias_of, disk_alias, is_user_alias, next_net_alias, set_alias};
use super::device_xml::{
    assign_pci_slot, check_plain_text, disk_source, disk_target, find_same, insert_device,
    parse_device, pci_slot,
};
use super::qemu_refused;
use crate::api::{codes, device_modify, domains, DomainRef, DriverError, DriverResult};
use crate::domain_xml::{is_net_model_name, DomainDef, Element, FormatOptions};
use crate::qemu::command::opt_value;
use crate::qemu::error::QemuError;
use crate::qemu::qmp::Monitor;
use crate::qemu::Inner;

impl Inner {
    pub(in crate::qemu) fn attach_device(
        &self,
        dom: &DomainRef,
        xml: &str,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(
            flags,
            device_modify::LIVE | device_modify::CONFIG,
            "qemuDomainAttachDeviceFlags",
        )?;
        let job = self
            .job_of(&dom.uuid)
            .ok_or_else(|| DriverError::no_domain_uuid(domains::QEMU, &dom.uuid, &dom.name))?;
        let _job = crate::qemu::jobs::lock_job_bounded(&job)?;
        let (live, config) = self.modification_impact(dom, flags)?;
        let device = parse_device(xml)?;
        // The persistent copy is prepared (and checked) before the guest is touched,
        // so a refused change leaves both definitions as they were.
        let new_config = if config {
            let mut def = self.lock().get(dom)?.persistent_def().clone();
            attach_config(&mut def, device.clone())?;
            // Parsed again as a definition is: addresses, indexes and the
            // controllers the new device needs are filled in as at define time.
            Some(self.parse_def(&def.to_xml(FormatOptions::PERSISTENT))?)
        } else {
            None
        };
        if live {
            self.attach_live(dom, device)?;
        }
        if let Some(def) = new_config {
            self.store_persistent(dom, def)?;
        }
        Ok(())
    }

    fn attach_live(&self, dom: &DomainRef, mut device: Element) -> DriverResult<()> {
        let (def, monitor, _) = self.live_parts(dom)?;
        let mut controller = None;
        match device.name.as_str() {
            "disk" => controller = plug_disk(&def, &monitor, &mut device)?,
            "interface" => plug_nic(&def, &monitor, &mut device, self.network.get())?,
            _ => super::frontends::plug(&def, &monitor, &mut device)?,
        }
        let mut st = self.lock();
        let obj = st.get_mut(dom)?;
        if let Some(controller) = controller {
            insert_device(&mut obj.def.devices, controller);
        }
        insert_device(&mut obj.def.devices, device);
        self.persist_status(obj);
        Ok(())
    }
}

/// Adds the device to a persistent definition, refusing a target, MAC, controller
/// index or serial port in use, or a second watchdog.
fn attach_config(def: &mut DomainDef, device: Element) -> DriverResult<()> {
    let invalid = |text: &str| {
        Err(DriverError::new(
            codes::OPERATION_INVALID,
            domains::QEMU,
            text,
        ))
    };
    match device.name.as_str() {
        "graphics" => {
            return Err(DriverError::new(
                codes::OPERATION_UNSUPPORTED,
                domains::QEMU,
                "persistent attach of device 'graphics' is not supported",
            ))
        }
        "controller"
            if device.attr("index").is_some()
                && def.devices.iter().any(|d| {
                    d.name == "controller"
                        && d.attr("type") == device.attr("type")
                        && d.attr("index") == device.attr("index")
                }) =>
        {
            return invalid("Target already exists");
        }
        "watchdog" if def.devices.iter().any(|d| d.name == "watchdog") => {
            return invalid("domain already has a watchdog");
        }
        "serial" | "console" => {
            let port = |d: &Element| {
                d.child("target")
                    .and_then(|t| t.attr("port"))
                    .map(str::to_string)
            };
            if port(&device).is_some()
                && def
                    .devices
                    .iter()
                    .any(|d| d.name == device.name && port(d) == port(&device))
            {
                return invalid("chardev already exists");
            }
        }
        _ => {}
    }
    if device.name == "disk" && find_same(&def.devices, &device).is_some() {
        return Err(QemuError::InvalidState(format!(
            "target {} already exists",
            disk_target(&device)
        ))
        .into());
    }
    if device.name == "interface" && find_same(&def.devices, &device).is_some() {
        return Err(DriverError::new(
            codes::OPERATION_INVALID,
            domains::QEMU,
            format!("mac {} already exists", super::device_xml::nic_mac(&device)),
        ));
    }
    insert_device(&mut def.devices, device);
    Ok(())
}

/// Plugs a disk; returns the SCSI controller plugged for it when it needed one.
fn plug_disk(
    def: &DomainDef,
    monitor: &Monitor,
    disk: &mut Element,
) -> DriverResult<Option<Element>> {
    let target = disk_target(disk).to_string();
    if let Some(other) = def
        .devices
        .iter()
        .find(|d| d.name == "disk" && disk_target(d) == target)
    {
        return Err(DriverError::xml_error(format!(
            "target '{target}' duplicated for disk sources '{}' and '{}'",
            disk_source(other).unwrap_or(""),
            disk_source(disk).unwrap_or("")
        )));
    }
    if disk.attr("device") != Some("disk") {
        return Err(DriverError::new(
            codes::OPERATION_UNSUPPORTED,
            domains::QEMU,
            "cdrom/floppy device hotplug isn't supported",
        ));
    }
    let encrypted = disk.child("encryption").is_some()
        || disk
            .child("source")
            .is_some_and(|s| s.child("encryption").is_some());
    if encrypted {
        return Err(DriverError::new(
            codes::OPERATION_UNSUPPORTED,
            domains::QEMU,
            "hot plug of encrypted disks is not supported by this qemu driver; \
             define the disk and start the guest",
        ));
    }
    let bus = disk
        .child("target")
        .and_then(|t| t.attr("bus"))
        .unwrap_or("")
        .to_string();
    if !matches!(bus.as_str(), "virtio" | "scsi" | "usb") {
        return Err(DriverError::new(
            codes::OPERATION_UNSUPPORTED,
            domains::QEMU,
            format!("disk bus '{bus}' cannot be hotplugged."),
        ));
    }
    let kind = disk.attr("type").unwrap_or("file");
    if !matches!(kind, "file" | "block") {
        return Err(DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            domains::QEMU,
            format!("disk type '{kind}' is not supported by this qemu driver"),
        ));
    }
    let Some(path) = disk_source(disk).map(str::to_string) else {
        return Err(DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            domains::QEMU,
            format!("disk '{target}' has no source to plug"),
        ));
    };
    check_plain_text("disk source", &path)?;
    if let Err(e) = std::fs::metadata(&path) {
        return Err(DriverError::new(
            codes::SYSTEM_ERROR,
            domains::QEMU,
            format!("Cannot access storage file '{path}': {}", io_text(&e)),
        ));
    }
    let format = disk
        .child("driver")
        .and_then(|d| d.attr("type"))
        .unwrap_or("raw")
        .to_string();
    if format.is_empty() || !format.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            domains::QEMU,
            format!("unknown driver format value '{format}'"),
        ));
    }
    let alias = match alias_of(disk) {
        Some(a) if is_user_alias(a) => a.to_string(),
        _ => unique_alias(def, disk_alias(disk)),
    };
    if def
        .devices
        .iter()
        .any(|d| alias_of(d) == Some(alias.as_str()))
    {
        return Err(DriverError::xml_error(format!(
            "non unique alias detected: {alias}"
        )));
    }
    let mut controller = None;
    let mut args = if bus == "scsi" {
        let (args, added) = scsi_frontend(def, monitor, disk, &alias)?;
        controller = added;
        args
    } else if bus == "usb" {
        super::frontends::usb_device(def, disk, "usb-storage", &alias)
    } else {
        assign_pci_slot(def, disk)?;
        let mut args = json!({"driver": "virtio-blk-pci", "id": alias, "bus": "pci.0"});
        if let Some(slot) = pci_slot(disk) {
            args["addr"] = json!(format!("0x{slot:x}"));
        }
        args
    };
    set_alias(disk, &alias);
    let drive = format!("drive-{alias}");
    let mut opts = format!(
        "file={},format={format},if=none,id={drive}",
        opt_value(&path)
    );
    if disk.child("readonly").is_some() {
        opts.push_str(",readonly=on");
    }
    let undo_controller = |controller: &Option<Element>| {
        if let Some(alias) = controller.as_ref().and_then(alias_of) {
            let _ = monitor.execute("device_del", Some(json!({ "id": alias })));
        }
    };
    let out = monitor
        .execute_hmp(&format!("drive_add dummy {}", hmp_quoted(&opts)))
        .map_err(|e| qemu_refused("drive_add", e))
        .inspect_err(|_| undo_controller(&controller))?;
    if !out.trim().is_empty() && !out.contains("OK") {
        undo_controller(&controller);
        return Err(DriverError::new(
            codes::INTERNAL_ERROR,
            domains::QEMU,
            format!("unable to execute QEMU command 'drive_add': {}", out.trim()),
        ));
    }
    args["drive"] = json!(drive);
    if let Err(e) = monitor.execute("device_add", Some(args)) {
        let _ = monitor.execute_hmp(&format!("drive_del {drive}"));
        undo_controller(&controller);
        return Err(qemu_refused("device_add", e));
    }
    Ok(controller)
}

/// `device_add` arguments of a SCSI disk, at its drive address; a missing
/// controller is plugged first (a virtio-scsi one), as libvirt does, and returned.
fn scsi_frontend(
    def: &DomainDef,
    monitor: &Monitor,
    disk: &Element,
    alias: &str,
) -> DriverResult<(serde_json::Value, Option<Element>)> {
    let address = disk
        .child("address")
        .filter(|a| a.attr("type") == Some("drive"));
    let num = |name: &str| -> u32 {
        address
            .and_then(|a| a.attr(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let index = num("controller");
    let mut added = None;
    if super::frontends::scsi_controller(def, index).is_none() {
        let mut controller = Element::new("controller")
            .with_attr("type", "scsi")
            .with_attr("index", &index.to_string())
            .with_attr("model", "virtio-scsi");
        super::frontends::plug(def, monitor, &mut controller)?;
        added = Some(controller);
    }
    let args = json!({
        "driver": "scsi-hd",
        "bus": format!("scsi{index}.0"),
        "channel": num("bus"),
        "scsi-id": num("target"),
        "lun": num("unit"),
        "id": alias,
    });
    Ok((args, added))
}

/// A human monitor string argument: quoted, so that spaces in a path stay in it.
fn hmp_quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `base`, or `base` with the next free number when a device already has it.
fn unique_alias(def: &DomainDef, base: String) -> String {
    let taken = |a: &str| def.devices.iter().any(|d| alias_of(d) == Some(a));
    if !taken(&base) {
        return base;
    }
    let stem = base
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .to_string();
    (0..)
        .map(|n| format!("{stem}{n}"))
        .find(|a| !taken(a))
        .unwrap_or(base)
}

fn plug_nic(
    def: &DomainDef,
    monitor: &Monitor,
    nic: &mut Element,
    network: Option<&std::sync::Arc<dyn crate::api::NetworkDriver>>,
) -> DriverResult<()> {
    let kind = nic.attr("type").unwrap_or("").to_string();
    if !matches!(kind.as_str(), "user" | "bridge" | "network") {
        return Err(DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            domains::QEMU,
            format!("interface type '{kind}' cannot be hotplugged by this qemu driver; use 'user', 'bridge' or 'network'"),
        ));
    }
    let model = nic
        .child("model")
        .and_then(|m| m.attr("type"))
        .unwrap_or("rtl8139")
        .to_string();
    let driver = match model.as_str() {
        "virtio" => "virtio-net-pci".to_string(),
        m if is_net_model_name(m) => m.to_string(),
        _ => {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                "Model name contains invalid characters",
            ))
        }
    };
    let mac = super::device_xml::nic_mac(nic).to_string();
    if find_same(&def.devices, nic).is_some() {
        return Err(DriverError::new(
            codes::OPERATION_INVALID,
            domains::QEMU,
            format!("mac {mac} already exists"),
        ));
    }
    let alias = match alias_of(nic) {
        Some(a) if is_user_alias(a) => a.to_string(),
        _ => next_net_alias(def),
    };
    assign_pci_slot(def, nic)?;
    set_alias(nic, &alias);
    let netdev_id = format!("host{alias}");
    if kind == "network" {
        crate::qemu::network_ports::plug_nic(network, def, nic)?;
    }
    let netdev = if kind != "user" {
        let tap = make_tap(nic).inspect_err(|_| unplug_port(network, nic))?;
        json!({"type": "tap", "id": netdev_id, "ifname": tap, "script": "no", "downscript": "no"})
    } else {
        json!({"type": "user", "id": netdev_id})
    };
    if let Err(e) = monitor.execute("netdev_add", Some(netdev)) {
        drop_tap(nic);
        unplug_port(network, nic);
        return Err(qemu_refused("netdev_add", e));
    }
    let mut args = json!({
        "driver": driver,
        "netdev": netdev_id,
        "id": alias,
        "mac": mac,
        "bus": "pci.0",
    });
    if let Some(slot) = pci_slot(nic) {
        args["addr"] = json!(format!("0x{slot:x}"));
    }
    if let Err(e) = monitor.execute("device_add", Some(args)) {
        let _ = monitor.execute("netdev_del", Some(json!({ "id": netdev_id })));
        drop_tap(nic);
        unplug_port(network, nic);
        return Err(qemu_refused("device_add", e));
    }
    Ok(())
}

/// A tap on the NIC's bridge, recorded as its `<target dev>`; returns its name.
fn make_tap(nic: &mut Element) -> DriverResult<String> {
    let mut holder = one_device_def(nic.clone());
    crate::qemu::tap::create_bridge_taps(&mut holder)?;
    *nic = holder.devices.remove(0);
    Ok(nic
        .child("target")
        .and_then(|t| t.attr("dev"))
        .unwrap_or_default()
        .to_string())
}

fn unplug_port(network: Option<&std::sync::Arc<dyn crate::api::NetworkDriver>>, nic: &Element) {
    crate::qemu::network_ports::unplug_nic(network, nic);
}

pub(super) fn drop_tap(nic: &Element) {
    crate::qemu::tap::remove_bridge_taps(&one_device_def(nic.clone()));
}

/// A definition holding only `device`, for the helpers that work on definitions.
fn one_device_def(device: Element) -> DomainDef {
    let mut def = crate::domain_xml::parse_domain_xml(
        "<domain type='qemu'><name>nic</name><memory>1024</memory><os><type>hvm</type></os></domain>",
        &crate::qemu::defaults::parse_options(),
    )
    .expect("a fixed minimal domain parses");
    def.devices = vec![device];
    def
}

fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn monitor_strings_are_quoted() {
        assert_eq!(
            super::hmp_quoted("file=/a b,format=raw"),
            "\"file=/a b,format=raw\""
        );
        assert_eq!(super::hmp_quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
