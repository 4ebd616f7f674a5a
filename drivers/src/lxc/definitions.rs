//! Definitions: define, undefine, autostart, and transient containers created from XML.

use std::sync::Arc;

use super::state::DomainObj;
use super::xml::parse_lxc_xml;
use super::{store, Inner};
use crate::api::{
    codes, create_flags, define_flags, domains, event, DomainHandle, DomainRef, DriverError,
    DriverResult,
};

/// libvirt's flag check for an entry point of this driver.
pub fn check_flags(flags: u32, allowed: u32, function: &str) -> DriverResult<()> {
    if flags & !allowed != 0 {
        return Err(DriverError::unsupported_flags(
            domains::LXC,
            flags & !allowed,
            function,
        ));
    }
    Ok(())
}

pub fn invalid(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::OPERATION_INVALID, domains::LXC, detail)
}

impl Inner {
    pub(super) fn define(&self, xml: &str, flags: u32) -> DriverResult<DomainHandle> {
        check_flags(flags, define_flags::VALIDATE, "lxcDomainDefineXMLFlags")?;
        let (def, _) = parse_lxc_xml(xml)?;
        let (handle, ev) = {
            let mut st = self.lock();
            let existing = st.check_clash(&def)?;
            store::save_config(&self.paths, &def)?;
            match existing {
                Some(index) => {
                    let obj = &mut st.domains[index];
                    let detail = if obj.persistent {
                        event::DEFINED_UPDATED
                    } else {
                        event::DEFINED_ADDED
                    };
                    if obj.is_active() {
                        obj.new_def = Some(def);
                    } else {
                        obj.def = def;
                    }
                    obj.persistent = true;
                    (obj.handle(), obj.lifecycle_event(event::DEFINED, detail))
                }
                None => {
                    let obj = DomainObj::inactive(def, true);
                    let ev = obj.lifecycle_event(event::DEFINED, event::DEFINED_ADDED);
                    let handle = obj.handle();
                    st.domains.push(obj);
                    (handle, ev)
                }
            }
        };
        self.emit(vec![ev]);
        Ok(handle)
    }

    pub(super) fn undefine(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "lxcDomainUndefineFlags")?;
        let ev = {
            let mut st = self.lock();
            let obj = st.get(dom)?;
            if !obj.persistent {
                return Err(invalid("cannot undefine transient domain"));
            }
            let name = obj.def.name.clone();
            store::delete_config(&self.paths, &name)?;
            let index = st.find_by_uuid(&dom.uuid).unwrap_or_default();
            let obj = &mut st.domains[index];
            let ev = obj.lifecycle_event(event::UNDEFINED, event::UNDEFINED_REMOVED);
            obj.autostart = false;
            if obj.is_active() {
                obj.persistent = false;
                obj.new_def = None;
                self.save_status_of(obj);
            } else {
                st.domains.remove(index);
            }
            ev
        };
        self.emit(vec![ev]);
        Ok(())
    }

    pub(super) fn set_autostart(&self, dom: &DomainRef, enabled: bool) -> DriverResult<()> {
        let mut st = self.lock();
        let obj = st.get_mut(dom)?;
        if !obj.persistent {
            return Err(invalid("cannot set autostart for transient domain"));
        }
        store::set_autostart_link(&self.paths, &obj.def.name, enabled)?;
        obj.autostart = enabled;
        Ok(())
    }

    /// `virDomainCreateXML`: a transient container started from `xml`.
    pub(super) fn create_xml(
        self: &Arc<Self>,
        xml: &str,
        flags: u32,
    ) -> DriverResult<DomainHandle> {
        check_flags(
            flags,
            create_flags::START_PAUSED | create_flags::AUTODESTROY | create_flags::VALIDATE,
            "lxcDomainCreateXMLWithFiles",
        )?;
        let (def, _) = parse_lxc_xml(xml)?;
        let uuid = def.uuid;
        {
            let mut st = self.lock();
            match st.check_clash(&def)? {
                Some(index) => {
                    let obj = &mut st.domains[index];
                    if obj.is_active() {
                        return Err(invalid(format!(
                            "domain '{}' is already active",
                            obj.def.name
                        )));
                    }
                    let persistent = std::mem::replace(&mut obj.def, def);
                    obj.new_def = Some(persistent);
                }
                None => st.domains.push(DomainObj::inactive(def, false)),
            }
        }
        let result = self.start(&uuid, flags & create_flags::START_PAUSED);
        if result.is_err() {
            let mut st = self.lock();
            if let Some(index) = st.find_by_uuid(&uuid) {
                let obj = &mut st.domains[index];
                if !obj.is_active() {
                    if obj.persistent {
                        if let Some(persistent) = obj.new_def.take() {
                            obj.def = persistent;
                        }
                    } else {
                        st.domains.remove(index);
                    }
                }
            }
        }
        result
    }
}
