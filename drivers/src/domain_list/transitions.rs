//! The bookkeeping every driver does the same way when a definition arrives or
//! goes, when a transient guest is prepared and when a guest stops. The
//! driver does the guest-specific work around these steps.

use super::{DomainList, DomainObj};
use crate::api::{codes, event, state, DomainEvent, DomainHandle, DriverError, DriverResult, Uuid};
use crate::domain_xml::DomainDef;

impl<R, X: Default> DomainList<R, X> {
    /// `virDomainDefineXML`: checks the clash rule, lets `persist` store the
    /// definition, then adds the domain or replaces its persistent definition
    /// (a running domain keeps its live one until it stops). Returns the
    /// domain and its "defined" event (added or updated).
    pub fn define(
        &mut self,
        def: DomainDef,
        persist: impl FnOnce(&DomainDef) -> DriverResult<()>,
    ) -> DriverResult<(DomainHandle, DomainEvent)> {
        let existing = self.check_clash(&def)?;
        persist(&def)?;
        let obj = match existing {
            Some(index) => {
                let obj = &mut self.domains[index];
                // A configuration kept for after the run also counts as one defined.
                let updated = obj.persistent || obj.new_def.is_some();
                if obj.is_active() {
                    obj.new_def = Some(def);
                } else {
                    obj.def = def;
                }
                obj.persistent = true;
                let detail = if updated {
                    event::DEFINED_UPDATED
                } else {
                    event::DEFINED_ADDED
                };
                return Ok((obj.handle(), obj.lifecycle_event(event::DEFINED, detail)));
            }
            None => {
                self.domains.push(DomainObj::inactive(def, true));
                self.domains.last().expect("just pushed")
            }
        };
        Ok((
            obj.handle(),
            obj.lifecycle_event(event::DEFINED, event::DEFINED_ADDED),
        ))
    }

    /// Prepares `virDomainCreateXML` (and restore): an inactive domain of the
    /// same name and uuid runs with `def` as its live definition, otherwise a
    /// transient domain is added. Refuses a domain that already runs.
    pub fn prepare_transient_start(&mut self, def: DomainDef) -> DriverResult<usize> {
        match self.check_clash(&def)? {
            Some(index) => {
                let obj = &mut self.domains[index];
                if obj.is_active() {
                    return Err(DriverError::new(
                        codes::OPERATION_INVALID,
                        self.rules.rules_domain,
                        format!("domain '{}' is already active", obj.def.name),
                    ));
                }
                let persistent = std::mem::replace(&mut obj.def, def);
                obj.new_def = Some(persistent);
                Ok(index)
            }
            None => {
                self.domains.push(DomainObj::inactive(def, false));
                Ok(self.domains.len() - 1)
            }
        }
    }
}

impl<R, X> DomainList<R, X> {
    /// Undoes [`DomainList::prepare_transient_start`] after the start failed:
    /// a defined domain gets its persistent definition back, a transient one goes.
    pub fn undo_transient_start(&mut self, uuid: &Uuid) {
        let Some(index) = self.find_by_uuid(uuid) else {
            return;
        };
        let obj = &mut self.domains[index];
        if obj.is_active() {
            return;
        }
        if obj.persistent {
            if let Some(persistent) = obj.new_def.take() {
                obj.def = persistent;
            }
        } else {
            self.domains.remove(index);
        }
    }

    /// `virDomainUndefine` after the driver's own checks and file removal: an
    /// inactive domain goes, a running one becomes transient. `keep_config`
    /// keeps the saved configuration until the run ends (the test driver does).
    /// Returns the "undefined" event and whether the domain is still listed.
    pub fn undefine(&mut self, index: usize, keep_config: bool) -> (DomainEvent, bool) {
        let obj = &mut self.domains[index];
        let ev = obj.lifecycle_event(event::UNDEFINED, event::UNDEFINED_REMOVED);
        obj.autostart = false;
        if obj.is_active() {
            obj.persistent = false;
            if !keep_config {
                obj.new_def = None;
            }
            (ev, true)
        } else {
            self.domains.remove(index);
            (ev, false)
        }
    }

