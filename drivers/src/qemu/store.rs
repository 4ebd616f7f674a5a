//! Persistent definitions and autostart links on disk: `<confdir>/qemu/NAME.xml` and
//! `<confdir>/qemu/autostart/NAME.xml -> ../NAME.xml`.

use std::fs;

use super::defaults::{apply_qemu_defaults, parse_options, HostFacts};
use super::error::QemuError;
use super::fsutil::{atomic_write, remove_if_exists};
use super::paths::QemuPaths;
use crate::domain_xml::{parse_domain_xml, DomainDef, FormatOptions};

/// Writes the persistent definition.
pub fn save_config(paths: &QemuPaths, def: &DomainDef) -> Result<(), QemuError> {
    let xml = def.to_xml(FormatOptions::PERSISTENT);
    atomic_write(&paths.config_file(&def.name), xml.as_bytes())
}

/// Removes the definition and its autostart link.
pub fn delete_config(paths: &QemuPaths, name: &str) -> Result<(), QemuError> {
    set_autostart_link(paths, name, false)?;
    remove_if_exists(&paths.config_file(name))
}

/// Creates or removes the autostart symlink.
pub fn set_autostart_link(paths: &QemuPaths, name: &str, enabled: bool) -> Result<(), QemuError> {
    let link = paths.autostart_link(name);
    if enabled {
        fs::create_dir_all(&paths.autostart_dir)
            .map_err(|e| QemuError::io("cannot create directory", &paths.autostart_dir, e))?;
        if fs::symlink_metadata(&link).is_ok() {
            return Ok(());
        }
        std::os::unix::fs::symlink(paths.config_file(name), &link)
            .map_err(|e| QemuError::io("cannot create autostart link", &link, e))
    } else {
        remove_if_exists(&link)
    }
}

pub fn has_autostart_link(paths: &QemuPaths, name: &str) -> bool {
    fs::symlink_metadata(paths.autostart_link(name)).is_ok()
}

/// One definition found at start-up, or the reason it was skipped.
pub struct LoadedConfig {
    pub def: DomainDef,
    pub autostart: bool,
}

/// Reads every `*.xml` in the config directory. Broken files are reported and skipped,
/// as libvirt does, so one bad file does not hide the other guests.
pub fn load_configs(paths: &QemuPaths, host: &HostFacts) -> (Vec<LoadedConfig>, Vec<String>) {
    let (defs, problems) = crate::domain_list::load_definitions(&paths.config_dir, |text| {
        let mut def = parse_domain_xml(text, &parse_options()).map_err(|e| e.to_string())?;
        apply_qemu_defaults(&mut def, host).map_err(|e| e.to_string())?;
        Ok(def)
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
    use std::path::Path;

    #[test]
    fn save_load_autostart_delete_round_trip() {
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
        set_autostart_link(&paths, "g1", true).expect("link");
        fs::write(paths.config_dir.join("broken.xml"), "<domain").expect("write junk");
        let (loaded, problems) = load_configs(&paths, &host);
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].def, def);
        assert!(loaded[0].autostart);
        assert_eq!(problems.len(), 1, "{problems:?}");
        delete_config(&paths, "g1").expect("deleted");
        assert!(!Path::new(&paths.config_file("g1")).exists());
        assert!(!has_autostart_link(&paths, "g1"));
        let _ = fs::remove_dir_all(&root);
    }
}
