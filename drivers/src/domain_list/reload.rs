//! Definitions read from disk joining the list: at start-up and when the
//! daemon re-reads them (SIGHUP).

use std::path::{Path, PathBuf};

use super::{DomainList, DomainObj, LoadedConfig};
use crate::api::{event, DomainEvent};

impl<R, X: Default> DomainList<R, X> {
    /// Adds the definitions found at start-up (the list is empty then).
    pub fn add_loaded(&mut self, configs: Vec<LoadedConfig>) {
        for config in configs {
            let mut obj = DomainObj::inactive(config.def, true);
            obj.autostart = config.autostart;
            self.domains.push(obj);
        }
    }

    /// Re-read definitions: new files add domains (with a "defined" event
    /// each), changed files replace the definition of an inactive domain or
    /// become the next one of a running domain (when `only_if_changed`, only a
    /// definition that differs from the live one does). Domains whose file
    /// went away stay, as in libvirt. Clashing files are returned as problems.
    pub fn reload_definitions(
        &mut self,
        configs: Vec<LoadedConfig>,
        only_if_changed: bool,
    ) -> (Vec<DomainEvent>, Vec<String>) {
        let mut events = Vec::new();
        let mut problems = Vec::new();
        for config in configs {
            match self.check_clash(&config.def) {
                Ok(Some(index)) => {
                    let obj = &mut self.domains[index];
                    obj.autostart = config.autostart;
                    obj.persistent = true;
                    if !obj.is_active() {
                        obj.def = config.def;
                    } else if !only_if_changed || obj.def != config.def {
                        obj.new_def = Some(config.def);
                    }
                }
                Ok(None) => {
                    let mut obj = DomainObj::inactive(config.def, true);
                    obj.autostart = config.autostart;
                    events.push(obj.lifecycle_event(event::DEFINED, event::DEFINED_ADDED));
                    self.domains.push(obj);
                }
                Err(e) => problems.push(e.message),
            }
        }
        (events, problems)
    }
}

/// The status files (`*.xml`) of a driver's run directory, in name order.
pub fn status_files(run_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::super::{ListOrder, ListRules};
    use super::*;
    use crate::api::domains;
    use crate::domain_xml::{parse_domain_xml, DomainDef, ParseOptions};

    fn def(name: &str, uuid: &str, memory: u32) -> DomainDef {
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid>\
             <memory>{memory}</memory><os><type>hvm</type></os></domain>"
        );
        parse_domain_xml(&xml, &ParseOptions::default()).expect("parses")
    }

    fn loaded(def: DomainDef, autostart: bool) -> LoadedConfig {
        LoadedConfig { def, autostart }
    }

    const U1: &str = "11111111-2222-3333-4444-555555555555";
    const U2: &str = "11111111-2222-3333-4444-666666666666";

    #[test]
    fn reload_adds_replaces_and_reports_clashes() {
        let mut list: DomainList<()> = DomainList::new(ListRules {
            lookup_domain: domains::QEMU,
            bare_lookup_errors: false,
            rules_domain: domains::QEMU,
            order: ListOrder::ByName,
        });
        list.add_loaded(vec![loaded(def("a", U1, 1024), false)]);
        list.domains[0].id = 3;
        let (events, problems) = list.reload_definitions(
            vec![
                loaded(def("a", U1, 1024), true),
                loaded(def("b", U2, 2048), false),
                loaded(def("c", U1, 1024), false),
            ],
            true,
        );
        assert_eq!(events.len(), 1, "only the new domain is announced");
        assert_eq!(events[0].domain.name, "b");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(list.domains[0].autostart);
        assert!(
            list.domains[0].new_def.is_none(),
            "an unchanged definition is not queued for a running domain"
        );
        let (_, _) = list.reload_definitions(vec![loaded(def("a", U1, 1024), true)], false);
        assert!(list.domains[0].new_def.is_some());
    }

    #[test]
    fn status_files_are_the_xml_files_in_name_order() {
        let dir = std::env::temp_dir().join(format!("status-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        for name in ["b.xml", "a.xml", "a.monitor", "last-domain-id"] {
            std::fs::write(dir.join(name), "").expect("file");
        }
        assert_eq!(
            status_files(&dir),
            vec![dir.join("a.xml"), dir.join("b.xml")]
        );
        assert!(status_files(&dir.join("missing")).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
