//! Definitions: define, undefine, autostart, and transient guests created from XML.

use std::sync::Arc;

use super::defaults::{apply_qemu_defaults, parse_options};
use super::error::QemuError;
use super::fsutil::atomic_write;
use super::lifecycle::{check_flags, StartSource};
use super::{store, Inner};
use crate::api::{create_flags, undefine_flags, DomainHandle, DomainRef, DriverResult};
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
        let (handle, ev) = self
            .lock()
            .define(def, |def| Ok(store::save_config(&self.paths, def)?))?;
        self.emit(vec![ev]);
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
        let ev = {
            let mut st = self.lock();
            let index = st.resolve(dom)?;
            let name = st.domains[index].def.name.clone();
            if !st.domains[index].persistent {
                return Err(
                    QemuError::InvalidState("cannot undefine transient domain".into()).into(),
                );
            }
            let snapshots = super::snapshot::meta::dir(&self.paths.lib_dir, &name);
            let count = super::snapshot::meta::load_all(&snapshots)?.len();
            // As libvirt: only an inactive domain loses its snapshots with its definition.
            if count > 0 && !st.domains[index].is_active() {
                if flags & undefine_flags::SNAPSHOTS_METADATA == 0 {
                    return Err(QemuError::InvalidState(format!(
                        "cannot delete inactive domain with {count} snapshots"
                    ))
                    .into());
                }
                std::fs::remove_dir_all(&snapshots)
                    .map_err(|e| QemuError::io("remove snapshot metadata", &snapshots, e))?;
            }
            if !st.domains[index].is_active() {
                super::checkpoint::discard_on_undefine(&self.paths.lib_dir, &name, flags)?;
            }
            let saves = self.paths.managed_saves();
            if saves.has(&name) {
                if flags & undefine_flags::MANAGED_SAVE == 0 {
                    return Err(QemuError::InvalidState(
                        "Refusing to undefine while domain managed save image exists".into(),
                    )
                    .into());
                }
                saves.remove(&name).map_err(QemuError::from)?;
            }
            store::delete_config(&self.paths, &name)?;
            st.undefine(index, false).0
        };
        self.emit(vec![ev]);
        Ok(())
    }

    pub(super) fn set_autostart(&self, dom: &DomainRef, enabled: bool) -> DriverResult<()> {
        self.lock()
            .set_autostart(dom, enabled, &self.paths.definitions())
    }

    /// Next domain id; the highest id handed out is kept in the run dir so ids keep
    /// counting up after a daemon restart.
    pub(super) fn allocate_id(&self) -> i32 {
        let id = self.lock().allocate_id();
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
        self.lock().prepare_transient_start(def)?;
        let result = self.start(&uuid, flags, StartSource::Boot);
        if result.is_err() {
            self.lock().undo_transient_start(&uuid);
        }
        result
    }
}
