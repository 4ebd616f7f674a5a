//! Persistent definitions and autostart links: `<confdir>/lxc/NAME.xml` and
//! `<confdir>/lxc/autostart/NAME.xml -> ../NAME.xml`, kept by the shared
//! [`crate::domain_list::DefinitionStore`].

use super::error::LxcError;
use super::paths::LxcPaths;
use super::xml::parse_lxc_xml;
pub use crate::domain_list::LoadedConfig;
use crate::domain_xml::DomainDef;

/// Writes the persistent definition atomically.
pub fn save_config(paths: &LxcPaths, def: &DomainDef) -> Result<(), LxcError> {
    Ok(paths.definitions().save(def)?)
}

/// Removes the definition and its autostart link.
pub fn delete_config(paths: &LxcPaths, name: &str) -> Result<(), LxcError> {
    Ok(paths.definitions().delete(name)?)
}

/// Reads every `*.xml` of the config directory; broken files are reported and skipped so
/// that one bad file does not hide the other containers.
pub fn load_configs(paths: &LxcPaths) -> (Vec<LoadedConfig>, Vec<String>) {
    paths.definitions().load(|text| {
        parse_lxc_xml(text)
            .map(|(def, _)| def)
            .map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_definitions_live_below_the_lxc_config_dir() {
        let root = std::env::temp_dir().join(format!("lxc-store-{}", std::process::id()));
        let paths = LxcPaths::new(&root.join("etc"), &root.join("run"), &root.join("log"));
        let (def, _) = parse_lxc_xml(
            "<domain type='lxc'><name>c1</name><memory>65536</memory>\
             <os><type>exe</type><init>/bin/sh</init></os></domain>",
        )
        .expect("valid");
        save_config(&paths, &def).expect("saved");
        paths.definitions().set_autostart("c1", true).expect("link");
        let (loaded, problems) = load_configs(&paths);
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].def, def);
        assert!(loaded[0].autostart);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(paths.autostart_link("c1").exists());
        delete_config(&paths, "c1").expect("deleted");
        assert!(!paths.config_file("c1").exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
