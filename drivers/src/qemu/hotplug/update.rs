//! `virDomainUpdateDeviceFlags` for CD-ROMs: changing or ejecting the medium
//! (`blockdev-change-medium`, `eject`) of a running guest and/or in its definition;
//! for VNC displays (in `vnc_password.rs`): their password.

use serde_json::json;

use super::alias::alias_of;
use super::device_xml::{check_plain_text, disk_source, disk_target, find_same, parse_device};
use super::qemu_refused;
use crate::api::{codes, device_modify, domains, DomainRef, DriverError, DriverResult};
use crate::domain_xml::Element;
use crate::qemu::Inner;

impl Inner {
    pub(in crate::qemu) fn update_device(
        &self,
        dom: &DomainRef,
        xml: &str,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(
            flags,
            device_modify::LIVE | device_modify::CONFIG | device_modify::FORCE,
            "qemuDomainUpdateDeviceFlags",
        )?;
        let job = self
            .job_of(&dom.uuid)
            .ok_or_else(|| DriverError::no_domain_uuid(domains::QEMU, &dom.uuid, &dom.name))?;
        let _job = crate::qemu::jobs::lock_job_bounded(&job)?;
        let (live, config) = self.modification_impact(dom, flags)?;
        let device = parse_device(xml)?;
        if device.name == "graphics" && device.attr("type") == Some("vnc") {
            return self.update_vnc(dom, &device, live, config);
        }
        if device.name != "disk" || !matches!(device.attr("device"), Some("cdrom") | Some("floppy"))
        {
            return Err(DriverError::new(
                codes::OPERATION_UNSUPPORTED,
                domains::QEMU,
                format!("live update of device '{}' is not supported", device.name),
            ));
        }
        if let Some(path) = disk_source(&device) {
            check_plain_text("disk source", path)?;
        }
        let new_config = if config {
            let mut def = self.lock().get(dom)?.persistent_def().clone();
            let index = find_same(&def.devices, &device).ok_or_else(|| no_target(&device))?;
            def.devices[index] = with_new_media(&def.devices[index], &device);
            Some(def)
        } else {
            None
        };
        if live {
            let (def, monitor, _) = self.live_parts(dom)?;
            let index = find_same(&def.devices, &device).ok_or_else(|| no_target(&device))?;
            let current = &def.devices[index];
            let id = alias_of(current)
                .map(|a| format!("drive-{a}"))
                .unwrap_or_default();
            let result = match disk_source(&device) {
                Some(path) => {
                    let format = device
                        .child("driver")
                        .and_then(|d| d.attr("type"))
                        .unwrap_or("raw");
                    monitor
                        .execute(
                            "blockdev-change-medium",
                            Some(json!({"device": id, "filename": path, "format": format})),
                        )
                        .map_err(|e| qemu_refused("blockdev-change-medium", e))
                }
                None => monitor
                    .execute("eject", Some(json!({"device": id, "force": true})))
                    .map_err(|e| qemu_refused("eject", e)),
            };
            result?;
            let updated = with_new_media(current, &device);
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            if let Some(slot) = find_same(&obj.def.devices, &device) {
                obj.def.devices[slot] = updated;
            }
            self.persist_status(obj);
        }
        if let Some(def) = new_config {
            self.store_persistent(dom, def)?;
        }
        Ok(())
    }
}

/// The current device with the new one's `<source>` (none: ejected) and driver.
fn with_new_media(current: &Element, new: &Element) -> Element {
    let mut out = current.clone();
    out.children
        .retain(|c| c.name != "source" && c.name != "driver");
    let mut at = 0;
    if let Some(driver) = new.child("driver") {
        out.children.insert(at, driver.clone());
        at += 1;
    }
    if let Some(source) = new.child("source") {
        out.children.insert(at, source.clone());
    }
    if let Some(kind) = new.attr("type") {
        out.set_attr("type", kind);
    }
    out
}

fn no_target(device: &Element) -> DriverError {
    DriverError::new(
        codes::DEVICE_MISSING,
        domains::QEMU,
        format!("disk '{}' not found in domain", disk_target(device)),
    )
}
