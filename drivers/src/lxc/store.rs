//! Persistent definitions and autostart links: `<confdir>/lxc/NAME.xml` and
//! `<confdir>/lxc/autostart/NAME.xml -> ../NAME.xml`.

use std::fs;

use super::error::LxcError;
use super::fsutil::{atomic_write, remove_if_exists};
use super::paths::LxcPaths;
use super::xml::parse_lxc_xml;
use crate::domain_xml::{DomainDef, FormatOptions};

/// Writes the persistent definition atomically.
pub fn save_config(paths: &LxcPaths, def: &DomainDef) -> Result<(), LxcError> {
    let xml = def.to_xml(FormatOptions::default());
    atomic_write(&paths.config_file(&def.name), xml.as_bytes())
}

/// Removes the definition and its autostart link.
pub fn delete_config(paths: &LxcPaths, name: &str) -> Result<(), LxcError> {
    set_autostart_link(paths, name, false)?;
    remove_if_exists(&paths.config_file(name))
}

/// Creates or removes the autostart symlink.
pub fn set_autostart_link(paths: &LxcPaths, name: &str, enabled: bool) -> Result<(), LxcError> {
    let link = paths.autostart_link(name);
    if !enabled {
        return remove_if_exists(&link);
    }
    fs::create_dir_all(&paths.autostart_dir)
        .map_err(|e| LxcError::io("cannot create directory", &paths.autostart_dir, e))?;
    if fs::symlink_metadata(&link).is_ok() {
        return Ok(());
    }
    std::os::unix::fs::symlink(paths.config_file(name), &link)
        .map_err(|e| LxcError::io("cannot create autostart link", &link, e))
}

pub fn has_autostart_link(paths: &LxcPaths, name: &str) -> bool {
    fs::symlink_metadata(paths.autostart_link(name)).is_ok()
}

/// One definition found on disk.
pub struct LoadedConfig {
    pub def: DomainDef,
    pub autostart: bool,
}

/// Reads every `*.xml` of the config directory; broken files are reported and skipped so
/// that one bad file does not hide the other containers.
pub fn load_configs(paths: &LxcPaths) -> (Vec<LoadedConfig>, Vec<String>) {
    let (defs, problems) = crate::domain_list::load_definitions(&paths.config_dir, |text| {
        parse_lxc_xml(text)
            .map(|(def, _)| def)
            .map_err(|e| e.to_string())
    });
    let loaded = defs
        .into_iter()
        .map(|def| LoadedConfig {
            autostart: has_autostart_link(paths, &def.name),
            def,
        })
        .collect();
    (loaded, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_autostart_delete_round_trip() {
        let root = std::env::temp_dir().join(format!("lxc-store-{}", std::process::id()));
        let paths = LxcPaths::new(&root.join("etc"), &root.join("run"), &root.join("log"));
        let (def, _) = parse_lxc_xml(
            "<domain type='lxc'><name>c1</name><memory>65536</memory>\
             <os><type>exe</type><init>/bin/sh</init></os></domain>",
        )
        .expect("valid");
        save_config(&paths, &def).expect("saved");
        set_autostart_link(&paths, "c1", true).expect("link");
        fs::write(paths.config_dir.join("broken.xml"), "<domain").expect("junk");
        let (loaded, problems) = load_configs(&paths);
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].def, def);
        assert!(loaded[0].autostart);
        assert_eq!(problems.len(), 1, "{problems:?}");
        delete_config(&paths, "c1").expect("deleted");
        assert!(!paths.config_file("c1").exists());
        assert!(!has_autostart_link(&paths, "c1"));
        let _ = fs::remove_dir_all(&root);
    }
}
