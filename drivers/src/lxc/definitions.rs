//! Definitions: define, undefine, autostart, and transient containers created from XML.

use std::sync::Arc;

use super::xml::parse_lxc_xml;
use super::{store, Inner};
use crate::api::{
    codes, create_flags, define_flags, domains, DomainHandle, DomainRef, DriverError, DriverResult,
};

/// libvirt's flag check for an entry point of this driver.
pub fn check_flags(flags: u32, allowed: u32, function: &str) -> DriverResult<()> {
    crate::domain_list::check_flags(domains::LXC, flags, allowed, function)
}

pub fn invalid(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::OPERATION_INVALID, domains::LXC, detail)
}

impl Inner {
    pub(super) fn define(&self, xml: &str, flags: u32) -> DriverResult<DomainHandle> {
        check_flags(flags, define_flags::VALIDATE, "lxcDomainDefineXMLFlags")?;
        let (def, _) = parse_lxc_xml(xml)?;
        let (handle, ev) = self
            .lock()
            .define(def, |def| Ok(store::save_config(&self.paths, def)?))?;
        self.emit(vec![ev]);
        Ok(handle)
    }

    pub(super) fn undefine(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "lxcDomainUndefineFlags")?;
        let ev = {
            let mut st = self.lock();
            let index = st.resolve(dom)?;
            let obj = &st.domains[index];
            if !obj.persistent {
                return Err(invalid("cannot undefine transient domain"));
            }
            store::delete_config(&self.paths, &obj.def.name)?;
            let (ev, still_listed) = st.undefine(index, false);
            if still_listed {
                self.save_status_of(&st.domains[index]);
            }
            ev
        };
        self.emit(vec![ev]);
        Ok(())
    }

    pub(super) fn set_autostart(&self, dom: &DomainRef, enabled: bool) -> DriverResult<()> {
        self.lock()
            .set_autostart(dom, enabled, &self.paths.definitions())
    }

    /// `virDomainCreateXML`: a transient container started from `xml`.
    pub(super) fn create_xml(
        self: &Arc<Self>,
        xml: &str,
        flags: u32,
    ) -> DriverResult<DomainHandle> {
        self.create_xml_with_files(xml, Vec::new(), flags)
    }

    /// [`Inner::create_xml`] with descriptors handed to the container's init.
    pub(super) fn create_xml_with_files(
        self: &Arc<Self>,
        xml: &str,
        fds: Vec<std::os::fd::OwnedFd>,
        flags: u32,
    ) -> DriverResult<DomainHandle> {
        check_flags(
            flags,
            create_flags::START_PAUSED | create_flags::AUTODESTROY | create_flags::VALIDATE,
            "lxcDomainCreateXMLWithFiles",
        )?;
        let (def, _) = parse_lxc_xml(xml)?;
        let uuid = def.uuid;
        self.lock().prepare_transient_start(def)?;
        let result = self.start_with_files(&uuid, flags & create_flags::START_PAUSED, fds);
        if result.is_err() {
            self.lock().undo_transient_start(&uuid);
        }
        result
    }
}