    /// A guest stopped: shut off with `shutoff_reason`, the persistent
    /// definition back in effect, a transient domain gone. Returns the
    /// "stopped" event (with `detail`) and the run that ended.
    pub fn mark_stopped(
        &mut self,
        index: usize,
        shutoff_reason: i32,
        detail: i32,
    ) -> (DomainEvent, Option<R>) {
        let obj = &mut self.domains[index];
        let run = obj.run.take();
        obj.id = -1;
        obj.state = state::SHUTOFF;
        obj.reason = shutoff_reason;
        let ev = obj.lifecycle_event(event::STOPPED, detail);
        if let Some(persistent) = obj.new_def.take() {
            obj.def = persistent;
        }
        if !obj.persistent {
            self.domains.remove(index);
        }
        (ev, run)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ListOrder, ListRules};
    use super::*;
    use crate::api::{domains, reason};
    use crate::domain_xml::{parse_domain_xml, ParseOptions};

    fn def(name: &str, uuid: &str) -> DomainDef {
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid>\
             <memory>65536</memory><os><type>hvm</type></os></domain>"
        );
        parse_domain_xml(&xml, &ParseOptions::default()).expect("parses")
    }

    fn list() -> DomainList<()> {
        DomainList::new(ListRules {
            lookup_domain: domains::QEMU,
            bare_lookup_errors: false,
            rules_domain: domains::QEMU,
            order: ListOrder::ActiveByIdThenName,
        })
    }

    const U1: &str = "11111111-2222-3333-4444-555555555555";
    const U2: &str = "11111111-2222-3333-4444-666666666666";

    #[test]
    fn define_redefine_and_undefine() {
        let mut l = list();
        let (_, ev) = l.define(def("a", U1), |_| Ok(())).expect("defined");
        assert!(matches!(
            ev.kind,
            crate::api::DomainEventKind::Lifecycle {
                event: event::DEFINED,
                detail: event::DEFINED_ADDED
            }
        ));
        let (_, ev) = l.define(def("a", U1), |_| Ok(())).expect("redefined");
        assert!(matches!(
            ev.kind,
            crate::api::DomainEventKind::Lifecycle {
                detail: event::DEFINED_UPDATED,
                ..
            }
        ));
        let refused = l.define(def("b", U1), |_| Ok(())).expect_err("uuid clash");
        assert_eq!(refused.code, codes::OPERATION_FAILED);
        let failed = l.define(def("c", U2), |_| {
            Err(DriverError::new(
                codes::SYSTEM_ERROR,
                domains::QEMU,
                "disk full",
            ))
        });
        assert!(failed.is_err());
        assert_eq!(l.domains.len(), 1, "nothing added when storing fails");
        let (_, still_listed) = l.undefine(0, false);
        assert!(!still_listed);
        assert!(l.domains.is_empty());
    }

    #[test]
    fn transient_start_is_undone_and_stops_drop_transients() {
        let mut l = list();
        l.define(def("a", U1), |_| Ok(())).expect("defined");
        let index = l.prepare_transient_start(def("a", U1)).expect("prepared");
        assert!(l.domains[index].new_def.is_some());
        l.undo_transient_start(&l.domains[index].def.uuid.clone());
        assert!(l.domains[index].new_def.is_none());
        let index = l.prepare_transient_start(def("t", U2)).expect("transient");
        l.domains[index].id = l.allocate_id();
        let again = l
            .prepare_transient_start(def("t", U2))
            .expect_err("running");
        assert_eq!(
            again.message,
            "Requested operation is not valid: domain 't' is already active"
        );
        assert_eq!(l.lookup_by_id(1).expect("found").name, "t");
        assert_eq!(l.active_ids(10), vec![1]);
        assert_eq!(l.inactive_names(10), vec!["a".to_string()]);
        let names: Vec<_> = l.sorted().iter().map(|d| d.def.name.clone()).collect();
        assert_eq!(names, ["t", "a"]);
        let (ev, _) = l.mark_stopped(index, reason::SHUTOFF_DESTROYED, event::STOPPED_DESTROYED);
        assert_eq!(ev.domain.id, -1);
        assert_eq!(l.domains.len(), 1);
        let err = l.lookup_by_name("t").expect_err("gone");
        assert_eq!(
            err.message,
            "Domain not found: no domain with matching name 't'"
        );
    }
}
