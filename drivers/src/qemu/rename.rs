//! `virDomainRename` (`virsh domrename`): an inactive, persistent domain gets a new
//! name, its definition file and autostart link move with it, and clients see it
//! undefined under the old name and defined under the new one (both "renamed").

use super::error::QemuError;
use super::lifecycle::check_flags;
use super::{store, Inner};
use crate::api::{codes, domains, event, DomainRef, DriverError, DriverResult};

fn invalid(message: &str) -> DriverError {
    QemuError::InvalidState(message.to_string()).into()
}

impl Inner {
    pub(super) fn rename(&self, dom: &DomainRef, new_name: &str, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainRename")?;
        if new_name.is_empty() || new_name.contains('/') || new_name.chars().any(char::is_control) {
            return Err(DriverError::new(
                codes::XML_ERROR,
                domains::QEMU,
                format!("name {new_name} cannot contain '/'"),
            ));
        }
        let events = {
            let mut st = self.lock();
            let index = st.resolve(dom)?;
            let obj = &st.domains[index];
            let old_name = obj.def.name.clone();
            if obj.is_active() {
                return Err(invalid("cannot rename active domain"));
            }
            if !obj.persistent {
                return Err(invalid("cannot rename a transient domain"));
            }
            if self.paths.managed_saves().has(&old_name) {
                return Err(invalid(
                    "domain with a managed saved state can't be renamed",
                ));
            }
            let snapshots = super::snapshot::meta::dir(&self.paths.lib_dir, &old_name);
            if !super::snapshot::meta::load_all(&snapshots)?.is_empty() {
                return Err(invalid("cannot rename domain with snapshots"));
            }
            if old_name == new_name {
                return Err(invalid("Can't rename domain to itself"));
            }
            if st.find_by_name(new_name).is_some() {
                return Err(invalid(&format!(
                    "domain with name '{new_name}' already exists"
                )));
            }
            let autostart = obj.autostart;
            let old_event = obj.lifecycle_event(event::UNDEFINED, event::UNDEFINED_RENAMED);
            let mut def = obj.def.clone();
            def.name = new_name.to_string();
            store::save_config(&self.paths, &def)?;
            let store = self.paths.definitions();
            if autostart {
                if let Err(e) = store.set_autostart(new_name, true) {
                    let _ = store::delete_config(&self.paths, new_name);
                    return Err(QemuError::from(e).into());
                }
            }
            if let Err(e) = store::delete_config(&self.paths, &old_name) {
                let _ = store::delete_config(&self.paths, new_name);
                return Err(e.into());
            }
            let obj = &mut st.domains[index];
            obj.def = def;
            vec![
                old_event,
                obj.lifecycle_event(event::DEFINED, event::DEFINED_RENAMED),
            ]
        };
        self.emit(events);
        Ok(())
    }
}
