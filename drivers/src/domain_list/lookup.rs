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

#[cfg(test)]
mod tests {
    use super::super::ListRules;
    use super::*;
    use crate::api::{domains, list_flags};
    use crate::domain_xml::{parse_domain_xml, ParseOptions};

    fn list(order: ListOrder, bare: bool) -> DomainList<()> {
        let mut list = DomainList::new(ListRules {
            lookup_domain: domains::LXC,
            bare_lookup_errors: bare,
            rules_domain: domains::LXC,
            order,
        });
        for (name, byte) in [("b", 2u8), ("a", 1), ("c", 3)] {
            let xml = format!(
                "<domain type='lxc'><name>{name}</name>\
                 <uuid>{byte:02x}000000-0000-0000-0000-000000000000</uuid>\
                 <memory>1024</memory><os><type>exe</type><init>/bin/sh</init></os></domain>"
            );
            let def = parse_domain_xml(&xml, &ParseOptions::default()).expect("parses");
            list.domains.push(DomainObj::inactive(def, true));
        }
        // "c" runs with the lowest id, "b" with a higher one.
        list.domains[2].id = 5;
        list.domains[0].id = 9;
        list
    }

    fn names(handles: Vec<DomainHandle>) -> Vec<String> {
        handles.into_iter().map(|h| h.name).collect()
    }

    #[test]
    fn listing_orders_and_filters() {
        let by_name = list(ListOrder::ByName, false);
        assert_eq!(
            names(by_name.list_all(0, |_| ListFacts::default())),
            ["a", "b", "c"]
        );
        let by_id = list(ListOrder::ActiveByIdThenName, false);
        assert_eq!(
            names(by_id.list_all(0, |_| ListFacts::default())),
            ["c", "b", "a"]
        );
        assert_eq!(
            names(by_id.list_all(list_flags::INACTIVE, |_| ListFacts::default())),
            ["a"]
        );
        let saved = |d: &DomainObj<()>| ListFacts {
            managed_save: d.def.name == "a",
            ..ListFacts::default()
        };
        assert_eq!(names(by_id.list_all(list_flags::MANAGEDSAVE, saved)), ["a"]);
        assert_eq!(by_id.active_ids(1), vec![5]);
        assert_eq!(by_id.count(true), 2);
        assert_eq!(by_id.count(false), 1);
    }

    #[test]
    fn lookups_and_their_errors() {
        let detailed = list(ListOrder::ByName, false);
        assert_eq!(detailed.lookup_by_id(9).expect("running").name, "b");
        let err = detailed
            .lookup_by_id(-1)
            .expect_err("inactive ids are not ids");
        assert_eq!(
            err.message,
            "Domain not found: no domain with matching id -1"
        );
        let err = detailed.lookup_by_uuid(&[7; 16]).expect_err("unknown");
        assert_eq!((err.code, err.domain), (codes::NO_DOMAIN, domains::LXC));
        assert!(err
            .message
            .contains("no domain with matching uuid '07070707"));
        let bare = list(ListOrder::ByName, true);
        let err = bare.lookup_by_name("zz").expect_err("unknown");
        assert_eq!(err.message, "Domain not found");
        let dom = DomainRef {
            name: "zz".into(),
            uuid: [7; 16],
        };
        let err = bare.resolve(&dom).expect_err("unknown");
        assert!(err.message.ends_with("(zz)"), "{}", err.message);
    }
}
