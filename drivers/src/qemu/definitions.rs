//! Definitions: define, undefine, autostart, and transient guests created from XML.

use std::sync::Arc;

use super::defaults::{apply_qemu_defaults, parse_options};
use super::error::QemuError;
use super::fsutil::{atomic_write, remove_if_exists};
use super::lifecycle::{check_flags, StartSource};
use super::state::{defined_detail, DomainObj};
use super::{store, Inner};
use crate::api::{create_flags, event, undefine_flags, DomainHandle, DomainRef, DriverResult};
use crate::domain_xml::{parse_domain_xml, DomainDef};

impl Inner {
    /// Parses and validates a definition with the qemu defaults.
    pub(super) fn parse_def(&self, xml: &str) -> DriverResult<DomainDef> {
        let mut def = parse_domain_xml(xml, &parse_options())?;
        apply_qemu_defaults(&mut def, self.host())?;
        Ok(def)
    }

    pub(super) fn define(&self, xml: &str, flags: u32) -> DriverResult<DomainHandle> {
        check_flags(flags, 1, "qemuDomainDefineXMLFlags")?;
        let def = self.parse_def(xml)?;
        let (handle, events) = {
            let mut st = self.lock();
            let existing = st.check_clash(&def)?;
            store::save_config(&self.paths, &def)?;
            match existing {
                Some(index) => {
                    let obj = &mut st.domains[index];
                    let updated = obj.persistent;
                    if obj.is_active() {
                        obj.new_def = Some(def);
                    } else {
                        obj.def = def;
                    }
                    obj.persistent = true;
                    let ev = obj.lifecycle_event(event::DEFINED, defined_detail(updated));
                    (obj.handle(), vec![ev])
                }
                None => {
                    let obj = DomainObj::inactive(def, true);
                    let ev = obj.lifecycle_event(event::DEFINED, event::DEFINED_ADDED);
                    let handle = obj.handle();
                    st.domains.push(obj);
                    (handle, vec![ev])
                }
            }
        };
        self.emit(events);
        Ok(handle)
    }

    pub(super) fn undefine(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(
            flags,
            undefine_flags::MANAGED_SAVE
                | undefine_flags::SNAPSHOTS_METADATA
                | undefine_flags::NVRAM
                | undefine_flags::KEEP_NVRAM
                | undefine_flags::CHECKPOINTS_METADATA,
            "qemuDomainUndefineFlags",
        )?;
        let events = {
            let mut st = self.lock();
            let index = st.resolve(dom)?;
            let name = st.domains[index].def.name.clone();
            if !st.domains[index].persistent {
                return Err(
                    QemuError::InvalidState("cannot undefine transient domain".into()).into(),
                );
            }
            let save = self.paths.managed_save_file(&name);
            if save.exists() {
                if flags & undefine_flags::MANAGED_SAVE == 0 {
                    return Err(QemuError::InvalidState(
                        "Refusing to undefine while domain managed save image exists".into(),
                    )
                    .into());
                }
                remove_if_exists(&save)?;
            }
            store::delete_config(&self.paths, &name)?;
            let obj = &mut st.domains[index];
            let ev = obj.lifecycle_event(event::UNDEFINED, event::UNDEFINED_REMOVED);
            obj.autostart = false;
            if obj.is_active() {
                obj.persistent = false;
                obj.new_def = None;
            } else {
                st.domains.remove(index);
            }
            vec![ev]
        };
        self.emit(events);
        Ok(())
    }

    pub(super) fn set_autostart(&self, dom: &DomainRef, enabled: bool) -> DriverResult<()> {
        let mut st = self.lock();
        let obj = st.get_mut(dom)?;
        if !obj.persistent {
            return Err(QemuError::InvalidState(
                "cannot set autostart for transient domain".into(),
            )
            .into());
        }
        store::set_autostart_link(&self.paths, &obj.def.name, enabled)?;
        obj.autostart = enabled;
        Ok(())
    }

    /// Next domain id; the highest id handed out is kept in the run dir so ids keep
    /// counting up after a daemon restart.
    pub(super) fn allocate_id(&self) -> i32 {
        let mut st = self.lock();
        st.last_id += 1;
        let id = st.last_id;
        drop(st);
        let _ = atomic_write(&self.paths.id_counter_file(), id.to_string().as_bytes());
        id
    }

    /// `virDomainCreateXML`: a transient guest started from `xml`.
    pub(super) fn create_xml(
        self: &Arc<Self>,
        xml: &str,
        flags: u32,
    ) -> DriverResult<DomainHandle> {
        check_flags(
            flags,
            create_flags::START_PAUSED | create_flags::VALIDATE,
            "qemuDomainCreateXML",
        )?;
        let def = self.parse_def(xml)?;
        let uuid = def.uuid;
        {
            let mut st = self.lock();
            match st.check_clash(&def)? {
                Some(index) => {
                    let obj = &mut st.domains[index];
                    if obj.is_active() {
                        return Err(QemuError::InvalidState(format!(
                            "domain '{}' is already active",
                            obj.def.name
                        ))
                        .into());
                    }
                    let persistent = std::mem::replace(&mut obj.def, def);
                    obj.new_def = Some(persistent);
                }
                None => st.domains.push(DomainObj::inactive(def, false)),
            }
        }
        let result = self.start(&uuid, flags, StartSource::Boot);
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
