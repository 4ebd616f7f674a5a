//! Description, title and `<metadata>` elements of test-driver domains (kept in memory
//! only, like everything else of `test:///default`), with the metadata-change event.

use super::lifecycle::WithEvents;
use super::state::TestState;
use crate::api::{domains, DomainEvent, DomainEventKind, DomainRef, DriverResult};
use crate::domain_list::check_flags;
use crate::domain_xml::{get_metadata, metadata_targets, set_metadata};

const AFFECT_FLAGS: u32 = 1 | 2;

impl TestState {
    pub fn set_metadata(
        &mut self,
        dom: &DomainRef,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> DriverResult<WithEvents<()>> {
        check_flags(domains::TEST, flags, AFFECT_FLAGS, "testDomainSetMetadata")?;
        let obj = self.get_mut(dom)?;
        let (live, config) = metadata_targets(flags, obj.is_active(), obj.persistent)?;
        if live {
            set_metadata(&mut obj.def, kind, metadata, key, uri)?;
        }
        if config {
            let target = obj.new_def.as_mut().unwrap_or(&mut obj.def);
            set_metadata(target, kind, metadata, key, uri)?;
        }
        let event = DomainEvent {
            domain: obj.handle(),
            kind: DomainEventKind::MetadataChange {
                kind,
                nsuri: uri.map(str::to_string),
            },
        };
        Ok(((), vec![event]))
    }

    pub fn get_metadata(
        &self,
        dom: &DomainRef,
        kind: i32,
        uri: Option<&str>,
        flags: u32,
    ) -> DriverResult<String> {
        check_flags(domains::TEST, flags, AFFECT_FLAGS, "testDomainGetMetadata")?;
        let obj = self.get(dom)?;
        let (live, _) = metadata_targets(flags, obj.is_active(), obj.persistent)?;
        let def = if live { &obj.def } else { obj.persistent_def() };
        get_metadata(def, kind, uri)
    }
}
