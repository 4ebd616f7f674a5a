//! `update-device` of a `<graphics type='vnc'>`: a new password (and its expiry)
//! for the running display through `set_password`/`expire_password`, and the
//! display replaced in the persistent definition, as libvirt 9.0 does.

use serde_json::json;

use super::qemu_refused;
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult};
use crate::domain_xml::{Element, FormatOptions};
use crate::qemu::Inner;

/// The attributes that carry the password and what happens to connected clients.
const PASSWORD_ATTRS: &[&str] = &["passwd", "passwdValidTo", "connected"];

impl Inner {
    pub(super) fn update_vnc(
        &self,
        dom: &DomainRef,
        new: &Element,
        live: bool,
        config: bool,
    ) -> DriverResult<()> {
        let new_config = if config {
            let mut def = self.lock().get(dom)?.persistent_def().clone();
            let index = def
                .devices
                .iter()
                .position(|d| d.name == "graphics" && d.attr("type") == Some("vnc"))
                .ok_or_else(|| {
                    DriverError::new(
                        codes::DEVICE_MISSING,
                        domains::QEMU,
                        "cannot find existing graphics type 'vnc' device to modify",
                    )
                })?;
            def.devices[index] = new.clone();
            Some(self.parse_def(&def.to_xml(FormatOptions::PERSISTENT))?)
        } else {
            None
        };
        if live {
            let (def, monitor, _) = self.live_parts(dom)?;
            let index = def
                .devices
                .iter()
                .position(|d| d.name == "graphics" && d.attr("type") == Some("vnc"))
                .ok_or_else(|| {
                    DriverError::new(
                        codes::DEVICE_MISSING,
                        domains::QEMU,
                        "cannot find existing graphics device to modify of type 'vnc'",
                    )
                })?;
            let current = &def.devices[index];
            check_unchanged(current, new)?;
            let conf = self.conf();
            let password = new
                .attr("passwd")
                .map(str::to_string)
                .or_else(|| conf.vnc_password.as_ref().map(|s| s.0.clone()));
            let changed = PASSWORD_ATTRS
                .iter()
                .any(|a| current.attr(a) != new.attr(a));
            if let (Some(password), true) = (password, changed) {
                super::device_xml::check_plain_text("VNC password", &password)?;
                monitor
                    .execute(
                        "set_password",
                        Some(json!({ "protocol": "vnc", "password": password })),
                    )
                    .map_err(|e| qemu_refused("set_password", e))?;
                let time = match new.attr("passwdValidTo") {
                    Some(valid_to) => {
                        crate::qemu::command::vnc_expiry_seconds(valid_to)?.to_string()
                    }
                    None => "never".to_string(),
                };
                monitor
                    .execute(
                        "expire_password",
                        Some(json!({ "protocol": "vnc", "time": time })),
                    )
                    .map_err(|e| qemu_refused("expire_password", e))?;
            }
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            if let Some(graphics) = obj.def.devices.get_mut(index) {
                for attr in PASSWORD_ATTRS {
                    match new.attr(attr) {
                        Some(value) => graphics.set_attr(attr, value),
                        None => graphics.attrs.retain(|(k, _)| k != attr),
                    }
                }
                graphics.order_attrs(&[
                    "type",
                    "port",
                    "autoport",
                    "websocket",
                    "listen",
                    "keymap",
                    "sharePolicy",
                    "passwd",
                    "passwdValidTo",
                    "connected",
                ]);
            }
            self.persist_status(obj);
        }
        if let Some(def) = new_config {
            self.store_persistent(dom, def)?;
        }
        Ok(())
    }
}

/// Only the password may change on a running display: port, keymap and listen
/// address settings the new XML names must be the ones in use.
fn check_unchanged(current: &Element, new: &Element) -> DriverResult<()> {
    let invalid = |text: &str| {
        Err(DriverError::new(
            codes::OPERATION_INVALID,
            domains::QEMU,
            text,
        ))
    };
    let fixed_port = |g: &Element| g.attr("autoport") != Some("yes");
    if fixed_port(new) && new.attr("port").is_some() && new.attr("port") != current.attr("port") {
        return invalid("cannot change port settings on vnc graphics");
    }
    if new.attr("keymap").is_some() && new.attr("keymap") != current.attr("keymap") {
        return invalid("cannot change keymap setting on vnc graphics");
    }
    if new.attr("listen").is_some() && new.attr("listen") != current.attr("listen") {
        return invalid("cannot change listen address setting on 'vnc' graphics");
    }
    Ok(())
}
