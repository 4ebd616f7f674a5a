//! Hot plug through QMP (`virsh attach-device`, `detach-device`, `update-device`,
//! `detach-device-alias`, `attach-disk`, `attach-interface`) for virtio, SCSI and
//! USB disks (file and block), CD-ROM media, NICs (user, bridge, network), SCSI
//! controllers, input devices, RNGs, the i6300esb watchdog, PCI/USB serial ports
//! (`frontends`) and VNC passwords (`vnc_password`), on the live guest, its
//! persistent definition, or both.
//!
//! A device leaves the live definition when QEMU reports `DEVICE_DELETED` (the
//! guest let go of it), which is also when `DEVICE_REMOVED` is sent to clients.

pub mod alias;
mod attach;
mod detach;
pub mod device_xml;
mod frontends;
mod update;
mod vnc_password;

use super::connection::QemuConnection;
use super::error::QemuError;
use super::Inner;
use crate::api::{device_modify, DomainDevices, DomainRef, DriverResult};

pub use detach::{release_backend, removed_by_qemu};

impl DomainDevices for QemuConnection {
    fn attach_device(&self, dom: &DomainRef, xml: &str, flags: Option<u32>) -> DriverResult<()> {
        // The flag-less call affects the running guest only, as in libvirt.
        self.inner
            .attach_device(dom, xml, flags.unwrap_or(device_modify::LIVE))
    }

    fn detach_device(&self, dom: &DomainRef, xml: &str, flags: Option<u32>) -> DriverResult<()> {
        self.inner
            .detach_device(dom, xml, flags.unwrap_or(device_modify::LIVE))
    }

    fn update_device(&self, dom: &DomainRef, xml: &str, flags: u32) -> DriverResult<()> {
        self.inner.update_device(dom, xml, flags)
    }

    fn detach_device_alias(&self, dom: &DomainRef, alias: &str, flags: u32) -> DriverResult<()> {
        self.inner.detach_device_alias(dom, alias, flags)
    }
}

impl Inner {
    /// Which definitions a change with `flags` touches (live, config), as libvirt
    /// decides it: "current" is the live guest when running, else the definition.
    fn modification_impact(&self, dom: &DomainRef, flags: u32) -> DriverResult<(bool, bool)> {
        let st = self.lock();
        let obj = st.get(dom)?;
        let (live, config) = match flags & (device_modify::LIVE | device_modify::CONFIG) {
            0 => (obj.is_active(), !obj.is_active()),
            f => (f & device_modify::LIVE != 0, f & device_modify::CONFIG != 0),
        };
        if live && !obj.is_active() {
            return Err(super::lifecycle::not_running());
        }
        if config && !obj.persistent {
            return Err(QemuError::InvalidState(
                "transient domains do not have any persistent config".into(),
            )
            .into());
        }
        Ok((live, config))
    }

    /// Saves a changed persistent definition and makes it the domain's.
    fn store_persistent(
        &self,
        dom: &DomainRef,
        def: crate::domain_xml::DomainDef,
    ) -> DriverResult<()> {
        let mut st = self.lock();
        let obj = st.get_mut(dom)?;
        super::store::save_config(&self.paths, &def)?;
        if obj.is_active() {
            obj.new_def = Some(def);
        } else {
            obj.def = def;
        }
        Ok(())
    }
}

/// libvirt's wording for a refused monitor command.
pub(super) fn qemu_refused(command: &str, e: super::qmp::QmpError) -> crate::api::DriverError {
    match e {
        super::qmp::QmpError::Command(text) => crate::api::DriverError::new(
            crate::api::codes::INTERNAL_ERROR,
            crate::api::domains::QEMU,
            format!("unable to execute QEMU command '{command}': {text}"),
        ),
        other => QemuError::from(other).into(),
    }
}
