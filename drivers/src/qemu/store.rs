//! Persistent definitions and autostart links on disk: `<confdir>/qemu/NAME.xml` and
//! `<confdir>/qemu/autostart/NAME.xml -> ../NAME.xml`, kept by the shared
//! [`crate::domain_list::DefinitionStore`].

use super::defaults::{apply_qemu_defaults, parse_options, HostFacts};
use super::error::QemuError;
use super::paths::QemuPaths;
pub use crate::domain_list::LoadedConfig;
use crate::domain_xml::{parse_domain_xml, DomainDef};

/// Writes the persistent definition.
pub fn save_config(paths: &QemuPaths, def: &DomainDef) -> Result<(), QemuError> {
    Ok(paths.definitions().save(def)?)
}

/// Removes the definition and its autostart link.
pub fn delete_config(paths: &QemuPaths, name: &str) -> Result<(), QemuError> {
    Ok(paths.definitions().delete(name)?)
}

/// Reads every `*.xml` in the config directory with the qemu defaults. Broken files are
/// reported and skipped, as libvirt does, so one bad file does not hide the other guests.
pub fn load_configs(paths: &QemuPaths, host: &HostFacts) -> (Vec<LoadedConfig>, Vec<String>) {
    paths.definitions().load(|text| {
        let mut def = parse_domain_xml(text, &parse_options()).map_err(|e| e.to_string())?;
        apply_qemu_defaults(&mut def, host).map_err(|e| e.to_string())?;
        Ok(def)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn qemu_definitions_get_the_qemu_defaults_on_load() {
        let root = std::env::temp_dir().join(format!("qemu-store-{}", std::process::id()));
        let paths = QemuPaths::new(
            &root.join("etc"),
            &root.join("run"),
            &root.join("lib"),
            &root.join("log"),
        );
        let host = HostFacts {
            emulator: "/usr/bin/qemu-system-x86_64".into(),
            machine_aliases: vec![],
        };
        let xml = "<domain type='qemu'><name>g1</name><memory>65536</memory><os><type>hvm</type></os></domain>";
        let mut def = parse_domain_xml(xml, &parse_options()).expect("parses");
        apply_qemu_defaults(&mut def, &host).expect("valid");
        save_config(&paths, &def).expect("saved");
        paths.definitions().set_autostart("g1", true).expect("link");
        fs::write(paths.config_dir.join("broken.xml"), "<domain").expect("write junk");
        let (loaded, problems) = load_configs(&paths, &host);
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].def, def);
        assert!(loaded[0].autostart);
        assert_eq!(problems.len(), 1, "{problems:?}");
        delete_config(&paths, "g1").expect("deleted");
        assert!(!paths.config_file("g1").exists());
        assert!(!paths.autostart_link("g1").exists());
        let _ = fs::remove_dir_all(&root);
    }
}
