//! Description, title and `<metadata>` elements of qemu domains, live and in the
//! persistent definition, with the metadata-change event libvirt sends.

use super::lifecycle::check_flags;
use super::Inner;
use crate::api::{DomainEvent, DomainEventKind, DomainRef, DriverResult};
use crate::domain_xml::{get_metadata, metadata_targets, set_metadata};

const AFFECT_FLAGS: u32 = 1 | 2;

impl Inner {
    pub(super) fn set_metadata(
        &self,
        dom: &DomainRef,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, AFFECT_FLAGS, "qemuDomainSetMetadata")?;
        let event = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let (live, config) = metadata_targets(flags, obj.is_active(), obj.persistent)?;
            if live {
                let mut def = obj.def.clone();
                set_metadata(&mut def, kind, metadata, key, uri)?;
                obj.def = def;
            }
            if config {
                let target = obj.new_def.as_ref().unwrap_or(&obj.def);
                let mut def = target.clone();
                set_metadata(&mut def, kind, metadata, key, uri)?;
                super::store::save_config(&self.paths, &def)?;
                match obj.new_def.as_mut() {
                    Some(new_def) => *new_def = def,
                    None => obj.def = def,
                }
            }
            if live {
                self.persist_status(obj);
            }
            DomainEvent {
                domain: obj.handle(),
                kind: DomainEventKind::MetadataChange {
                    kind,
                    nsuri: uri.map(str::to_string),
                },
            }
        };
        self.emit(vec![event]);
        Ok(())
    }

    pub(super) fn get_metadata(
        &self,
        dom: &DomainRef,
        kind: i32,
        uri: Option<&str>,
        flags: u32,
    ) -> DriverResult<String> {
        check_flags(flags, AFFECT_FLAGS, "qemuDomainGetMetadata")?;
        let st = self.lock();
        let obj = st.get(dom)?;
        let (live, _) = metadata_targets(flags, obj.is_active(), obj.persistent)?;
        let def = if live { &obj.def } else { obj.persistent_def() };
        get_metadata(def, kind, uri)
    }
}
