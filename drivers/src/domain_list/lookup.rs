//! Finding domains by uuid, name and id, and the listings built on them.

use super::{check_clash, matches_list_flags, DomainList, DomainObj, ListFacts, ListOrder};
use crate::api::{codes, format_uuid, DomainHandle, DomainRef, DriverError, DriverResult, Uuid};
use crate::domain_xml::DomainDef;

impl<R, X> DomainList<R, X> {
    pub fn find_by_uuid(&self, uuid: &Uuid) -> Option<usize> {
        self.domains.iter().position(|d| d.def.uuid == *uuid)
    }

    pub fn find_by_name(&self, name: &str) -> Option<usize> {
        self.domains.iter().position(|d| d.def.name == name)
    }

    /// The domain a client's reference names, or "Domain not found".
    pub fn resolve(&self, dom: &DomainRef) -> DriverResult<usize> {
        self.find_by_uuid(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(self.rules.lookup_domain, &dom.uuid, &dom.name)
        })
    }

    pub fn get(&self, dom: &DomainRef) -> DriverResult<&DomainObj<R, X>> {
        let index = self.resolve(dom)?;
        Ok(&self.domains[index])
    }

    pub fn get_mut(&mut self, dom: &DomainRef) -> DriverResult<&mut DomainObj<R, X>> {
        let index = self.resolve(dom)?;
        Ok(&mut self.domains[index])
    }

    fn lookup(
        &self,
        found: impl Fn(&DomainObj<R, X>) -> bool,
        not_found: impl FnOnce() -> DriverError,
    ) -> DriverResult<DomainHandle> {
        match self.domains.iter().find(|d| found(d)) {
            Some(d) => Ok(d.handle()),
            None if self.rules.bare_lookup_errors => Err(DriverError::bare(
                codes::NO_DOMAIN,
                self.rules.lookup_domain,
            )),
            None => Err(not_found()),
        }
    }

    /// `virDomainLookupByName`.
    pub fn lookup_by_name(&self, name: &str) -> DriverResult<DomainHandle> {
        let domain = self.rules.lookup_domain;
        self.lookup(
            |d| d.def.name == name,
            || DriverError::no_domain_name(domain, name),
        )
    }

    /// `virDomainLookupByUUID`.
    pub fn lookup_by_uuid(&self, uuid: &Uuid) -> DriverResult<DomainHandle> {
        let domain = self.rules.lookup_domain;
        self.lookup(
            |d| d.def.uuid == *uuid,
            || {
                DriverError::new(
                    codes::NO_DOMAIN,
                    domain,
                    format!("no domain with matching uuid '{}'", format_uuid(uuid)),
                )
            },
        )
    }

    /// `virDomainLookupByID`: only running domains have ids.
    pub fn lookup_by_id(&self, id: i32) -> DriverResult<DomainHandle> {
        let domain = self.rules.lookup_domain;
        self.lookup(
            |d| id >= 0 && d.id == id,
            || DriverError::no_domain_id(domain, id),
        )
    }

    /// The domains in the driver's listing order.
    pub fn sorted(&self) -> Vec<&DomainObj<R, X>> {
        let mut all: Vec<&DomainObj<R, X>> = self.domains.iter().collect();
        match self.rules.order {
            ListOrder::ByName => all.sort_by(|a, b| a.def.name.cmp(&b.def.name)),
            ListOrder::ActiveByIdThenName => {
                all.sort_by(|a, b| match (a.is_active(), b.is_active()) {
                    (true, true) => a.id.cmp(&b.id),
                    (true, false) => std::cmp::Ordering::Less,
                    (false, true) => std::cmp::Ordering::Greater,
                    (false, false) => a.def.name.cmp(&b.def.name),
                })
            }
        }
        all
    }

    /// `virConnectListAllDomains` after the flag check; `marks` gives the facts
    /// only the driver knows (managed save image, snapshots, checkpoints).
    pub fn list_all(
        &self,
        flags: u32,
        marks: impl Fn(&DomainObj<R, X>) -> ListFacts,
    ) -> Vec<DomainHandle> {
        self.sorted()
            .into_iter()
            .filter(|d| {
                let facts = ListFacts {
                    active: d.is_active(),
                    persistent: d.persistent,
                    state: d.state,
                    autostart: d.autostart,
                    ..marks(d)
                };
                matches_list_flags(flags, &facts)
            })
            .map(|d| d.handle())
            .collect()
    }

    /// `virConnectListDomains`: ids of running domains, ascending.
    pub fn active_ids(&self, max: usize) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .domains
            .iter()
            .filter(|d| d.is_active())
            .map(|d| d.id)
            .collect();
        ids.sort_unstable();
        ids.truncate(max);
        ids
    }

    /// `virConnectListDefinedDomains`: names of inactive domains, sorted.
    pub fn inactive_names(&self, max: usize) -> Vec<String> {
        let mut names: Vec<String> = self
            .domains
            .iter()
            .filter(|d| !d.is_active())
            .map(|d| d.def.name.clone())
            .collect();
        names.sort();
        names.truncate(max);
        names
    }

    /// `virConnectNumOfDomains` (`active`) or `virConnectNumOfDefinedDomains`.
    pub fn count(&self, active: bool) -> i32 {
        let n = self
            .domains
            .iter()
            .filter(|d| d.is_active() == active)
            .count();
        i32::try_from(n).unwrap_or(i32::MAX)
    }

    /// libvirt's refusal for a definition clashing with another domain (same
    /// uuid under another name, or same name under another uuid);
    /// `Some(index)` for a redefinition.
    pub fn check_clash(&self, def: &DomainDef) -> DriverResult<Option<usize>> {
        let existing = self
            .domains
            .iter()
            .map(|d| (d.def.name.as_str(), &d.def.uuid));
        check_clash(existing, &def.name, &def.uuid, self.rules.rules_domain)
    }
}
