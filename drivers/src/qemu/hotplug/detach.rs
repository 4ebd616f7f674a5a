//! Unplugging: `device_del`, then the device leaves the live definition when QEMU
//! reports `DEVICE_DELETED` (the guest released it); the caller waits a few
//! seconds for that, as libvirt does, and succeeds either way.

use std::time::{Duration, Instant};

use serde_json::json;

use super::alias::alias_of;
use super::device_xml::{disk_target, find_same, nic_mac, parse_device};
use super::qemu_refused;
use crate::api::{codes, device_modify, domains, DomainRef, DriverError, DriverResult};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::Inner;

/// How long a detach waits for the guest to let go (libvirt: 5 seconds).
const REMOVAL_WAIT: Duration = Duration::from_secs(5);

impl Inner {
    pub(in crate::qemu) fn detach_device(
        &self,
        dom: &DomainRef,
        xml: &str,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(
            flags,
            device_modify::LIVE | device_modify::CONFIG,
            "qemuDomainDetachDeviceFlags",
        )?;
        let mut device = parse_device(xml)?;
        if device.name == "graphics" {
            let which = if flags & device_modify::CONFIG != 0 {
                "persistent"
            } else {
                "live"
            };
            return Err(DriverError::new(
                codes::OPERATION_UNSUPPORTED,
                domains::QEMU,
                format!("{which} detach of device 'graphics' is not supported"),
            ));
        }
        if device.name == "controller" && device.attr("index").is_none() {
            device.set_attr("index", "0");
        }
        self.detach_matching(dom, flags, |def, live| {
            find_same(&def.devices, &device).ok_or_else(|| missing(&device, live))
        })
    }

    pub(in crate::qemu) fn detach_device_alias(
        &self,
        dom: &DomainRef,
        alias: &str,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(
            flags,
            device_modify::LIVE | device_modify::CONFIG,
            "qemuDomainDetachDeviceAlias",
        )?;
        self.detach_matching(dom, flags, |def, _| {
            def.devices
                .iter()
                .position(|d| alias_of(d) == Some(alias))
                .ok_or_else(|| {
                    DriverError::new(
                        codes::INTERNAL_ERROR,
                        domains::QEMU,
                        format!("no device found with alias {alias}"),
                    )
                })
        })
    }

    /// Detaches the device `find` picks, from the persistent definition and/or
    /// the running guest.
    fn detach_matching(
        &self,
        dom: &DomainRef,
        flags: u32,
        find: impl Fn(&DomainDef, bool) -> DriverResult<usize>,
    ) -> DriverResult<()> {
        let job = self
            .job_of(&dom.uuid)
            .ok_or_else(|| DriverError::no_domain_uuid(domains::QEMU, &dom.uuid, &dom.name))?;
        let _job = crate::qemu::jobs::lock_job_bounded(&job)?;
        let (live, config) = self.modification_impact(dom, flags)?;
        let new_config = if config {
            let mut def = self.lock().get(dom)?.persistent_def().clone();
            let index = find(&def, false)?;
            def.devices.remove(index);
            Some(def)
        } else {
            None
        };
        if live {
            let (def, monitor, _) = self.live_parts(dom)?;
            let index = find(&def, true)?;
            let device = &def.devices[index];
            check_unpluggable(&def, device)?;
            let alias = alias_of(device).unwrap_or_default().to_string();
            monitor
                .execute("device_del", Some(json!({ "id": alias })))
                .map_err(|e| qemu_refused("device_del", e))?;
            self.wait_removed(dom, &alias);
        }
        if let Some(def) = new_config {
            self.store_persistent(dom, def)?;
        }
        Ok(())
    }

    /// Waits (bounded) until the device with `alias` left the live definition.
    fn wait_removed(&self, dom: &DomainRef, alias: &str) {
        let deadline = Instant::now() + REMOVAL_WAIT;
        while Instant::now() < deadline {
            let present = match self.lock().get(dom) {
                Ok(obj) => {
                    obj.is_active() && obj.def.devices.iter().any(|d| alias_of(d) == Some(alias))
                }
                Err(_) => false,
            };
            if !present {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The "not found" error libvirt gives for a device missing from the live
/// (`live`) or persistent definition.
fn missing(device: &Element, live: bool) -> DriverError {
    let detail = match device.name.as_str() {
        "disk" if live => format!("disk {} not found", disk_target(device)),
        "disk" => format!("no target device {}", disk_target(device)),
        "interface" => format!(
            "no device found at address '(<null>)' matching MAC address '{}' and alias '(<null>)'",
            nic_mac(device)
        ),
        _ => return super::frontends::missing(device, live),
    };
    DriverError::new(codes::DEVICE_MISSING, domains::QEMU, detail)
}

/// Only devices this driver plugs can leave a running guest; disks as libvirt 9.0
/// decides it: disks and LUNs on virtio, SCSI or USB, CD-ROMs on SCSI or USB.
fn check_unpluggable(def: &DomainDef, device: &Element) -> DriverResult<()> {
    let unsupported =
        |text: String| DriverError::new(codes::OPERATION_UNSUPPORTED, domains::QEMU, text);
    match device.name.as_str() {
        "disk" => {
            let bus = device
                .child("target")
                .and_then(|t| t.attr("bus"))
                .unwrap_or("");
            let kind = device.attr("device").unwrap_or("disk");
            match kind {
                "disk" | "lun" if !matches!(bus, "virtio" | "scsi" | "usb") => {
                    return Err(unsupported(
                        "This type of disk cannot be hot unplugged".into(),
                    ))
                }
                "disk" | "lun" => {}
                _ if matches!(bus, "scsi" | "usb") => {}
                other => {
                    return Err(unsupported(format!(
                        "disk device type '{other}' cannot be detached"
                    )))
                }
            }
        }
        "interface" => {}
        _ => return super::frontends::check_unplug(def, device),
    }
    if alias_of(device).is_none() {
        return Err(DriverError::new(
            codes::OPERATION_FAILED,
            domains::QEMU,
            format!("Cannot detach {} device with no alias", device.name),
        ));
    }
    Ok(())
}

/// QEMU reported `DEVICE_DELETED` for `alias`: takes the device out of the live
/// definition and returns it (for the clean-up of its backend), if it was there.
pub fn removed_by_qemu(def: &mut DomainDef, alias: &str) -> Option<Element> {
    let index = def
        .devices
        .iter()
        .position(|d| alias_of(d) == Some(alias))?;
    Some(def.devices.remove(index))
}

/// What is left once a NIC is gone: its netdev, for a bridge or network NIC its tap,
/// and for a network NIC its port.
pub fn release_backend(
    monitor: &crate::qemu::qmp::Monitor,
    device: &Element,
    network: Option<&std::sync::Arc<dyn crate::api::NetworkDriver>>,
) {
    if device.name != "interface" {
        super::frontends::release(monitor, device);
        return;
    }
    if let Some(alias) = alias_of(device) {
        let _ = monitor.execute("netdev_del", Some(json!({ "id": format!("host{alias}") })));
    }
    super::attach::drop_tap(device);
    crate::qemu::network_ports::unplug_nic(network, device);
}
