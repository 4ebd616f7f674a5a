//! Persistent definitions and autostart links on disk, libvirt's layout:
//! `<confdir>/DRIVER/NAME.xml` and `<confdir>/DRIVER/autostart/NAME.xml ->
//! ../NAME.xml`. Files are written atomically, 0600, in 0700 directories.

use std::fs;
use std::path::{Path, PathBuf};

use super::load_definitions;
use crate::domain_xml::{DomainDef, FormatOptions};
use crate::fsutil::{atomic_write, create_private_dir, remove_if_exists, FsError};

/// Where one driver keeps its definitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionStore {
    pub config_dir: PathBuf,
    pub autostart_dir: PathBuf,
}

/// One definition found on disk.
pub struct LoadedConfig {
    pub def: DomainDef,
    pub autostart: bool,
}

impl DefinitionStore {
    /// The store in `config_dir`, with its `autostart` subdirectory.
    pub fn new(config_dir: &Path) -> Self {
        DefinitionStore {
            config_dir: config_dir.to_path_buf(),
            autostart_dir: config_dir.join("autostart"),
        }
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.config_dir.join(format!("{name}.xml"))
    }

    pub fn autostart_link(&self, name: &str) -> PathBuf {
        self.autostart_dir.join(format!("{name}.xml"))
    }

    /// Writes the persistent definition.
    pub fn save(&self, def: &DomainDef) -> Result<(), FsError> {
        // Definitions keep secrets (a VNC passwd) as libvirt's do; the file is 0600.
        let xml = def.to_xml(FormatOptions::PERSISTENT);
        atomic_write(&self.config_file(&def.name), xml.as_bytes())
    }

    /// Removes the definition and its autostart link.
    pub fn delete(&self, name: &str) -> Result<(), FsError> {
        self.set_autostart(name, false)?;
        remove_if_exists(&self.config_file(name))
    }

    /// Creates or removes the autostart symlink.
    pub fn set_autostart(&self, name: &str, enabled: bool) -> Result<(), FsError> {
        let link = self.autostart_link(name);
        if !enabled {
            return remove_if_exists(&link);
        }
        create_private_dir(&self.autostart_dir)?;
        if fs::symlink_metadata(&link).is_ok() {
            return Ok(());
        }
        std::os::unix::fs::symlink(self.config_file(name), &link).map_err(|source| FsError {
            what: "cannot create autostart link",
            path: link.clone(),
            source,
        })
    }

    pub fn has_autostart(&self, name: &str) -> bool {
        fs::symlink_metadata(self.autostart_link(name)).is_ok()
    }

    /// Reads every definition with `parse`; broken files are reported and
    /// skipped so that one bad file does not hide the other domains.
    pub fn load(
        &self,
        parse: impl Fn(&str) -> Result<DomainDef, String>,
    ) -> (Vec<LoadedConfig>, Vec<String>) {
        let (defs, problems) = load_definitions(&self.config_dir, parse);
        let loaded = defs
            .into_iter()
            .map(|def| LoadedConfig {
                autostart: self.has_autostart(&def.name),
                def,
            })
            .collect();
        (loaded, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::{parse_domain_xml, ParseOptions};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn save_load_autostart_delete_round_trip() {
        let root = std::env::temp_dir().join(format!("domain-store-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let store = DefinitionStore::new(&root.join("qemu"));
        let parse = |text: &str| {
            parse_domain_xml(text, &ParseOptions::default()).map_err(|e| e.to_string())
        };
        let def = parse(
            "<domain type='qemu'><name>g1</name><memory>65536</memory><os><type>hvm</type></os></domain>",
        )
        .expect("parses");
        store.save(&def).expect("saved");
        store.set_autostart("g1", true).expect("link");
        store.set_autostart("g1", true).expect("link twice");
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&store.config_file("g1")), 0o600);
        assert_eq!(mode(&store.config_dir), 0o700);
        assert_eq!(mode(&store.autostart_dir), 0o700);
        fs::write(store.config_dir.join("broken.xml"), "<domain").expect("junk");
        let (loaded, problems) = store.load(parse);
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].def, def);
        assert!(loaded[0].autostart);
        assert_eq!(problems.len(), 1, "{problems:?}");
        store.delete("g1").expect("deleted");
        assert!(!store.config_file("g1").exists());
        assert!(!store.has_autostart("g1"));
        let _ = fs::remove_dir_all(&root);
    }
}
